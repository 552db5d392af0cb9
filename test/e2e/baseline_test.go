//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// TestBaseline checks the harness itself, without the plugin: an unconfined
// container may call mkdir and keyctl, while containerd's own RuntimeDefault
// profile refuses keyctl with EPERM. Every plugin scenario relies on these
// two facts being true of the bare runtime.
func TestBaseline(t *testing.T) {
	c := StartContainerd(t, harness.ContainerdOptions{})
	pod := RunPod(t, c, harness.PodSpec{Name: "baseline", Namespace: "e2e-baseline"})

	unconfined := RunContainer(t, pod, harness.ContainerSpec{Name: "unconfined", Seccomp: harness.SeccompUnconfined})
	RequireAllowed(t, Probe(t, unconfined, "mkdir", "/tmp/baseline"))
	RequireAllowed(t, Probe(t, unconfined, "keyctl"))

	rd := RunContainer(t, pod, harness.ContainerSpec{Name: "runtime-default", Seccomp: harness.SeccompRuntimeDefault})
	RequireAllowed(t, Probe(t, rd, "mkdir", "/tmp/baseline"))
	RequireRefused(t, Probe(t, rd, "keyctl"), "EPERM")
	// The same refusal through the i386 entry: containerd's profile lists
	// x86 too, so int $0x80 keyctl is refused, and getpid is allowed.
	RequireAllowed(t, Probe(t, rd, "i386", "getpid"))
	RequireRefused(t, Probe(t, rd, "i386", "keyctl"), "EPERM")
}

// TestBaselineAuditRecord checks, without the plugin, what audit mode
// (scenario 5) relies on: a Localhost profile with SCMP_ACT_LOG lets mkdir
// through and the kernel writes a seccomp audit record the harness can find
// (kernel log, or auditd's log when an auditd runs).
func TestBaselineAuditRecord(t *testing.T) {
	prof, err := filepath.Abs("testdata/profiles/log-mkdir.json")
	if err != nil {
		t.Fatal(err)
	}
	c := StartContainerd(t, harness.ContainerdOptions{})
	pod := RunPod(t, c, harness.PodSpec{Name: "audit", Namespace: "e2e-baseline"})
	ct := RunContainer(t, pod, harness.ContainerSpec{Name: "log", Seccomp: harness.SeccompLocalhost, LocalhostRef: prof})
	start := time.Now()
	for i := 0; time.Since(start) < 15*time.Second; i++ {
		RequireAllowed(t, Probe(t, ct, "mkdir", fmt.Sprintf("/tmp/logged-%d", i)))
		time.Sleep(200 * time.Millisecond)
		recs, err := harness.SeccompAuditRecords(ctx(t), start)
		if err != nil {
			t.Fatalf("read audit records: %v", err)
		}
		for _, r := range recs {
			if r.Comm == "syscall-probe" && r.Syscall == 83 && r.Code == harness.SeccompRetLog {
				t.Logf("audit record (auditd running: %v): %s", harness.AuditdRunning(), r.Line)
				return
			}
		}
	}
	t.Fatalf("no SCMP_ACT_LOG audit record for mkdir within 15s (auditd running: %v; /proc/sys/kernel/seccomp/actions_logged must list log)", harness.AuditdRunning())
}

// TestBaselineSeccompFlags checks the two runc builds the harness installs:
// Debian's runc 1.1.5 refuses any seccomp flags, so a profile with
// SECCOMP_FILTER_FLAG_LOG cannot start a container; the runc 1.2.8 built by
// install.sh applies it. Scenarios about flags must run with Tools.Runc12.
func TestBaselineSeccompFlags(t *testing.T) {
	prof, err := filepath.Abs("testdata/profiles/flag-log.json")
	if err != nil {
		t.Fatal(err)
	}
	tools, err := harness.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	spec := harness.ContainerSpec{Name: "flags", Seccomp: harness.SeccompLocalhost, LocalhostRef: prof}

	old := StartContainerd(t, harness.ContainerdOptions{Runc: tools.Runc})
	pod := RunPod(t, old, harness.PodSpec{Name: "runc115", Namespace: "e2e-baseline"})
	ct, err := pod.CreateContainer(ctx(t), spec)
	if err == nil {
		err = ct.Start(ctx(t))
	}
	if err == nil || !strings.Contains(err.Error(), "seccomp flags") {
		t.Fatalf("runc 1.1.5 with seccomp flags: want a 'seccomp flags are not yet supported' failure, got %v", err)
	}

	c := StartContainerd(t, harness.ContainerdOptions{Runc: tools.Runc12})
	pod = RunPod(t, c, harness.PodSpec{Name: "runc128", Namespace: "e2e-baseline"})
	ct = RunContainer(t, pod, spec)
	RequireRefused(t, Probe(t, ct, "rmdir", "/tmp/none"), "EPERM")
	RequireAllowed(t, Probe(t, ct, "mkdir", "/tmp/flags"))
	if sc := SeccompOf(t, ct); sc == nil || fmt.Sprint(sc["flags"]) != "[SECCOMP_FILTER_FLAG_LOG]" {
		t.Fatalf("container spec seccomp flags = %v, want [SECCOMP_FILTER_FLAG_LOG]", sc["flags"])
	}
}
