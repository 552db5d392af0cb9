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
n=0
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		n=$((n + 1))
		printf '[fuzz] %s %s for %s\n' "$pkg" "$f" "$FUZZTIME"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tail -3
	done
done
[ "$n" -gt 0 ] || { echo "[fuzz] no fuzz targets found" >&2; exit 1; }
echo "[fuzz] $n targets, $FUZZTIME each: no failure"
