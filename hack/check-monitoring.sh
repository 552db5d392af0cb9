#!/usr/bin/env bash
# Checks deploy/monitoring offline with Debian's promtool (installed, pinned,
# by hack/install-prometheus.sh when run as root):
#   * alerts.yaml and the example prometheus.yml load (promtool check);
#   * alerts_test.yaml passes (promtool test rules): synthetic series for
#     every alert;
#   * the PrometheusRule and the chart's copy are generated from alerts.yaml;
#   * every alert is tested both firing and not firing, and has a runbook
#     line, a runbook_url, and the section that URL names in
#     docs/monitoring.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=deploy/monitoring
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if [ "$(id -u)" -eq 0 ]; then
	hack/install-prometheus.sh
fi
command -v promtool >/dev/null || { echo "promtool not found: run hack/install-prometheus.sh as root"; exit 1; }
promtool --version 2>&1 | head -1

hack/genmonitoring.sh --verify || bad "a copy of alerts.yaml is not generated from it"
promtool check rules "$DIR/alerts.yaml"
promtool check config "$DIR/prometheus.yml"
(cd "$DIR" && promtool test rules alerts_test.yaml)

# alert NAME: tested firing (a non-empty exp_alerts) and quiet (exp_alerts: []).
tested=$(awk '
	/^[[:space:]]*alertname:/ { name = $2; next }
	/^[[:space:]]*exp_alerts: \[\]/ { quiet[name] = 1; next }
	/^[[:space:]]*exp_alerts:[[:space:]]*$/ { firing[name] = 1; next }
	END { for (n in quiet) if (n in firing) print n }
' "$DIR/alerts_test.yaml" | sort)
for alert in $(sed -n 's/^[[:space:]]*- alert: //p' "$DIR/alerts.yaml"); do
	grep -qx "$alert" <<<"$tested" || bad "$alert is not tested both firing and not firing in alerts_test.yaml"
	anchor=$(tr '[:upper:]' '[:lower:]' <<<"$alert")
	grep -q "runbook_url: \"https://github.com/nri-seccomp/nri-seccomp/blob/main/docs/monitoring.md#$anchor\"" "$DIR/alerts.yaml" ||
		bad "$alert: no runbook_url to docs/monitoring.md#$anchor"
	grep -qx "### $alert" docs/monitoring.md || bad "$alert: no section '### $alert' in docs/monitoring.md"
done
n_alerts=$(grep -c '^[[:space:]]*- alert: ' "$DIR/alerts.yaml")
n_runbooks=$(grep -c '^[[:space:]]*runbook: ' "$DIR/alerts.yaml")
[ "$n_alerts" = "$n_runbooks" ] || bad "$n_alerts alerts but $n_runbooks runbook annotations"

if [ "$fail" -ne 0 ]; then
	echo "check-monitoring: FAILED"
	exit 1
fi
echo "check-monitoring: OK ($n_alerts alerts)"
