# syntax=docker/dockerfile:1
# nri-seccomp image: one static binary plus the policies it ships with.
#
#   docker build -t nri-seccomp:dev --build-arg VERSION=$(git describe --tags --always) .
#
# The final image is FROM scratch: no shell, no libc, nothing to exploit
# beyond the plugin itself. hack/validate-deploy.sh builds the binary with
# the same command and checks that it is static.

ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=""
# CGO_ENABLED=0: a static binary (libseccomp is only used by tests).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nri-seccomp ./cmd/nri-seccomp
# The shipped policy must load with the binary being shipped (native builds;
# a cross-built binary cannot run here).
RUN if [ "$TARGETARCH" = "$(go env GOHOSTARCH)" ]; then \
      /out/nri-seccomp check --policy policies/default-policy.yaml; \
    fi

FROM scratch
COPY --from=build /out/nri-seccomp /usr/local/bin/nri-seccomp
# The default policy where the daemon looks for it; a ConfigMap or a host
# file mounted over /etc/nri-seccomp replaces it.
COPY policies/default-policy.yaml /etc/nri-seccomp/policy.yaml
# Examples and extra profiles, for `nri-seccomp check`/`explain` in the image.
COPY policies/examples /usr/share/nri-seccomp/examples
COPY policies/profiles /usr/share/nri-seccomp/profiles
COPY docs/security.md /usr/share/doc/nri-seccomp/security.md
# Root, without capabilities (the pod spec drops them all): containerd's NRI
# socket is root-owned and mode 0600.
USER 0:0
ENTRYPOINT ["/usr/local/bin/nri-seccomp"]
CMD ["run"]
