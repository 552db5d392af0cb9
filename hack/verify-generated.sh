#!/usr/bin/env bash
# Regenerates every generated artefact into a temporary directory and fails,
# showing the diff, if a committed copy differs. CI runs this; fix a failure
# with `go generate ./internal/syscalls ./policies` and commit the result.
#
# Needs: the Go toolchain, golang.org/x/sys (main go.mod's version) in the
# module cache, containerd v2.4.2's module graph for hack/genruntimedefault,
# an amd64 host and a kernel >= 4.8 (genruntimedefault refuses otherwise,
# because containerd's profile depends on both).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
check() { # check <committed file> <fresh file>
	if ! diff -u "$1" "$2"; then
		echo "verify-generated: $1 is stale; run go generate ./internal/syscalls ./policies" >&2
		status=1
	fi
}

# internal/syscalls/zsyscalls.go: go list -m must see the main module, hence -C.
go -C "$root/internal/syscalls" run ../../hack/gensyscalls -o "$tmp/zsyscalls.go"
check "$root/internal/syscalls/zsyscalls.go" "$tmp/zsyscalls.go"

# policies/profiles/runtime-default.json, from its own module.
go -C "$root/hack/genruntimedefault" run . -o "$tmp/runtime-default.json"
check "$root/policies/profiles/runtime-default.json" "$tmp/runtime-default.json"

# policies/profiles/{hardened,minimal}.json, derived from the committed
# runtime-default.json (a stale runtime-default is reported above).
mkdir "$tmp/profiles"
cp "$root/policies/profiles/runtime-default.json" "$tmp/profiles/"
go -C "$root/policies" run ../hack/genprofiles -dir "$tmp/profiles"
for f in hardened minimal; do
	check "$root/policies/profiles/$f.json" "$tmp/profiles/$f.json"
done

# deploy/monitoring/prometheus-operator/prometheusrule.yaml and the chart's
# files/alerts.yaml, from deploy/monitoring/alerts.yaml.
"$root/hack/genmonitoring.sh" --verify || status=1

exit "$status"
