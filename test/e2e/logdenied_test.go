//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// Scenario 12 (issue 6): a rule with logDenied makes the kernel log the calls
// the filter refuses, not only SCMP_ACT_LOG ones, so refusals reach the audit
// log. That needs runc >= 1.2: against Debian's runc 1.1.5 the policy is
// refused when it is loaded, naming the line, instead of failing containers.
func TestScenario12LogDenied(t *testing.T) {
	bin := pluginBin(t)
	tools, err := h.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	policy := policyFile(t, "s12-logdenied.yaml")

	check := exec.Command(bin, "check", "--policy", policy)
	check.Env = append(check.Environ(), "NRI_SECCOMP_RUNC="+tools.Runc)
	out, err := check.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "logDenied") || !strings.Contains(string(out), "1.1.5") ||
		!strings.Contains(string(out), "s12-logdenied.yaml:9") {
		t.Fatalf("check against runc 1.1.5: want a refusal at s12-logdenied.yaml:9 naming runc 1.1.5, got %v:\n%s", err, out)
	}

	t.Setenv("NRI_SECCOMP_RUNC", tools.Runc12) // the plugin inherits it
	c := StartContainerd(t, h.ContainerdOptions{Runc: tools.Runc12})
	p := StartPlugin(t, c, bin, policy)
	pod := RunPod(t, c, h.PodSpec{Name: "logdenied", Namespace: "e2e-logdenied"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})
	d := RequireDecision(t, p, ct, []string{"deny-mkdir-logged"}, true)
	t.Logf("decision: %s", d.Raw)

	const mkdirNr = 83           // x86_64
	const errnoEPERM = "0x50000" // SECCOMP_RET_ERRNO: the kernel logs the action without its data (the errno)
	start := time.Now()
	var found *h.AuditRecord
	for i := 0; found == nil && time.Since(start) < 15*time.Second; i++ {
		RequireRefused(t, Probe(t, ct, "mkdir", fmt.Sprintf("/tmp/s12-%d", i)), "EPERM")
		time.Sleep(200 * time.Millisecond)
		recs, err := h.SeccompAuditRecords(ctx(t), start)
		if err != nil {
			t.Fatalf("read audit records: %v", err)
		}
		for _, r := range recs {
			if r.Comm == "syscall-probe" && r.Syscall == mkdirNr && r.Arch == "c000003e" && r.Code == errnoEPERM {
				found = &r
				break
			}
		}
	}
	if found == nil {
		t.Fatalf("no seccomp audit record for the refused mkdir (code %s) within 15s (auditd running: %v)", errnoEPERM, h.AuditdRunning())
	}
	t.Logf("audit record of a refusal: %s", found.Line)
}
