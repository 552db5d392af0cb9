//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/learn"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// `record --no-new-privs` for real, under runc 1.1.5 and 1.2.8: with
// no_new_privs, what runc itself calls under the filter is within
// runc.RuntimeBaseNoNewPrivs; the recorded profile starts the same
// container with no_new_privs; and applied to a container WITHOUT
// no_new_privs it fails loudly: the container does not start, and the
// error says why.
func TestRecordNoNewPrivs(t *testing.T) {
	bin := pluginBin(t)
	privateAuditd(t)
	tools, err := h.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	for _, runc := range []string{"", tools.Runc12} {
		name := "runc 1.1.5"
		if runc != "" {
			name = "runc 1.2.8"
		}
		t.Run(name, func(t *testing.T) { recordNoNewPrivs(t, bin, runc) })
	}
}

func recordNoNewPrivs(t *testing.T, bin, runcBin string) {
	c := StartContainerd(t, h.ContainerdOptions{Runc: runcBin})
	events := filepath.Join(c.Dir, "audit-events.jsonl")
	learning := StartPlugin(t, c, bin, writePolicy(t, learnPolicy), "--audit", "--audit-events", events, "--audit-window", "1s")
	workload := []string{h.ProbePath, "mkdir", "/tmp/learned"}
	pod := RunPod(t, c, h.PodSpec{Name: "nnp", Namespace: "e2e-learn"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "app", Seccomp: h.SeccompRuntimeDefault, NoNewPrivs: true, Command: workload})
	if code, err := ct.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		t.Fatalf("learning run: exit %d, %v", code, err)
	}
	waitEvent(t, events, 15*time.Second, "for the workload's mkdir", func(ev live.Event) bool {
		return ev.Syscall == "mkdir" && ev.Pod == "nnp"
	})
	time.Sleep(2 * time.Second) // the rest of the burst
	var runcCalls, missing []string
	for _, ev := range readEvents(t, events) {
		if ev.Pod != "nnp" || !strings.HasPrefix(ev.Comm, "runc:") || slices.Contains(runcCalls, ev.Syscall) {
			continue
		}
		runcCalls = append(runcCalls, ev.Syscall)
		if !slices.Contains(runc.RuntimeBaseNoNewPrivs, ev.Syscall) {
			missing = append(missing, ev.Syscall)
		}
	}
	slices.Sort(runcCalls)
	t.Logf("runc's own calls under the filter with no_new_privs: %s", strings.Join(runcCalls, " "))
	if len(runcCalls) == 0 || slices.Contains(runcCalls, "capset") {
		t.Fatalf("runc under no_new_privs: %v (expected its late-filter calls, no capset)", runcCalls)
	}
	if len(missing) > 0 {
		t.Errorf("runc.RuntimeBaseNoNewPrivs lacks %v, which runc called under the filter with no_new_privs", missing)
	}
	if code, err := learning.Stop(); err != nil || code != 0 {
		t.Fatalf("stop the learning daemon: %d %v", code, err)
	}

	profilePath := filepath.Join(t.TempDir(), "recorded.json")
	out, err := exec.CommandContext(ctx(t), bin, "record", "--no-new-privs", "--log", events, "--namespace", "e2e-learn", "--pod", "nnp", "-o", profilePath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), learn.NoNewPrivsNote) {
		t.Fatalf("record --no-new-privs: %v\n%s", err, out)
	}
	// `profile lint` names what the profile lacks for containers without
	// no_new_privs.
	lint, _ := exec.CommandContext(ctx(t), bin, "profile", "lint", profilePath).CombinedOutput()
	if !strings.Contains(string(lint), "capset") {
		t.Errorf("profile lint does not name capset:\n%s", lint)
	}

	p := StartPlugin(t, c, bin, writePolicy(t, fmt.Sprintf(`apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  recorded: {file: %s}
rules:
- name: recorded
  match: {namespaces: [e2e-enforce]}
  action: tighten
  profile: recorded
`, profilePath)))
	prod := RunPod(t, c, h.PodSpec{Name: "prod", Namespace: "e2e-enforce"})
	same := RunContainer(t, prod, h.ContainerSpec{Name: "app", Seccomp: h.SeccompRuntimeDefault, NoNewPrivs: true, Command: workload})
	RequireDecision(t, p, same, []string{"recorded"}, true)
	if code, err := same.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		logs, _ := same.Logs(ctx(t))
		t.Fatalf("with no_new_privs, under the recorded profile: exit %d, %v; output %q", code, err, logs)
	}
	logs, _ := same.Logs(ctx(t))
	r, err := h.ParseProbe(logs)
	if err != nil {
		t.Fatalf("probe output %q: %v", logs, err)
	}
	RequireAllowed(t, r)

	// The misuse: the same profile, a container without no_new_privs.
	_, err = prod.RunContainer(ctx(t), h.ContainerSpec{Name: "plain", Seccomp: h.SeccompRuntimeDefault, Command: workload})
	if err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Fatalf("without no_new_privs under a --no-new-privs profile: %v (want a start failure, operation not permitted)", err)
	}
	t.Logf("without no_new_privs, as expected: %v", err)
}
