#!/usr/bin/env bash
# e2e-stress.sh [RUNS]: runs the real-containerd e2e suite RUNS times (default
# 10) with both cores kept busy by background load, to find tests that fail
# only on a loaded machine (issue 12: "no flaky tests"). Each run's output is
# kept in $OUT (default /tmp/e2e-stress); a summary line per run is printed.
# Root; run test/e2e/install.sh and make build first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
RUNS=${1:-10}
OUT=${OUT:-/tmp/e2e-stress}
LOAD=${LOAD:-$(nproc)}
mkdir -p "$OUT"
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq "$LOAD"); do
	nice -n 5 bash -c 'while :; do :; done' &
	pids+=($!)
done
echo "[stress] $LOAD busy loops in the background; $RUNS runs; logs in $OUT"
go test -tags e2e -c -o "$OUT/e2e.test" ./test/e2e/
fails=0
for i in $(seq "$RUNS"); do
	start=$(date +%s)
	if (cd test/e2e && NRI_SECCOMP_BIN=$PWD/../../bin/nri-seccomp "$OUT/e2e.test" -test.count=1 -test.timeout 20m -test.v) >"$OUT/run-$i.log" 2>&1; then
		res=ok
	else
		res=FAIL
		fails=$((fails + 1))
	fi
	failed=$(grep -E '^\s*--- FAIL' "$OUT/run-$i.log" | awk '{print $3}' | tr '\n' ' ' || true)
	echo "[stress] run $i/$RUNS: $res in $(($(date +%s) - start)) s ${failed:+(failed: $failed)}"
done
echo "[stress] $fails of $RUNS runs failed"
[ "$fails" -eq 0 ]
