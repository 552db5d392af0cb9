//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// Scenario 5: an audit-mode rule lets the syscall through and the kernel
// writes a seccomp audit record (SCMP_ACT_LOG) naming it: to the kernel log,
// or to auditd's log when an auditd runs.
func TestScenario5AuditMode(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	p := StartPlugin(t, c, bin, policyFile(t, "s5-audit.yaml"))
	pod := RunPod(t, c, h.PodSpec{Name: "audit", Namespace: "e2e-audit"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})

	// Audit mode must not loosen: what RuntimeDefault refused stays refused.
	RequireRefused(t, Probe(t, ct, "keyctl"), "EPERM")

	const mkdirNr = 83 // x86_64
	start := time.Now()
	// The kernel rate-limits these records (printk_ratelimit when no auditd
	// runs), and other tests may log too: retry with fresh calls.
	var found *h.AuditRecord
	for i := 0; found == nil && time.Since(start) < 15*time.Second; i++ {
		RequireAllowed(t, Probe(t, ct, "mkdir", fmt.Sprintf("/tmp/s5-%d", i)))
		time.Sleep(200 * time.Millisecond)
		recs, err := h.SeccompAuditRecords(ctx(t), start)
		if err != nil {
			t.Fatalf("read audit records: %v", err)
		}
		for _, r := range recs {
			if r.Comm == "syscall-probe" && r.Syscall == mkdirNr && r.Arch == "c000003e" && r.Code == h.SeccompRetLog {
				found = &r
				break
			}
		}
	}
	if found == nil {
		t.Fatalf("no seccomp audit record (syscall=%d comm=syscall-probe code=%s) within 15s (auditd running: %v)",
			mkdirNr, h.SeccompRetLog, h.AuditdRunning())
	}
	t.Logf("audit record: %s", found.Line)
	d := RequireDecision(t, p, ct, []string{"audit-mkdir"}, true)
	if d.Mode != "audit" {
		t.Fatalf("decision mode %q, want audit: %s", d.Mode, d.Raw)
	}
}
