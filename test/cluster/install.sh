#!/usr/bin/env bash
# install.sh: idempotent, pinned installer for the single-node Kubernetes
# cluster test (test/cluster, `make cluster-test`).
#
# Builds from the Go module proxy, nothing else (no release downloads, no
# registry):
#   * kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
#     kubectl from k8s.io/kubernetes@$K8S_VERSION. That module cannot be
#     `go install`ed (its go.mod replaces the k8s.io/* staging modules with
#     ./staging paths and it ships a go.work), so: copy the module directory,
#     drop go.work, point each staging replace at the published
#     k8s.io/X v0.<minor>.<patch>, and `go build -mod=mod`;
#   * etcd: a three-line main calling go.etcd.io/etcd/server/v3/etcdmain
#     (test/cluster/etcd), built with that module pinned at $ETCD_VERSION;
#   * helm at the version hack/validate-deploy.sh pins (copied from its cache
#     when that copy is the right version);
#   * Debian's containernetworking-plugins (bridge, host-local, loopback) so
#     the node becomes Ready.
# containerd, runc and crictl come from test/e2e/install.sh, which this
# script runs first.
#
# Layout: $K8S_CACHE (default /var/cache/nri-seccomp-k8s)/bin/{kube-apiserver,
# kube-controller-manager,kube-scheduler,kubelet,kubectl,etcd,helm}.
# Each binary is version-checked (`--version` for the Kubernetes ones, whose
# main module is the local copy; `go version -m` for etcd and helm) and rebuilt
# only on a mismatch. Cold build times are printed; a warm run takes seconds.
set -euo pipefail

K8S_VERSION=v1.37.2
K8S_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
HELM_MOD=helm.sh/helm/v3
HELM_VERSION=v3.22.0 # same as hack/validate-deploy.sh
APT_PACKAGES=(containernetworking-plugins)
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${K8S_CACHE:-/var/cache/nri-seccomp-k8s}
DEPLOY_CACHE=${DEPLOY_CACHE:-/var/cache/nri-seccomp-deploy}
BIN=$CACHE/bin

step() { printf '[cluster-install] %s\n' "$*"; }
die() { printf '[cluster-install] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt, kubelet)"
command -v go >/dev/null || die "go is not on PATH"
command -v jq >/dev/null || die "jq is not on PATH (test/e2e/install.sh installs it)"
mkdir -p "$BIN"

# shellcheck source=../../hack/lib/install.sh
. "$ROOT/hack/lib/install.sh" # BUILD, ensure_debs, go_mod_version

# k8s_version BINARY: the gitVersion the binary reports ("" when absent).
k8s_version() {
	local bin=$1
	[ -x "$bin" ] || return 0
	case $(basename "$bin") in
	kubectl) "$bin" version --client -o json 2>/dev/null | jq -r '.clientVersion.gitVersion // empty' ;;
	*) "$bin" --version 2>/dev/null | awk '{print $2; exit}' ;;
	esac
}

now() { date +%s; }

# --- 1. Debian packages ----------------------------------------------------------
step "step 1/4: apt packages (${APT_PACKAGES[*]})"
ensure_debs "${APT_PACKAGES[@]}"
[ -x /usr/lib/cni/bridge ] || die "/usr/lib/cni/bridge missing after installing containernetworking-plugins"

# --- 2. Kubernetes components ----------------------------------------------------
step "step 2/4: ${K8S_CMDS[*]} $K8S_VERSION"
need=()
for c in "${K8S_CMDS[@]}"; do
	v=$(k8s_version "$BIN/$c")
	if [ "$v" != "$K8S_VERSION" ]; then
		step "  $c: have '${v:-none}', want $K8S_VERSION"
		need+=("$c")
	fi
done
if [ ${#need[@]} -eq 0 ]; then
	step "  already installed: ${K8S_CMDS[*]} $K8S_VERSION"
else
	t0=$(now)
	dir=$(cd /tmp && GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .Dir)
	[ -d "$dir" ] || die "go mod download of k8s.io/kubernetes@$K8S_VERSION gave no directory"
	src=$(mktemp -d "$CACHE/k8s-src.XXXXXX")
	trap 'rm -rf "$src"' EXIT
	cp -r "$dir/." "$src/"
	chmod -R u+w "$src"
	rm -f "$src/go.work" "$src/go.work.sum"
	# k8s.io/X => ./staging/src/k8s.io/X  becomes  k8s.io/X => k8s.io/X v0.37.2
	sed -i -E "s#^([[:space:]]*(replace[[:space:]]+)?)(k8s.io/[a-z0-9-]+)[[:space:]]+=>[[:space:]]+\./staging/src/k8s.io/[a-z0-9-]+#\1\3 => \3 $K8S_STAGING_VERSION#" "$src/go.mod"
	if grep -q '=> ./staging' "$src/go.mod"; then
		die "staging replaces left in go.mod: $(grep '=> ./staging' "$src/go.mod" | head -3)"
	fi
	minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	pkg=k8s.io/component-base/version
	ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	pkgs=()
	for c in "${need[@]}"; do pkgs+=("./cmd/$c"); done
	step "  building ${need[*]} (about 9 min cold on 2 cores)"
	(cd "$src" && CGO_ENABLED=0 GOFLAGS= GOWORK=off "${BUILD[@]}" go build -mod=mod -trimpath \
		-ldflags "$ldflags" -o "$src/_out/" "${pkgs[@]}")
	for c in "${need[@]}"; do mv "$src/_out/$c" "$BIN/$c"; done
	rm -rf "$src"
	trap - EXIT
	for c in "${need[@]}"; do
		v=$(k8s_version "$BIN/$c")
		[ "$v" = "$K8S_VERSION" ] || die "$c built but reports version '$v'"
	done
	step "  installed: ${need[*]} $K8S_VERSION (cold build: $(($(now) - t0)) s)"
fi

# --- 3. etcd ------------------------------------------------------------------------
step "step 3/4: etcd $ETCD_VERSION"
v=$(go_mod_version "$BIN/etcd" go.etcd.io/etcd/server/v3)
if [ "$v" = "$ETCD_VERSION" ]; then
	step "  already installed: etcd $ETCD_VERSION"
else
	step "  etcd: have '${v:-none}', want $ETCD_VERSION; building"
	t0=$(now)
	src=$(mktemp -d "$CACHE/etcd-src.XXXXXX")
	trap 'rm -rf "$src"' EXIT
	cp "$ROOT/test/cluster/etcd/main.go.txt" "$src/main.go"
	(cd "$src" && GOFLAGS= GOWORK=off go mod init nri-seccomp.test/etcd >/dev/null 2>&1 &&
		GOFLAGS= GOWORK=off go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 &&
		CGO_ENABLED=0 GOFLAGS= GOWORK=off "${BUILD[@]}" go build -mod=mod -trimpath -ldflags '-s -w' -o "$BIN/etcd.new" .)
	mv "$BIN/etcd.new" "$BIN/etcd"
	rm -rf "$src"
	trap - EXIT
	v=$(go_mod_version "$BIN/etcd" go.etcd.io/etcd/server/v3)
	[ "$v" = "$ETCD_VERSION" ] || die "etcd built but reports go.etcd.io/etcd/server/v3 '$v'"
	step "  installed: etcd $ETCD_VERSION (cold build: $(($(now) - t0)) s)"
fi

# --- 4. helm -----------------------------------------------------------------------
step "step 4/4: helm $HELM_VERSION"
if [ "$(go_mod_version "$BIN/helm" "$HELM_MOD")" = "$HELM_VERSION" ]; then
	step "  already installed: helm $HELM_VERSION"
elif [ "$(go_mod_version "$DEPLOY_CACHE/bin/helm" "$HELM_MOD")" = "$HELM_VERSION" ]; then
	cp "$DEPLOY_CACHE/bin/helm" "$BIN/helm.new" && mv "$BIN/helm.new" "$BIN/helm"
	step "  copied from $DEPLOY_CACHE/bin/helm"
else
	t0=$(now)
	GOBIN=$BIN GOFLAGS=-mod=mod "${BUILD[@]}" go install "$HELM_MOD/cmd/helm@$HELM_VERSION"
	step "  installed: helm $HELM_VERSION (cold build: $(($(now) - t0)) s)"
fi

step "done: $BIN"
step "  $("$BIN/kubelet" --version), etcd $(go_mod_version "$BIN/etcd" go.etcd.io/etcd/server/v3), helm $("$BIN/helm" version --short)"
