#!/usr/bin/env bash
# Validates everything under deploy/ plus the Dockerfile's build, offline:
#
#   * kustomize build deploy/kubernetes/base, and helm lint + helm template
#     of deploy/helm/nri-seccomp (default and non-default values), each
#     checked by kubeconform -strict against the JSON schemas of a pinned
#     Kubernetes release. The schemas are generated from that release's
#     OpenAPI document (k8s.io/kubernetes via the Go module proxy), so no
#     schema download from GitHub is needed;
#   * values.schema.json rejects bad values;
#   * the policy copies in deploy/ are identical to policies/default-policy.yaml
#     and load with `nri-seccomp check`;
#   * the rendered DaemonSets keep the properties the docs promise;
#   * no install grants API access unless Kubernetes Events are enabled, and
#     then only create and patch on events (deploy/validate/rbaccheck);
#   * the containerd drop-ins merge into a containerd 2.4 config as intended
#     (`containerd config dump`, with the binary test/e2e/install.sh installs);
#   * the systemd unit passes `systemd-analyze verify` (when available);
#   * the Dockerfile's build command gives a static binary; the image itself is
#     built only when a Docker daemon answers.
#
# Tools are `go install`ed, pinned, into $DEPLOY_CACHE (reused when the
# version matches). Any failed check fails the script; a check that cannot
# run says so on a line starting with "NOT RUN".
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${DEPLOY_CACHE:-/var/cache/nri-seccomp-deploy}
E2E_CACHE=${E2E_CACHE:-/var/cache/nri-seccomp-e2e}
BIN=$CACHE/bin

HELM_MOD=helm.sh/helm/v3
HELM_VERSION=v3.22.0
KUSTOMIZE_MOD=sigs.k8s.io/kustomize/kustomize/v5
KUSTOMIZE_VERSION=v5.8.2 # v5.8.3 needs go >= 1.27
KUBECONFORM_MOD=github.com/yannh/kubeconform
KUBECONFORM_VERSION=v0.8.0
K8S_VERSION=1.37.2 # schemas; matches k8s.io/apimachinery in go.mod
# PrometheusRule and ServiceMonitor schemas: the CRDs of this module version
# (example/prometheus-operator-crd/), via the Go module proxy.
PROM_OPERATOR_MOD=github.com/prometheus-operator/prometheus-operator
PROM_OPERATOR_VERSION=v0.85.0

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
step() { printf '\n== %s\n' "$*"; }
bad() { echo "FAIL: $*"; fail=1; }

# install NAME MODULE/cmd/path VERSION: go install unless the cached binary
# was built from that module version.
install() {
	local name=$1 pkg=$2 version=$3 mod=$4
	if [ -x "$BIN/$name" ] && go version -m "$BIN/$name" | grep -Eq "^[[:space:]]+mod[[:space:]]+$mod[[:space:]]+$version([[:space:]]|$)"; then
		return
	fi
	echo "installing $name $version"
	GOBIN=$BIN GOFLAGS=-mod=mod go install "$pkg@$version"
}

step "tools"
mkdir -p "$BIN"
install helm "$HELM_MOD/cmd/helm" "$HELM_VERSION" "$HELM_MOD"
install kustomize "$KUSTOMIZE_MOD" "$KUSTOMIZE_VERSION" "$KUSTOMIZE_MOD"
install kubeconform "$KUBECONFORM_MOD/cmd/kubeconform" "$KUBECONFORM_VERSION" "$KUBECONFORM_MOD"
"$BIN/helm" version --short
"$BIN/kustomize" version
"$BIN/kubeconform" -v

SCHEMAS=$CACHE/schemas
if [ ! -s "$SCHEMAS/v$K8S_VERSION-standalone-strict/daemonset-apps-v1.json" ]; then
	echo "generating Kubernetes v$K8S_VERSION schemas"
	k8s_dir=$(cd "$TMP" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$k8s_dir" ] || { echo "cannot download k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
	go run ./deploy/validate/openapi2jsonschema "$k8s_dir/api/openapi-spec/swagger.json" "$SCHEMAS/v$K8S_VERSION-standalone-strict"
fi
CRD_SCHEMAS=$CACHE/schemas-prometheus-operator-$PROM_OPERATOR_VERSION
if [ ! -s "$CRD_SCHEMAS/servicemonitor-monitoring-v1.json" ]; then
	echo "generating Prometheus Operator $PROM_OPERATOR_VERSION CRD schemas"
	po_dir=$(cd "$TMP" && go mod download -json "$PROM_OPERATOR_MOD@$PROM_OPERATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$po_dir" ] || { echo "cannot download $PROM_OPERATOR_MOD@$PROM_OPERATOR_VERSION"; exit 1; }
	go run ./deploy/validate/openapi2jsonschema -crd "$CRD_SCHEMAS" \
		"$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" \
		"$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
fi
kubeconform() {
	"$BIN/kubeconform" -strict -summary -kubernetes-version "$K8S_VERSION" -schema-location "$SCHEMAS" \
		-schema-location "$CRD_SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@"
}

step "the schemas catch mistakes"
cat >"$TMP/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      priorityClassNam: system-node-critical
      containers: [{name: x, image: x, securityContext: {readOnlyRootFilesystem: "yes"}}]
EOF
if kubeconform "$TMP/broken.yaml" >"$TMP/broken.out" 2>&1; then
	bad "kubeconform accepted a misspelt field and a wrong type"
	cat "$TMP/broken.out"
elif ! grep -q "priorityClassNam" "$TMP/broken.out" || ! grep -q "want boolean" "$TMP/broken.out"; then
	bad "kubeconform did not name both mistakes"
	cat "$TMP/broken.out"
fi

step "policy copies"
for copy in deploy/kubernetes/base/policy.yaml deploy/helm/nri-seccomp/files/default-policy.yaml; do
	cmp -s policies/default-policy.yaml "$copy" || bad "$copy differs from policies/default-policy.yaml (copy it again)"
done
go run ./cmd/nri-seccomp check --policy deploy/kubernetes/base/policy.yaml

# require_in FILE PATTERN WHAT: the rendered manifests say WHAT.
require_in() {
	grep -Eq -- "$2" "$1" || bad "$1: $3 (no line matching '$2')"
}
daemonset_invariants() {
	local f=$1
	require_in "$f" '^[[:space:]]+priorityClassName: system-node-critical$' "system-node-critical priority"
	require_in "$f" '^[[:space:]]+path: /var/run/nri$' "the NRI socket's directory mounted (hostPath /var/run/nri)"
	require_in "$f" '^[[:space:]]+type: DirectoryOrCreate$' "a directory hostPath"
	require_in "$f" '^[[:space:]]+readOnlyRootFilesystem: true$' "a read-only root filesystem"
	require_in "$f" '^[[:space:]]+allowPrivilegeEscalation: false$' "no privilege escalation"
	require_in "$f" '^[[:space:]]+drop: *(\[ALL\]|$)' "capabilities dropped"
	require_in "$f" '^[[:space:]]+tolerate-missing-nri-plugins.nri-seccomp.io: "true"$' "the plugin pod's own opt-out annotation"
	require_in "$f" 'kind: ValidatingAdmissionPolicy$' "the admission policy restricting the opt-out"
	if grep -Eq '^[[:space:]]+path: /var/run/nri/nri.sock$' "$f"; then
		bad "$f mounts the socket file, not its directory"
	fi
}

step "kustomize build deploy/kubernetes/base"
"$BIN/kustomize" build deploy/kubernetes/base >"$TMP/kustomize.yaml"
kubeconform "$TMP/kustomize.yaml"
daemonset_invariants "$TMP/kustomize.yaml"

step "helm lint and template"
CHART=deploy/helm/nri-seccomp
"$BIN/helm" lint --strict "$CHART"
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" >"$TMP/helm.yaml"
kubeconform "$TMP/helm.yaml"
daemonset_invariants "$TMP/helm.yaml"
# Object names, the usual Helm way: the release's name when it contains the
# chart's (nri-seccomp, not nri-seccomp-nri-seccomp), else <release>-nri-seccomp.
object_names() { awk '/^kind:/{k=$2} /^  name:/{if(k!=""){print k, $2; k=""}}' "$1"; }
for pair in nri-seccomp:nri-seccomp prod:prod-nri-seccomp nri-seccomp-canary:nri-seccomp-canary; do
	release=${pair%%:*} want=${pair#*:}
	"$BIN/helm" template "$release" "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" >"$TMP/helm-name.yaml"
	got=$(object_names "$TMP/helm-name.yaml" | tr '\n' ' ')
	exp="ServiceAccount $want ConfigMap $want-policy DaemonSet $want ValidatingAdmissionPolicy $want-tolerate-missing-plugins ValidatingAdmissionPolicyBinding $want-tolerate-missing-plugins "
	[ "$got" = "$exp" ] || bad "release $release: objects named '$got', want '$exp'"
done
cat >"$TMP/values.yaml" <<'EOF'
image: {repository: registry.example.com/nri-seccomp, tag: v9.9.9, pullPolicy: Always}
policy: |
  apiVersion: nri-seccomp.io/v1alpha1
  kind: SeccompPolicy
  rules:
  - name: floor
    match: {}
    action: tighten
    deny: [keyctl]
nriSocket: /run/containerd/nri/nri.sock
plugin: {name: seccomp, index: "05", validate: false, logLevel: debug}
metrics: {enabled: false, port: 9765}
admissionPolicy: {enabled: false}
EOF
"$BIN/helm" lint --strict "$CHART" -f "$TMP/values.yaml"
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" -f "$TMP/values.yaml" >"$TMP/helm-custom.yaml"
kubeconform "$TMP/helm-custom.yaml"
require_in "$TMP/helm-custom.yaml" '^[[:space:]]+path: /run/containerd/nri$' "the custom socket's directory"
require_in "$TMP/helm-custom.yaml" 'deny: \[keyctl\]' "the custom policy"
require_in "$TMP/helm-custom.yaml" '- --validate=false' "the validation flag"
grep -q 'metrics-addr' "$TMP/helm-custom.yaml" && bad "metrics disabled but --metrics-addr rendered"
grep -q 'ValidatingAdmissionPolicy' "$TMP/helm-custom.yaml" && bad "admission policy disabled but rendered"
# The custom policy must load too.
sed -n '/policy.yaml: |/,/^---/p' "$TMP/helm-custom.yaml" | sed '1d;/^---/d;s/^    //' >"$TMP/custom-policy.yaml"
go run ./cmd/nri-seccomp check --policy "$TMP/custom-policy.yaml"

step "monitoring for the Prometheus Operator (deploy/monitoring, docs/monitoring.md)"
hack/genmonitoring.sh --verify || bad "the PrometheusRule or the chart's alerts.yaml is not generated from deploy/monitoring/alerts.yaml"
kubeconform deploy/monitoring/prometheus-operator/*.yaml
go run ./deploy/validate/samerules deploy/monitoring/alerts.yaml deploy/monitoring/prometheus-operator/prometheusrule.yaml || bad "static PrometheusRule's rules"
"$BIN/helm" lint --strict "$CHART" --set monitoring.prometheusRule.enabled=true --set monitoring.serviceMonitor.enabled=true
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" \
	--set monitoring.prometheusRule.enabled=true --set monitoring.serviceMonitor.enabled=true \
	--set monitoring.prometheusRule.labels.release=kube-prometheus >"$TMP/helm-monitoring.yaml"
kubeconform "$TMP/helm-monitoring.yaml"
go run ./deploy/validate/samerules deploy/monitoring/alerts.yaml "$TMP/helm-monitoring.yaml" || bad "the chart's PrometheusRule's rules"
require_in "$TMP/helm-monitoring.yaml" '^kind: ServiceMonitor$' "a ServiceMonitor when enabled"
require_in "$TMP/helm-monitoring.yaml" '^[[:space:]]+honorLabels: true$' "the ServiceMonitor keeps the audit counters' pod labels"
require_in "$TMP/helm-monitoring.yaml" '^[[:space:]]+release: kube-prometheus$' "the PrometheusRule's extra labels"
grep -Eq '^kind: (PrometheusRule|ServiceMonitor)$' "$TMP/helm.yaml" && bad "PrometheusRule or ServiceMonitor rendered by default (the CRDs may be missing)"
if "$BIN/helm" template x "$CHART" --kube-version "$K8S_VERSION" --set monitoring.serviceMonitor.enabled=true --set metrics.enabled=false >/dev/null 2>&1; then
	bad "a ServiceMonitor rendered with metrics disabled"
fi
printf '%s\n' 'apiVersion: monitoring.coreos.com/v1' 'kind: PrometheusRule' 'metadata: {name: x}' \
	'spec: {groups: [{name: g, rules: [{alert: A, expresion: up == 0}]}]}' >"$TMP/broken-rule.yaml"
if kubeconform "$TMP/broken-rule.yaml" >"$TMP/broken-rule.out" 2>&1 || ! grep -q expresion "$TMP/broken-rule.out"; then
	bad "kubeconform did not reject a misspelt PrometheusRule field"
	cat "$TMP/broken-rule.out"
fi

step "auditing variants: exactly the rights auditing needs, and the default none of them"
go build -o "$TMP/dsrights" ./deploy/validate/dsrights
# rights_are NAME RENDERED EXPECTED: the DaemonSet's rights, as dsrights
# prints them, are exactly EXPECTED.
rights_are() {
	"$TMP/dsrights" <"$2" >"$TMP/rights.got" || { bad "$1: dsrights failed"; return; }
	printf '%s\n' "$3" >"$TMP/rights.want"
	diff -u "$TMP/rights.want" "$TMP/rights.got" >"$TMP/rights.diff" || { bad "$1: rights differ:"; cat "$TMP/rights.diff"; }
}
COMMON='hostNetwork=true'
# The posture scan (on by default): host PIDs, containerd's socket directory
# read-only.
DEFAULT_RIGHTS="$COMMON
hostPID=true
hostIPC=false
privileged=false
allowPrivilegeEscalation=false
capabilities.add=
capabilities.drop=ALL
hostPath=/run/containerd(Directory) at /run/containerd:ro
hostPath=/var/run/nri(DirectoryOrCreate) at /var/run/nri:rw
arg=--posture-interval=30s
arg=--posture-containerd-socket=/run/containerd/containerd.sock"
# auditd's log, the connector: host PIDs, NET_ADMIN, the log read-only.
AUDIT_RIGHTS="$COMMON
hostPID=true
hostIPC=false
privileged=false
allowPrivilegeEscalation=false
capabilities.add=NET_ADMIN
capabilities.drop=ALL
hostPath=/run/containerd(Directory) at /run/containerd:ro
hostPath=/var/log/audit(Directory) at /var/log/audit:ro
hostPath=/var/run/nri(DirectoryOrCreate) at /var/run/nri:rw
arg=--posture-interval=30s
arg=--posture-containerd-socket=/run/containerd/containerd.sock
arg=--audit
arg=--audit-source=/var/log/audit/audit.log
arg=--audit-events=/dev/stdout
arg=--audit-follow-processes=true"
rights_are "helm default" "$TMP/helm.yaml" "$DEFAULT_RIGHTS"
rights_are "kustomize base" "$TMP/kustomize.yaml" "$DEFAULT_RIGHTS"
# Without posture: none of the host's PIDs, no containerd socket, no scan.
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" --set posture.enabled=false >"$TMP/helm-noposture.yaml"
kubeconform "$TMP/helm-noposture.yaml"
rights_are "helm posture.enabled=false" "$TMP/helm-noposture.yaml" "$COMMON
hostPID=false
hostIPC=false
privileged=false
allowPrivilegeEscalation=false
capabilities.add=
capabilities.drop=ALL
hostPath=/var/run/nri(DirectoryOrCreate) at /var/run/nri:rw
arg=--posture-interval=0"
helm_audit() {
	local out=$1; shift
	"$BIN/helm" lint --strict "$CHART" --set audit.enabled=true "$@" >/dev/null || bad "helm lint with audit.enabled=true $*"
	"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" --set audit.enabled=true "$@" >"$out"
	kubeconform "$out"
	daemonset_invariants "$out"
}
helm_audit "$TMP/helm-audit.yaml"
rights_are "helm audit.enabled=true" "$TMP/helm-audit.yaml" "$AUDIT_RIGHTS"
helm_audit "$TMP/helm-audit-noconn.yaml" --set audit.followProcesses=false
rights_are "helm audit without the connector" "$TMP/helm-audit-noconn.yaml" "$(printf '%s\n' "$AUDIT_RIGHTS" |
	sed 's/^capabilities.add=NET_ADMIN$/capabilities.add=/; s/^arg=--audit-follow-processes=true$/arg=--audit-follow-processes=false/')"
helm_audit "$TMP/helm-audit-path.yaml" --set audit.auditdLog=/srv/audit/node.log
rights_are "helm audit with another auditd log" "$TMP/helm-audit-path.yaml" "$(printf '%s\n' "$AUDIT_RIGHTS" |
	sed 's#^hostPath=/var/log/audit(Directory) at /var/log/audit:ro$#hostPath=/srv/audit(Directory) at /srv/audit:ro#; s#^arg=--audit-source=.*#arg=--audit-source=/srv/audit/node.log#')"
# The kernel log: only a privileged container may open /dev/kmsg.
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" --set audit.enabled=true,audit.source=kmsg >"$TMP/helm-audit-kmsg.yaml"
kubeconform "$TMP/helm-audit-kmsg.yaml"
rights_are "helm audit.source=kmsg" "$TMP/helm-audit-kmsg.yaml" "$COMMON
hostPID=true
hostIPC=false
privileged=true
allowPrivilegeEscalation=true
capabilities.add=
capabilities.drop=ALL
hostPath=/dev/kmsg(CharDevice) at /dev/kmsg:ro
hostPath=/run/containerd(Directory) at /run/containerd:ro
hostPath=/var/run/nri(DirectoryOrCreate) at /var/run/nri:rw
arg=--posture-interval=30s
arg=--posture-containerd-socket=/run/containerd/containerd.sock
arg=--audit
arg=--audit-source=kmsg
arg=--audit-events=/dev/stdout
arg=--audit-follow-processes=true"
# The kustomize component, on the base, from an overlay outside the tree.
mkdir -p "$TMP/overlay-audit"
rel=$(realpath --relative-to="$TMP/overlay-audit" "$ROOT/deploy/kubernetes")
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [%s/base]\ncomponents: [%s/components/audit]\n' "$rel" "$rel" >"$TMP/overlay-audit/kustomization.yaml"
"$BIN/kustomize" build --load-restrictor LoadRestrictionsNone "$TMP/overlay-audit" >"$TMP/kustomize-audit.yaml"
kubeconform "$TMP/kustomize-audit.yaml"
daemonset_invariants "$TMP/kustomize-audit.yaml"
rights_are "kustomize components/audit" "$TMP/kustomize-audit.yaml" "$AUDIT_RIGHTS"

step "Kubernetes Events are opt-in, with create and patch on events only"
# The default installs never talk to the API server: no RBAC, no token.
go run ./deploy/validate/rbaccheck "$TMP/kustomize.yaml" none || bad "kustomize base grants API access"
go run ./deploy/validate/rbaccheck "$TMP/helm.yaml" none || bad "the chart's defaults grant API access"
go run ./deploy/validate/rbaccheck "$TMP/helm-custom.yaml" none || bad "the chart's custom values grant API access"
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" \
	--set events.enabled=true --set events.apiServer=https://127.0.0.1:6443 >"$TMP/helm-events.yaml"
"$BIN/helm" lint --strict "$CHART" --set events.enabled=true >/dev/null
kubeconform "$TMP/helm-events.yaml"
go run ./deploy/validate/rbaccheck "$TMP/helm-events.yaml" events || bad "events.enabled: wrong grant"
require_in "$TMP/helm-events.yaml" '- --kube-api-server=https://127.0.0.1:6443$' "events.apiServer passed to the plugin"
daemonset_invariants "$TMP/helm-events.yaml"
# The kustomize component, from an overlay as a user writes it.
mkdir -p "$TMP/overlay"
rel=$(realpath --relative-to="$TMP/overlay" "$ROOT/deploy/kubernetes")
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [%s/base]\ncomponents: [%s/components/events]\n' "$rel" "$rel" >"$TMP/overlay/kustomization.yaml"
"$BIN/kustomize" build "$TMP/overlay" >"$TMP/kustomize-events.yaml"
kubeconform "$TMP/kustomize-events.yaml"
go run ./deploy/validate/rbaccheck "$TMP/kustomize-events.yaml" events || bad "components/events: wrong grant"
daemonset_invariants "$TMP/kustomize-events.yaml"

step "a policy from several ConfigMaps (extraPolicyConfigMaps)"
"$BIN/helm" template nri-seccomp "$CHART" -n nri-seccomp --kube-version "$K8S_VERSION" \
	--set 'extraPolicyConfigMaps={team-a-policy,team-b-policy}' >"$TMP/helm-extra.yaml"
kubeconform "$TMP/helm-extra.yaml"
daemonset_invariants "$TMP/helm-extra.yaml"
require_in "$TMP/helm-extra.yaml" '- --policy=/etc/nri-seccomp$' "the policy directory, not one file, with extra ConfigMaps"
for cm in nri-seccomp-policy team-a-policy team-b-policy; do
	require_in "$TMP/helm-extra.yaml" "^[[:space:]]+name: $cm\$" "the projected volume's ConfigMap $cm"
done
require_in "$TMP/helm.yaml" '- --policy=/etc/nri-seccomp/policy.yaml$' "the single policy file by default"
# The loader reads such a directory as one policy.
mkdir -p "$TMP/policy-dir"
cp policies/default-policy.yaml "$TMP/policy-dir/policy.yaml"
cp policies/examples/demo-trial.yaml "$TMP/policy-dir/team-a.yaml"
go run ./cmd/nri-seccomp check --policy "$TMP/policy-dir" >/dev/null || bad "a policy directory of two files does not load"

step "values.schema.json rejects bad values"
for v in 'plugin.index=100' 'metrics.port=0' 'image.pullPolicy=Sometimes' 'nriSocket=relative.sock' 'unknownKey=1' \
	'monitoring.serviceMonitor.interval=soon' 'monitoring.prometheusRule.enable=true' \
	'audit.source=journald' 'audit.auditdLog=audit.log' 'audit.enabled=yes' 'posture.interval=30' 'posture.containerdSocket=containerd.sock' \
	'extraPolicyConfigMaps={Team_A}' 'events.enabled=yes' 'events.apiServer=http://10.0.0.1:6443' 'events.apiServer=https://h:6443/path' 'events.typo=1'; do
	if "$BIN/helm" template x "$CHART" --kube-version "$K8S_VERSION" --set "$v" >/dev/null 2>"$TMP/schema.err"; then
		bad "values.schema.json accepted --set $v"
	elif ! grep -q "values don't meet the specifications of the schema" "$TMP/schema.err"; then
		bad "--set $v failed, but not on the schema: $(cat "$TMP/schema.err")"
	fi
done

step "containerd drop-ins"
CONTAINERD=${CONTAINERD:-$E2E_CACHE/bin/containerd}
if [ -x "$CONTAINERD" ]; then
	for dropin in deploy/containerd/nri-seccomp.toml deploy/node/etc/containerd/conf.d/nri-seccomp.toml; do
		printf 'version = 3\nimports = ["%s"]\n' "$ROOT/$dropin" >"$TMP/config.toml"
		"$CONTAINERD" --config "$TMP/config.toml" config dump >"$TMP/dump.toml" 2>"$TMP/dump.err" || { cat "$TMP/dump.err"; bad "$dropin: containerd config dump failed"; }
		require_in "$TMP/dump.toml" "^[[:space:]]+required_plugins = \['seccomp'\]$" "$dropin: the plugin required after merging"
		require_in "$TMP/dump.toml" "^[[:space:]]+socket_path = '/var/run/nri/nri.sock'$" "$dropin: the socket the DaemonSet mounts"
		require_in "$TMP/dump.toml" "^[[:space:]]+disable = false$" "$dropin: NRI enabled"
		if [ "$dropin" = deploy/node/etc/containerd/conf.d/nri-seccomp.toml ]; then
			require_in "$TMP/dump.toml" "^[[:space:]]+tolerate_missing_plugins_annotation = ''$" "$dropin: no opt-out on plain nodes"
		else
			require_in "$TMP/dump.toml" "tolerate_missing_plugins_annotation = 'tolerate-missing-nri-plugins.nri-seccomp.io'" "$dropin: the opt-out the chart uses"
		fi
	done
else
	bad "containerd not found at $CONTAINERD (run test/e2e/install.sh, or set CONTAINERD)"
fi

step "systemd unit"
if command -v systemd-analyze >/dev/null; then
	# verify resolves ExecStart: point it at a real binary.
	go build -o "$TMP/usr/local/bin/nri-seccomp" ./cmd/nri-seccomp
	sed "s#/usr/local/bin/nri-seccomp#$TMP/usr/local/bin/nri-seccomp#g" deploy/node/systemd/nri-seccomp.service >"$TMP/nri-seccomp.service"
	if ! systemd-analyze verify "$TMP/nri-seccomp.service" 2>"$TMP/unit.err"; then
		bad "systemd-analyze verify: $(cat "$TMP/unit.err")"
	elif grep -v -e 'containerd.service' "$TMP/unit.err" | grep -q .; then
		# containerd.service itself may be missing on the build machine.
		bad "systemd-analyze verify warned: $(cat "$TMP/unit.err")"
	fi
else
	echo "NOT RUN: systemd-analyze not installed"
fi

step "Dockerfile build command gives a static binary"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=validate" -o "$TMP/nri-seccomp-static" ./cmd/nri-seccomp
if readelf -l "$TMP/nri-seccomp-static" | grep -q INTERP; then
	bad "the Dockerfile's build is dynamically linked"
fi
"$TMP/nri-seccomp-static" version | grep -q validate || bad "version not stamped by -ldflags"
if docker info >/dev/null 2>&1; then
	docker build -q -t nri-seccomp:validate .
	docker run --rm nri-seccomp:validate check --policy /etc/nri-seccomp/policy.yaml
else
	echo "NOT RUN: no Docker daemon; the image itself was not built (the build command above was)"
fi

if [ "$fail" -ne 0 ]; then
	printf '\nvalidate-deploy: FAILED\n'
	exit 1
fi
printf '\nvalidate-deploy: OK\n'
