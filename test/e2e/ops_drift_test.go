//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// The startup drift report against real containerd: a container started
// before the plugin (fail-open, no validator) is reported when the plugin
// connects, with the explain JSON of what the policy would give it; one
// started under the plugin is not.
func TestOpsDriftReportAtStartup(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "drift", Namespace: "e2e-drift"})
	early := RunContainer(t, pod, h.ContainerSpec{Name: "early", Seccomp: h.SeccompRuntimeDefault})

	p := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	late := RunContainer(t, pod, h.ContainerSpec{Name: "late", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, late, "mkdir", "/tmp/x"), "EPERM")

	// A second connection (plugin restart) reports again, now with both
	// containers running: only the early one drifted.
	if code, err := p.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: %d %v", code, err)
	}
	before := c.ConnectCount()
	if err := p.Restart(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReconnected(ctx(t), before, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitLog(ctx(t), `"msg":"drift report"`, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	var reports []map[string]any
	for _, l := range strings.Split(p.LogTail(400), "\n") {
		if !strings.Contains(l, "seccomp differs from the current policy") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		reports = append(reports, m)
	}
	// Two connections, the early container reported on each; never the
	// late one.
	if len(reports) != 2 {
		t.Fatalf("%d drift lines, want 2 (early, at each connection):\n%s", len(reports), p.LogTail(60))
	}
	for _, r := range reports {
		if r["container"] != "early" || r["container_id"] != early.ID {
			t.Errorf("drift reported for %v (%v), want only early (%s)", r["container"], r["container_id"], early.ID)
		}
		var e struct {
			Input struct {
				ProfileType string `json:"profile_type"`
			} `json:"input"`
			Rules   []string `json:"rules"`
			Changed bool     `json:"changed"`
		}
		if err := json.Unmarshal([]byte(r["explain"].(string)), &e); err != nil {
			t.Fatal(err)
		}
		if !e.Changed || len(e.Rules) != 1 || e.Rules[0] != "no-mkdir" || e.Input.ProfileType != "RuntimeDefault" {
			t.Errorf("explain = %+v, want no-mkdir would change a RuntimeDefault container", e)
		}
	}
	// logrus orders JSON fields by name: checked, drifted, level, msg.
	if !strings.Contains(p.LogTail(400), `"checked":2,"drifted":1`) {
		t.Errorf("no summary saying 2 checked, 1 drifted at the second connection:\n%s", p.LogTail(40))
	}
}
