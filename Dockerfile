# syntax=docker/dockerfile:1
# nri-seccomp image: one static binary plus the policies it ships with.
#
#   docker build -t nri-seccomp:dev --build-arg VERSION=$(git describe --tags --always) .
#
# The final image is FROM scratch: no shell, no libc, nothing to exploit
# beyond the plugin itself. hack/validate-deploy.sh builds the binary with
# the same command and checks that it is static.
#
# Without Docker, `make image` builds the same image content as an OCI
# archive (bin/nri-seccomp-image-<chart appVersion>.oci.tar): hack/mkimage
# reads this file's final stage, so the paths, USER, ENTRYPOINT and CMD
# cannot drift apart; only COPY, USER, ENTRYPOINT and CMD are understood
# there. Its binary is make build's, which links libseccomp statically
# (`profile lint` counts BPF instructions, `profile test` runs); the one
# built below has CGO_ENABLED=0 and reports those two as unavailable.

ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=""
# CGO_ENABLED=0: a static binary without libseccomp (the daemon does not
# need it; `profile lint`'s BPF count and `profile test` do).
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
