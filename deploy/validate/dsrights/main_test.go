package main

import (
	"strings"
	"testing"
)

func TestRights(t *testing.T) {
	in := `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: apps/v1
kind: DaemonSet
spec:
  template:
    spec:
      hostPID: true
      containers:
      - name: c
        args: [run, --audit, --audit-source=kmsg]
        securityContext:
          capabilities: {drop: [ALL], add: [SYSLOG, NET_ADMIN]}
        volumeMounts:
        - {name: a, mountPath: /x, readOnly: true}
        - {name: b, mountPath: /y}
      volumes:
      - {name: b, hostPath: {path: /host/y, type: Directory}}
      - {name: a, hostPath: {path: /host/x}}
      - {name: c, configMap: {name: p}}
`
	got, err := rights(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `hostNetwork=false
hostPID=true
hostIPC=false
privileged=false
allowPrivilegeEscalation=true
capabilities.add=NET_ADMIN,SYSLOG
capabilities.drop=ALL
hostPath=/host/x(<nil>) at /x:ro
hostPath=/host/y(Directory) at /y:rw
arg=--audit
arg=--audit-source=kmsg`
	if g := strings.Join(got, "\n"); g != want {
		t.Fatalf("got\n%s\nwant\n%s", g, want)
	}
	for _, tc := range []struct{ in, err string }{
		{"kind: ConfigMap\n", "no DaemonSet"},
		{"kind: DaemonSet\n---\nkind: DaemonSet\n", "more than one DaemonSet"},
		{"kind: DaemonSet\nspec: {template: {spec: {containers: []}}}\n", "0 containers, want 1"},
		{"kind: [\n", "yaml: line 1: did not find expected node content"},
	} {
		if _, err := rights(strings.NewReader(tc.in)); err == nil || err.Error() != tc.err {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.err)
		}
	}
}
