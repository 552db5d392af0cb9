//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// Scenario 11 (start-up half): a bad policy at start makes nri-seccomp exit
// non-zero, naming the file and line, instead of connecting with a policy
// that lost a rule; with the recommended config containerd then refuses
// containers rather than running them unfiltered.
func TestScenario11BadPolicyAtStart(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}})
	p, err := c.StartPluginNoWait(bin, policyFile(t, "s11-bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(15 * time.Second)
	if err != nil {
		t.Fatalf("nri-seccomp with a bad policy: %v; log:\n%s", err, p.LogTail(20))
	}
	if code == 0 {
		t.Fatalf("nri-seccomp exited 0 with a bad policy; log:\n%s", p.LogTail(20))
	}
	log := p.LogTail(50)
	if !strings.Contains(log, "s11-bad.yaml:8") {
		t.Fatalf("nri-seccomp's error does not name s11-bad.yaml:8 (the misspelt key); log:\n%s", log)
	}
	if n := c.ConnectCount(); n != 0 {
		t.Fatalf("containerd saw %d plugin connection(s) from a plugin with a bad policy", n)
	}
	pod := RunPod(t, c, h.PodSpec{Name: "badpolicy", Namespace: "e2e-badpolicy"})
	requireRefusedMissing(t, createAndProbe(t, pod, "refused"), "plugin refused to start")
}
