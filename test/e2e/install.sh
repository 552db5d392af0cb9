#!/usr/bin/env bash
# install.sh: idempotent, pinned installer for the nri-seccomp end-to-end harness.
#
# Everything the harness runs is put under one cache directory (default
# /var/cache/nri-seccomp-e2e, or $E2E_CACHE) so repeated runs are fast and
# nothing is installed onto the system PATH except the Debian packages below.
# Each step checks the version of what is already there and rebuilds only on a
# mismatch, so a warm run prints "already installed" lines and takes seconds.
#
# Layout:
#   $E2E_CACHE/bin/{containerd,containerd-shim-runc-v2,ctr,crictl}
#   $E2E_CACHE/runc-v1.2.8/runc   (seccomp-tagged runc >= 1.2, for seccomp flags)
#
# Prints `export PATH=...` hints at the end; the harness itself puts
# $E2E_CACHE/bin first on PATH because the shim must match containerd.
set -euo pipefail

CONTAINERD_VERSION=v2.4.2
CRICTL_VERSION=v1.34.0
RUNC_VERSION=v1.2.8
# gcc, libc6-dev and pkg-config are needed to build runc with cgo + libseccomp.
APT_PACKAGES=(runc busybox-static auditd jq libseccomp-dev iproute2 procps gcc libc6-dev pkg-config)

CACHE=${E2E_CACHE:-/var/cache/nri-seccomp-e2e}
BIN=$CACHE/bin
RUNC_DIR=$CACHE/runc-$RUNC_VERSION

step() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt, containerd)"
command -v go >/dev/null || die "go is not on PATH"
mkdir -p "$BIN"

# shellcheck source=../../hack/lib/install.sh
. "$(dirname "$0")/../../hack/lib/install.sh" # BUILD, ensure_debs, go_mod_version

# --- 1. Debian packages -------------------------------------------------------
step "step 1/4: apt packages (${APT_PACKAGES[*]})"
ensure_debs "${APT_PACKAGES[@]}"

# --- 2. containerd, shim, ctr --------------------------------------------------
step "step 2/4: containerd + containerd-shim-runc-v2 + ctr $CONTAINERD_VERSION"
need=0
for b in containerd containerd-shim-runc-v2 ctr; do
	v=$(go_mod_version "$BIN/$b" github.com/containerd/containerd/v2)
	if [ "$v" != "$CONTAINERD_VERSION" ]; then
		step "  $b: have '${v:-none}', want $CONTAINERD_VERSION"
		need=1
	fi
done
if [ $need -eq 0 ]; then
	step "  already installed: containerd, containerd-shim-runc-v2, ctr $CONTAINERD_VERSION"
else
	step "  go install (about 1.5 min cold)"
	GOBIN=$BIN GOFLAGS= "${BUILD[@]}" go install \
		github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION \
		github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION \
		github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION
	for b in containerd containerd-shim-runc-v2 ctr; do
		v=$(go_mod_version "$BIN/$b" github.com/containerd/containerd/v2)
		[ "$v" = "$CONTAINERD_VERSION" ] || die "$b built but reports version '$v'"
	done
	step "  installed: containerd, containerd-shim-runc-v2, ctr $CONTAINERD_VERSION"
fi

# --- 3. crictl -------------------------------------------------------------------
# The proxy serves sigs.k8s.io/cri-tools (not github.com/kubernetes-sigs/cri-tools).
step "step 3/4: crictl $CRICTL_VERSION"
v=$(go_mod_version "$BIN/crictl" sigs.k8s.io/cri-tools)
if [ "$v" = "$CRICTL_VERSION" ]; then
	step "  already installed: crictl $CRICTL_VERSION"
else
	step "  crictl: have '${v:-none}', want $CRICTL_VERSION; go install"
	GOBIN=$BIN GOFLAGS= "${BUILD[@]}" go install sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION
	v=$(go_mod_version "$BIN/crictl" sigs.k8s.io/cri-tools)
	[ "$v" = "$CRICTL_VERSION" ] || die "crictl built but reports version '$v'"
	step "  installed: crictl $CRICTL_VERSION"
fi

# --- 4. runc >= 1.2 with libseccomp ----------------------------------------------
# runc >= 1.2 cannot be `go install`ed (a replace directive to a nested
# module), and Debian's 1.1.5 rejects seccomp flags. Build from the module
# source: drop vendor/ and the selinux replace, then build with -mod=mod.
step "step 4/4: runc $RUNC_VERSION (seccomp build tag)"
runc_ok() {
	[ -x "$RUNC_DIR/runc" ] || return 1
	local out
	out=$("$RUNC_DIR/runc" --version 2>/dev/null) || return 1
	grep -q "^runc version ${RUNC_VERSION#v}\$" <<<"$out" && grep -q '^libseccomp: ' <<<"$out"
}
if runc_ok; then
	step "  already installed: $RUNC_DIR/runc ($("$RUNC_DIR/runc" --version | head -1))"
else
	step "  building runc $RUNC_VERSION (about 1 min)"
	dir=$(cd /tmp && GOFLAGS= go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" | jq -r .Dir)
	[ -d "$dir" ] || die "go mod download of runc $RUNC_VERSION gave no directory"
	src=$(mktemp -d "$CACHE/runc-src.XXXXXX")
	trap 'rm -rf "$src"' EXIT
	cp -r "$dir/." "$src/"
	chmod -R u+w "$src"
	rm -rf "$src/vendor"
	sed -i '/^replace github.com\/opencontainers\/selinux/d' "$src/go.mod"
	commit=$(GOFLAGS= go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" | jq -r '.Origin.Hash // "unknown"')
	mkdir -p "$RUNC_DIR"
	(cd "$src" && CGO_ENABLED=1 GOFLAGS= "${BUILD[@]}" go build -mod=mod -trimpath -tags seccomp \
		-ldflags "-X main.version=${RUNC_VERSION#v} -X main.gitCommit=$commit" \
		-o "$RUNC_DIR/runc.new" .)
	mv "$RUNC_DIR/runc.new" "$RUNC_DIR/runc"
	runc_ok || die "built runc does not report version ${RUNC_VERSION#v} with libseccomp: $("$RUNC_DIR/runc" --version 2>&1)"
	step "  installed: $RUNC_DIR/runc ($("$RUNC_DIR/runc" --version | head -1))"
fi

step "done: binaries in $BIN, runc $RUNC_VERSION in $RUNC_DIR"
step "  containerd: $("$BIN/containerd" --version)"
step "  crictl: $("$BIN/crictl" --version)"
step "  system runc: $(runc --version | head -1)"
