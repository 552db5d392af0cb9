#!/usr/bin/env bash
# containerd.sh: start or stop a private containerd 2.4.2 (CRI + NRI) for
# poking at by hand, the same one the Go tests use (package harness).
#
#   test/e2e/containerd.sh up [DIR] [--required-plugin seccomp] [--request-timeout 2s]
#   crictl --config DIR/crictl.yaml pods            # drive it like kubelet
#   bin/nri-seccomp run --socket DIR/nri.sock --policy policies/default-policy.yaml
#   test/e2e/containerd.sh down [DIR]
#
# DIR defaults to /tmp/e2e-manual (keep it short: unix socket paths are
# limited to 108 bytes). Everything lives under DIR; down removes the pods,
# stops containerd and its shims, kills what is left in its cgroup parent,
# unmounts what is left under DIR and deletes DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${E2E_CACHE:-/var/cache/nri-seccomp-e2e}
cmd=${1:-}
shift || true
dir=/tmp/e2e-manual
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	dir=$1
	shift
fi

[ "$(id -u)" -eq 0 ] || { echo "containerd.sh must run as root" >&2; exit 1; }
(cd "$ROOT" && go build -o "$CACHE/e2e" ./test/e2e/cmd/e2e)

case "$cmd" in
up)
	mkdir -p "$dir"
	(cd "$ROOT" && E2E_CACHE=$CACHE "$CACHE/e2e" up --dir "$dir" "$@")
	echo "# crictl: $CACHE/bin/crictl --config $dir/crictl.yaml ps -a"
	echo "# plugin: nri-seccomp run --socket $dir/nri.sock --policy <policy>"
	echo "# stop:   $0 down $dir"
	;;
down)
	E2E_CACHE=$CACHE "$CACHE/e2e" down --dir "$dir"
	echo "stopped and removed $dir"
	;;
*)
	echo "usage: $0 up|down [DIR] [flags for up]" >&2
	exit 2
	;;
esac
