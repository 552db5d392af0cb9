//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// auditPolicy is the shipped policy plus an audit-mode rule refusing
// mkdir(2) in ns: nothing is refused, every mkdir is logged.
func auditPolicy(t *testing.T, ns string) string {
	b, err := os.ReadFile(filepath.Join(root, "policies", "default-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + fmt.Sprintf(`- name: trial-no-mkdir
  match: {namespaces: [%s]}
  action: tighten
  deny: [mkdir]
  mode: audit
`, ns)
}

// TestHelmAudit: with audit.enabled the plugin reads the node's auditd log
// and writes each seccomp record as a JSON event on its stdout, attributed
// to namespace, pod and container. The workload is the issue's: a shell
// whose every mkdir is a short-lived child, gone before its record is read;
// every event must still name the pod (the process-events connector).
func TestHelmAudit(t *testing.T) {
	ctx := context.Background()
	ns := "audit-helm"
	log := harness.PrivateAuditd(t)
	inst := helmInstaller(t, "--set", "audit.enabled=true", "--set", "audit.auditdLog="+log)
	t.Cleanup(func() {
		if err := inst.Remove(ctx); err != nil {
			t.Errorf("uninstall: %v", err)
		}
		deleteNamespaces(ns)
	})
	start := time.Now()
	if err := inst.Apply(ctx, imageTag, auditPolicy(t, ns)); err != nil {
		t.Fatal(err)
	}
	plugin := waitDaemonSet(t, inst, imageTag, 2*time.Minute)
	logf(t, "helm install with audit.enabled Ready in %s", since(start))

	ensureNamespace(t, ns)
	const want = 8
	mustCreatePod(t, ns, "mkdirs", podOpts{Script: "i=0; while true; do i=$((i+1)); mkdir /tmp/d$i && echo made d$i; sleep 1; done"})
	waitReady(t, ns, time.Minute, "mkdirs")

	// Events are JSON lines on the plugin's stdout.
	var mine, others []map[string]any
	err := pollUntil(ctx, 90*time.Second, func() error {
		out, err := cl.PodLog(pluginNamespace, plugin.Metadata.Name, "nri-seccomp")
		if err != nil {
			return err
		}
		mine, others = nil, nil
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, `"syscall"`) {
				continue
			}
			var ev map[string]any
			// The plugin's own log (stderr) repeats each event as a
			// "msg" line; the events themselves (stdout) have none.
			if json.Unmarshal([]byte(line), &ev) != nil || ev["syscall"] != "mkdir" || ev["msg"] != nil {
				continue
			}
			if ev["namespace"] == ns || ev["attribution"] == "unknown" {
				mine = append(mine, ev)
			} else {
				others = append(others, ev)
			}
		}
		if len(mine) < want {
			return fmt.Errorf("%d mkdir events so far", len(mine))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("audit events in the DaemonSet's log: %v", err)
	}
	attributed := 0
	for _, ev := range mine {
		if ev["namespace"] == ns && ev["pod"] == "mkdirs" && ev["container"] == "main" && ev["attribution"] != "unknown" {
			attributed++
		} else {
			t.Errorf("event not attributed to %s/mkdirs/main: %v", ns, ev)
		}
	}
	logf(t, "%d of %d mkdir events attributed to %s/mkdirs/main", attributed, len(mine), ns)
	for _, ev := range others {
		t.Errorf("a mkdir event attributed to another pod (only %s has an audit rule): %v", ns, ev)
	}
	// Audit mode refuses nothing: the pod's mkdirs succeeded.
	out, err := cl.PodLog(ns, "mkdirs", "main")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "made d1\n") {
		t.Errorf("mkdir failed under the audit-mode rule; the pod's log:\n%s", lastLines(out, 10))
	}
}
