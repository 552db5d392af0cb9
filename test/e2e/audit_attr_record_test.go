//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// privateAuditd: harness.PrivateAuditd (shared with the cluster test).
func privateAuditd(t *testing.T) string { return h.PrivateAuditd(t) }

// learnPolicy logs every syscall RuntimeDefault allows (audit mode of a rule
// that would refuse everything) in e2e-learn.
const learnPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  refuse-all: {inline: {defaultAction: SCMP_ACT_ERRNO}}
rules:
- name: learn
  match: {namespaces: [e2e-learn]}
  action: tighten
  profile: refuse-all
  mode: audit
`

// The rollout the docs describe, for real: audit mode logs what a workload
// calls, `record` turns the events into a profile, and a tighten rule with
// that profile enforces it: the same workload starts and runs, a syscall it
// never made is refused.
func TestAuditRecordThenEnforce(t *testing.T) {
	bin := pluginBin(t)
	privateAuditd(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	events := filepath.Join(c.Dir, "audit-events.jsonl")
	p := StartPlugin(t, c, bin, writePolicy(t, learnPolicy), "--audit", "--audit-events", events, "--audit-window", "1s")
	if !strings.Contains(p.LogTail(200), "reading seccomp audit records") {
		t.Fatalf("the daemon does not say where it reads records:\n%s", p.LogTail(50))
	}

	workload := []string{h.ProbePath, "mkdir", "/tmp/learned"}
	pod := RunPod(t, c, h.PodSpec{Name: "rec", Namespace: "e2e-learn"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "app", Seccomp: h.SeccompRuntimeDefault, Command: workload})
	if code, err := ct.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		t.Fatalf("learning run: exit %d, %v", code, err)
	}
	waitEvent(t, events, 15*time.Second, "for the workload's mkdir", func(ev live.Event) bool {
		return ev.Syscall == "mkdir" && ev.Pod == "rec" && ev.Container == "app"
	})
	// A workload that does nothing, under runc 1.1.5 (this also waits out
	// the rest of the burst and the window's summaries).
	requireBaseCovers(t, c, events)

	profilePath := filepath.Join(t.TempDir(), "recorded.json")
	out, err := exec.CommandContext(ctx(t), bin, "record", "--log", events, "--namespace", "e2e-learn", "--pod", "rec", "-o", profilePath).CombinedOutput()
	if err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	t.Logf("record: %s", out)
	data, err := os.ReadFile(profilePath)
	if err != nil {
		t.Fatal(err)
	}
	var prof specs.LinuxSeccomp
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatalf("recorded profile: %v\n%s", err, data)
	}
	allowed := map[string]bool{}
	for _, s := range prof.Syscalls {
		for _, n := range s.Names {
			allowed[n] = true
		}
	}
	if prof.DefaultAction != specs.ActErrno || !allowed["mkdir"] || !allowed["execve"] || allowed["rmdir"] {
		t.Fatalf("recorded profile: default %s, mkdir %v execve %v rmdir %v:\n%s", prof.DefaultAction, allowed["mkdir"], allowed["execve"], allowed["rmdir"], data)
	}
	lintRecorded(t, bin, profilePath)
	// Which of the base set the recording saw: the base set must be a
	// superset of what runc and process start-up needed here.
	seen := map[string]bool{}
	for _, ev := range readEvents(t, events) {
		if ev.Pod == "rec" {
			seen[ev.Syscall] = true
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	t.Logf("syscalls logged for the workload: %s", strings.Join(names, " "))

	// Enforce: a new daemon with the recorded profile.
	if code, err := p.Stop(); err != nil || code != 0 {
		t.Fatalf("stop the learning daemon: %d %v", code, err)
	}
	// The base set alone must start a container that does nothing.
	baseProf, err := json.Marshal(specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: runc.RuntimeBase, Action: specs.ActAllow}}})
	if err != nil {
		t.Fatal(err)
	}
	basePath := filepath.Join(t.TempDir(), "base.json")
	if err := os.WriteFile(basePath, baseProf, 0o644); err != nil {
		t.Fatal(err)
	}
	enforce := fmt.Sprintf(`apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  recorded: {file: %s}
  base: {file: %s}
rules:
- name: recorded
  match: {namespaces: [e2e-enforce]}
  action: tighten
  profile: recorded
- name: base
  match: {namespaces: [e2e-base]}
  action: tighten
  profile: base
`, profilePath, basePath)
	enforcePath := writePolicy(t, enforce)
	// Under the harness's default runtime, Debian's runc 1.1.5, on the
	// containerd the recording ran on.
	p2 := StartPlugin(t, c, bin, enforcePath)
	enforceRecorded(t, c, p2, workload)

	// And under runc 1.2.8, which does more after installing the filter
	// (issue 13: a recorded profile must start the container under both).
	tools, err := h.FindTools()
	if err != nil {
		t.Fatal(err)
	}
	c12 := StartContainerd(t, h.ContainerdOptions{Runc: tools.Runc12})
	events12 := filepath.Join(c12.Dir, "audit-events.jsonl")
	learn12 := StartPlugin(t, c12, bin, writePolicy(t, learnPolicy), "--audit", "--audit-events", events12, "--audit-window", "1s")
	requireBaseCovers(t, c12, events12)
	if code, err := learn12.Stop(); err != nil || code != 0 {
		t.Fatalf("stop the learning daemon (runc 1.2.8): %d %v", code, err)
	}
	p12 := StartPlugin(t, c12, bin, enforcePath)
	enforceRecorded(t, c12, p12, workload)
}

// requireBaseCovers runs a workload that does nothing (busybox true) in
// e2e-learn on c, where a learning daemon writes events: what is logged for
// it is what the runtime (after installing the filter) and process start-up
// need, which runc.RuntimeBase must cover, or a recorded profile could keep
// containers from starting.
func requireBaseCovers(t *testing.T, c *h.Containerd, events string) {
	t.Helper()
	noopPod := RunPod(t, c, h.PodSpec{Name: "noop", Namespace: "e2e-learn"})
	noop := RunContainer(t, noopPod, h.ContainerSpec{Name: "true", Seccomp: h.SeccompRuntimeDefault, Command: []string{"/bin/busybox", "true"}})
	if code, err := noop.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		t.Fatalf("%s: noop run: exit %d, %v", c.Opts.Runc, code, err)
	}
	waitEvent(t, events, 15*time.Second, "for the noop container's execve", func(ev live.Event) bool {
		return ev.Syscall == "execve" && ev.Pod == "noop"
	})
	time.Sleep(2 * time.Second) // the rest of the burst
	var missing, seen []string
	for _, ev := range readEvents(t, events) {
		if ev.Pod != "noop" || slices.Contains(seen, ev.Syscall) {
			continue
		}
		seen = append(seen, ev.Syscall)
		if !slices.Contains(runc.RuntimeBase, ev.Syscall) {
			missing = append(missing, ev.Syscall)
		}
	}
	slices.Sort(seen)
	t.Logf("%s: syscalls logged for a container running busybox true: %s", c.Opts.Runc, strings.Join(seen, " "))
	if len(missing) > 0 {
		t.Errorf("%s: runc.RuntimeBase lacks %v, which runc and a trivial process needed here", c.Opts.Runc, missing)
	}
}

// lintRecorded runs `nri-seccomp profile lint --output json` on a recorded
// profile: what record writes must pass the project's own lint (exit 0, no
// warning or error).
func lintRecorded(t *testing.T, bin, profilePath string) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), bin, "profile", "lint", "--output", "json", profilePath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("profile lint of the recorded profile: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	var res struct {
		Problems bool `json:"problems"`
		Findings []struct {
			Severity, Check, Field, Message string
		} `json:"findings"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("profile lint --output json: %v\n%s", err, out)
	}
	for _, f := range res.Findings {
		if f.Severity != "info" {
			t.Errorf("profile lint of the recorded profile: %s: %s: %s: %s", f.Severity, f.Check, f.Field, f.Message)
		}
	}
	if res.Problems {
		t.Errorf("profile lint of the recorded profile says problems:\n%s", out)
	}
	t.Logf("profile lint: %d findings, all info", len(res.Findings))
}

// enforceRecorded runs, on c with the enforcing daemon p: the recorded
// workload under the recorded profile (starts, its mkdir allowed), a
// syscall it never made (rmdir, refused with EPERM), and `busybox true`
// under runc.RuntimeBase alone (starts).
func enforceRecorded(t *testing.T, c *h.Containerd, p *h.Plugin, workload []string) {
	t.Helper()
	pod := RunPod(t, c, h.PodSpec{Name: "prod", Namespace: "e2e-enforce"})
	same := RunContainer(t, pod, h.ContainerSpec{Name: "app", Seccomp: h.SeccompRuntimeDefault, Command: workload})
	RequireDecision(t, p, same, []string{"recorded"}, true)
	if code, err := same.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		logs, _ := same.Logs(ctx(t))
		t.Fatalf("%s: the recorded workload under its profile: exit %d, %v; output %q", c.Opts.Runc, code, err, logs)
	}
	logs, _ := same.Logs(ctx(t))
	r, err := h.ParseProbe(logs)
	if err != nil {
		t.Fatalf("probe output %q: %v", logs, err)
	}
	RequireAllowed(t, r)
	other := RunContainer(t, pod, h.ContainerSpec{Name: "other", Seccomp: h.SeccompRuntimeDefault,
		Command: []string{h.ProbePath, "rmdir", "/tmp"}})
	if code, err := other.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		t.Fatalf("%s: other workload: exit %d, %v", c.Opts.Runc, code, err)
	}
	logs, _ = other.Logs(ctx(t))
	r, err = h.ParseProbe(logs)
	if err != nil {
		t.Fatalf("probe output %q: %v", logs, err)
	}
	RequireRefused(t, r, "EPERM")

	basePod := RunPod(t, c, h.PodSpec{Name: "base", Namespace: "e2e-base"})
	bt := RunContainer(t, basePod, h.ContainerSpec{Name: "true", Seccomp: h.SeccompRuntimeDefault, Command: []string{"/bin/busybox", "true"}})
	RequireDecision(t, p, bt, []string{"base"}, true)
	if code, err := bt.Wait(ctx(t), 10*time.Second); err != nil || code != 0 {
		logs, _ := bt.Logs(ctx(t))
		t.Fatalf("%s: busybox true under runc.RuntimeBase alone: exit %d, %v; output %q", c.Opts.Runc, code, err, logs)
	}
}
