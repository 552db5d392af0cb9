#!/usr/bin/env bash
# demo.sh: the README's "main job" in one command (make demo). On a fresh
# Debian 12 machine, as root: installs what the harness needs (cached), builds
# nri-seccomp, starts a private containerd 2.4.2 with CRI and NRI, starts
# nri-seccomp with the default policy, runs an ordinary pod and shows, in
# plain words, which rule applied, what the kernel refused inside the
# container, and the decision log line; then a pod under an audit-mode rule,
# whose attempt is allowed and becomes an audit event naming the pod; then
# cleans everything up and says what to try next.
#
# Environment:
#   NRI_SECCOMP_BIN  use this binary instead of building bin/nri-seccomp
#   DEMO_POLICY      policy file (default policies/default-policy.yaml)
#   DEMO_TRIAL       audit-mode policy file added to it (default
#                    policies/examples/demo-trial.yaml; empty: none)
#   E2E_CACHE        install cache (default /var/cache/nri-seccomp-e2e)
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
CACHE=${E2E_CACHE:-/var/cache/nri-seccomp-e2e}
POLICY=${DEMO_POLICY:-policies/default-policy.yaml}
# An audit-mode rule for namespace demo-trial, run beside POLICY as a policy
# directory; DEMO_TRIAL= (empty) skips the audit half.
TRIAL=${DEMO_TRIAL-policies/examples/demo-trial.yaml}
START=$(date +%s%N)

step() { printf '[demo] %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "demo.sh must run as root (containerd, runc)" >&2; exit 1; }

step "installing the pinned tools (test/e2e/install.sh; fast when cached)"
E2E_CACHE=$CACHE "$ROOT/test/e2e/install.sh" | sed 's/^/       /'

if [ -n "${NRI_SECCOMP_BIN:-}" ]; then
	BIN=$NRI_SECCOMP_BIN
	step "using nri-seccomp from NRI_SECCOMP_BIN=$BIN"
else
	BIN=$ROOT/bin/nri-seccomp
	step "building nri-seccomp into bin/nri-seccomp"
	"$ROOT/hack/install-build-deps.sh" | sed 's/^/       /'
	go build -o "$BIN" ./cmd/nri-seccomp
fi
[ -f "$POLICY" ] || { echo "policy $POLICY not found" >&2; exit 1; }

step "building the demo driver (test/e2e/cmd/e2e)"
go build -o "$CACHE/e2e" ./test/e2e/cmd/e2e

E2E_CACHE=$CACHE "$CACHE/e2e" demo --plugin "$BIN" --policy "$POLICY" --trial "$TRIAL"
ms=$((($(date +%s%N) - START) / 1000000))
step "finished in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s, everything included"
