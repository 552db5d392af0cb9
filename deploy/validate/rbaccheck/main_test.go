package main

import (
	"reflect"
	"strings"
	"testing"
)

const ds = `kind: DaemonSet
metadata: {name: p, namespace: sys}
spec:
  template:
    spec:
      serviceAccountName: p
      automountServiceAccountToken: %MOUNT%
      containers: [{args: [run, %ARGS%]}]
`

const role = `kind: ClusterRole
metadata: {name: p-events}
rules:
- apiGroups: [""]
  resources: [events]
  verbs: [%VERBS%]
`

const binding = `kind: ClusterRoleBinding
metadata: {name: p-events}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: p-events}
subjects: [{kind: ServiceAccount, name: p, namespace: %NS%}]
`

func manifest(mount, args, verbs, ns string, docs ...string) string {
	r := strings.NewReplacer("%MOUNT%", mount, "%ARGS%", args, "%VERBS%", verbs, "%NS%", ns)
	return r.Replace(strings.Join(append([]string{ds}, docs...), "---\n"))
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		events bool
		want   []string
	}{
		{"default", manifest("false", "--policy=x", "", ""), false, nil},
		{"default with a token", manifest("true", "--policy=x", "", ""), false,
			[]string{"the service-account token is mounted (automountServiceAccountToken is not false)"}},
		{"default with a role", manifest("false", "--kube-events", "create", "sys", role, binding), false, []string{
			"ClusterRole p-events in the default install", "ClusterRoleBinding p-events in the default install",
			"API flags in the default install: [--kube-events]"}},
		{"events", manifest("true", "--kube-events", "create, patch", "sys", role, binding), true, nil},
		{"events with get", manifest("true", "--kube-events", "create, patch, get", "sys", role, binding), true, []string{
			`ClusterRole p-events grants [{APIGroups:[] Resources:[events] Verbs:[create patch get] ResourceNames:[] URLs:[]}], want only {APIGroups:[] Resources:[events] Verbs:[create patch] ResourceNames:[] URLs:[]}`}},
		{"events bound elsewhere", manifest("true", "--kube-events", "create, patch", "other", role, binding), true, []string{
			`ClusterRoleBinding p-events binds [{Kind:ServiceAccount Name:p Namespace:other}], want only the DaemonSet's service account [{Kind:ServiceAccount Name:p Namespace:sys}]`}},
		{"events without token or flag", manifest("false", "--policy=x", "create, patch", "sys", role, binding), true, []string{
			"the service-account token is not mounted", "want --kube-events among the args, have []"}},
		{"events without RBAC", manifest("true", "--kube-events", "", ""), true, []string{
			"want exactly one ClusterRole, have 0 roles", "want exactly one ClusterRoleBinding, have 0 bindings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := check(strings.NewReader(tc.in), tc.events)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	for in, want := range map[string]string{
		"kind: ConfigMap\n":                       "no DaemonSet",
		"kind: DaemonSet\n---\nkind: DaemonSet\n": "more than one DaemonSet",
		"kind: [\n": "yaml: line 1: did not find expected node content",
	} {
		if _, err := check(strings.NewReader(in), false); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %s", in, err, want)
		}
	}
}
