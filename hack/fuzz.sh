#!/usr/bin/env bash
# fuzz.sh: runs every go fuzz target of the module for a bounded time each
# (FUZZTIME, default 15s), one after another: the seed corpora under
# testdata/fuzz run with every `go test`; this explores beyond them. A
# failure leaves the crashing input under the package's testdata/fuzz/ for
# `go test -run` to replay; commit it as a regression case once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
FUZZTIME=${FUZZTIME:-15s}
# The targets are found in the test files `go list` names for each package
# (build constraints applied), without compiling: `go test -list` would
# build every package's test binary (a minute of both cores, cold) only to
# print the names.
fuzz_targets() { # TEST-FILE...: the Fuzz functions they define
	[ $# -gt 0 ] || return 0
	sed -n -E 's/^func (Fuzz[A-Za-z0-9_]*)\([A-Za-z0-9_]+ \*testing\.F\).*/\1/p' "$@"
}
n=0
while read -r pkg dir files; do
	# shellcheck disable=SC2086 # files: space-separated names, none with spaces
	for f in $(cd "$dir" && fuzz_targets $files); do
		n=$((n + 1))
		printf '[fuzz] %s %s for %s\n' "$pkg" "$f" "$FUZZTIME"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tail -3
	done
done < <(go list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' ./...)
[ "$n" -gt 0 ] || { echo "[fuzz] no fuzz targets found" >&2; exit 1; }
echo "[fuzz] $n targets, $FUZZTIME each: no failure"
