package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// step prints one progress line; the demo's output is meant to be read.
func step(format string, args ...any) {
	fmt.Printf("[demo] "+format+"\n", args...)
}

func say(format string, args ...any) {
	fmt.Printf("       "+format+"\n", args...)
}

// cmdDemo is the README's "main job": a private containerd, nri-seccomp with
// a policy, ordinary pods, and what happened inside them in plain words. It
// shows both halves of the product: a syscall refused by the rule that says
// so, and an audit-mode rule's attempt turned into an event naming its pod.
// --policy may be a file or a directory; --trial, when given, is added to it
// as a second file of a policy directory.
func cmdDemo(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	bin := fs.String("plugin", "", "nri-seccomp binary (required)")
	pol := fs.String("policy", "", "policy file (required)")
	trial := fs.String("trial", "", "a policy file with an audit-mode rule for namespace "+trialNamespace+" (optional)")
	_ = fs.Parse(args)
	if *bin == "" || *pol == "" {
		return errors.New("--plugin and --policy are required")
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("nri-seccomp binary: %w", err)
	}
	total := time.Now()

	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "e2e-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	policy, err := demoPolicy(work, *pol, *trial)
	if err != nil {
		return err
	}
	pol0, err := loadPolicy(policy)
	if err != nil {
		return err
	}

	step("1/7 building the test images (busybox + syscall-probe, pause) locally: no registry needed")
	t := time.Now()
	images, err := harness.BuildImages(ctx, root, filepath.Join(work, "images"))
	if err != nil {
		return err
	}
	say("done in %s", since(t))

	step("2/7 starting a private containerd 2.4.2 (CRI + NRI), all state under a temp dir")
	t = time.Now()
	c, err := harness.StartContainerd(ctx, harness.ContainerdOptions{Images: images})
	if err != nil {
		return err
	}
	defer func() {
		step("7/7 cleaning up: pods removed, nri-seccomp and containerd stopped")
		if serr := c.Stop(context.Background()); serr != nil {
			err = errors.Join(err, fmt.Errorf("cleanup: %w", serr))
			return
		}
		say("done; the whole demo took %s", since(total))
		if err == nil {
			whatNext()
		}
	}()
	say("ready in %s (socket %s)", since(t), c.Socket)

	pod := harness.PodSpec{Name: "web", Namespace: "demo"}
	app := harness.ContainerSpec{Name: "app"} // no seccomp asked for: what most Kubernetes pods do

	step("3/7 without nri-seccomp: a pod %q in namespace %q, asking for no seccomp profile (the Kubernetes default)", pod.Name, pod.Namespace)
	p0, err := c.RunPod(ctx, harness.PodSpec{Name: "web-before", Namespace: pod.Namespace})
	if err != nil {
		return err
	}
	before, err := p0.RunContainer(ctx, app)
	if err != nil {
		return err
	}
	for _, call := range demoCalls[:2] {
		r, err := probe(ctx, before, call.args...)
		if err != nil {
			return err
		}
		say("inside the container, %s: %s", call.what, plain(r))
	}

	events := filepath.Join(work, "audit-events.jsonl")
	step("4/7 starting nri-seccomp with %s, auditing on (events also to %s)", policyName(root, *pol, *trial), filepath.Base(events))
	t = time.Now()
	plugin, err := c.StartPlugin(ctx, *bin, policy, "--audit", "--audit-events", events, "--audit-window", "1s")
	if err != nil {
		return err
	}
	say("connected to containerd's NRI socket in %s", since(t))

	step("5/7 the same pod again, now that nri-seccomp is running")
	p1, err := c.RunPod(ctx, pod)
	if err != nil {
		return err
	}
	after, err := p1.RunContainer(ctx, app)
	if err != nil {
		return fmt.Errorf("%w\nnri-seccomp log:\n%s", err, plugin.LogTail(10))
	}
	d, err := plugin.DecisionFor(pod.Namespace, pod.Name, app.Name)
	if err != nil {
		return err
	}
	sayDecision(d)
	for _, call := range demoCalls {
		r, err := probe(ctx, after, call.args...)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("inside the container, %s: %s", call.what, plain(r))
		if r.Errno == "EPERM" || r.Errno == "ENOSYS" {
			if rule := pol0.denyingRule(d.Rules, call.syscall); rule != "" {
				line += ", by rule " + rule
			}
		}
		say("%s", line)
	}
	say("the decision log line nri-seccomp wrote for it:")
	say("  %s", d.Raw)

	if *trial == "" {
		step("6/7 no --trial policy: the audit half is skipped")
		return nil
	}
	return demoTrial(ctx, c, plugin, events)
}

// trialNamespace is where the demo's audit-mode rule applies
// (policies/examples/demo-trial.yaml).
const trialNamespace = "demo-trial"

// demoTrial runs a container whose own process calls mkdir under the
// audit-mode rule: the call succeeds, and the kernel's record becomes an
// event attributed to the pod.
func demoTrial(ctx context.Context, c *harness.Containerd, plugin *harness.Plugin, events string) error {
	pod := harness.PodSpec{Name: "trial", Namespace: trialNamespace}
	step("6/7 audit mode: a pod %q in namespace %q, where rule trial-no-mkdir only logs what it would refuse", pod.Name, pod.Namespace)
	p, err := c.RunPod(ctx, pod)
	if err != nil {
		return err
	}
	// The container's own process makes the call: the plugin knows its PID
	// from the start, so the record is attributed even after it exits.
	ct, err := p.RunContainer(ctx, harness.ContainerSpec{Name: "app", Command: []string{harness.ProbePath, "mkdir", "/tmp/trial"}})
	if err != nil {
		return fmt.Errorf("%w\nnri-seccomp log:\n%s", err, plugin.LogTail(10))
	}
	d, err := plugin.DecisionFor(pod.Namespace, pod.Name, "app")
	if err != nil {
		return err
	}
	sayDecision(d)
	ev, err := waitTrialEvent(ctx, events, ct.ID, 20*time.Second)
	if err != nil {
		return fmt.Errorf("%w\nnri-seccomp log:\n%s", err, plugin.LogTail(10))
	}
	refused := "allowed (audit mode: logged, not refused)"
	if ev.Refused {
		refused = "REFUSED (audit mode should never refuse: this is a bug)"
	}
	say("inside the container, mkdir(): %s", refused)
	say("nri-seccomp's audit event: %s in namespace %s, pod %s, container %s (found by %s), decided by rules %s, action %s",
		ev.Syscall, ev.Namespace, ev.Pod, ev.Container, ev.Attribution, strings.Join(ev.Rules, ","), ev.Action)
	say("the event as JSON (input for `nri-seccomp audit report` and `record`):")
	say("  %s", ev.raw)
	if ev.Refused {
		return errors.New("the audit-mode call was refused")
	}
	return nil
}

// trialEvent is the part of an audit event (internal/live.Event) the demo shows.
type trialEvent struct {
	Namespace   string   `json:"namespace"`
	Pod         string   `json:"pod"`
	Container   string   `json:"container"`
	ContainerID string   `json:"container_id"`
	Attribution string   `json:"attribution"`
	Rules       []string `json:"rules"`
	Syscall     string   `json:"syscall"`
	Action      string   `json:"action"`
	Refused     bool     `json:"refused"`
	raw         string
}

// waitTrialEvent waits for the event of the trial container's mkdir.
func waitTrialEvent(ctx context.Context, path, id string, limit time.Duration) (trialEvent, error) {
	deadline := time.Now().Add(limit)
	for {
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return trialEvent{}, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			var ev trialEvent
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			if ev.Syscall == "mkdir" && ev.ContainerID == id {
				ev.raw = line
				return ev, nil
			}
		}
		if time.Now().After(deadline) {
			return trialEvent{}, fmt.Errorf("no audit event for the trial container's mkdir within %s", limit)
		}
		select {
		case <-ctx.Done():
			return trialEvent{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func sayDecision(d harness.Decision) {
	switch {
	case d.Error != "":
		say("nri-seccomp could not decide: %s", d.Error)
	case len(d.Rules) == 0:
		say("no rule of the policy matched this container: nothing changed")
	default:
		say("rules applied, in order: %s (mode %s; profile changed: %v)", strings.Join(d.Rules, ", "), orDash(d.Mode), d.Changed)
	}
}

func whatNext() {
	step("what to try next:")
	say("bin/nri-seccomp explain --policy policies/default-policy.yaml --namespace prod --profile-type Unconfined")
	say("    what the policy would do to a container, without containerd")
	say("docs/policy.md       writing rules: inject, tighten, exempt, audit mode")
	say("docs/audit.md        audit events, reports and record (least-privilege profiles)")
	say("deploy/README.md     Kubernetes (Helm, kustomize) and plain containerd nodes")
	say("make test            the tests (unit, property and integration)")
}

// demoPolicy returns the policy path the plugin runs: the policy itself, or
// a directory holding it and the trial file, in that order.
func demoPolicy(work, pol, trial string) (string, error) {
	abs, err := filepath.Abs(pol)
	if err != nil || trial == "" {
		return abs, err
	}
	dir := filepath.Join(work, "policy")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	for i, f := range []string{pol, trial} {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		name := fmt.Sprintf("%d-%s", i+1, filepath.Base(f))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func policyName(root, pol, trial string) string {
	if trial == "" {
		return relPath(root, pol)
	}
	return relPath(root, pol) + " + " + relPath(root, trial)
}

// demoCalls are the syscalls the demo makes inside the container: two the
// default policy refuses (the first two, also shown before the plugin runs)
// and two ordinary ones that must keep working.
var demoCalls = []struct {
	what, syscall string
	args          []string
}{
	{"keyctl() (the kernel keyring, not namespaced)", "keyctl", []string{"keyctl"}},
	{"io_uring_setup() (x86_64 syscall 425)", "io_uring_setup", []string{"raw", "425", "1", "0"}},
	{"mkdir()", "mkdir", []string{"mkdir", "/tmp/demo"}},
	{"getpid()", "getpid", []string{"getpid"}},
}

func probe(ctx context.Context, ct *harness.Container, args ...string) (harness.ProbeResult, error) {
	res, err := ct.Exec(ctx, append([]string{harness.ProbePath}, args...)...)
	if err != nil {
		return harness.ProbeResult{}, err
	}
	if res.ExitCode != 0 {
		return harness.ProbeResult{}, fmt.Errorf("syscall-probe %s exited %d (killed by seccomp?)", strings.Join(args, " "), res.ExitCode)
	}
	return harness.ParseProbe(res.Stdout)
}

func plain(r harness.ProbeResult) string {
	switch r.Errno {
	case "":
		return "allowed"
	case "EPERM":
		return "REFUSED by seccomp (EPERM, operation not permitted)"
	case "ENOSYS":
		return "REFUSED by seccomp (ENOSYS, as if the kernel lacked it: programs fall back)"
	case "EFAULT", "EINVAL":
		return "allowed (the kernel ran it and rejected the dummy arguments with " + r.Errno + ")"
	default:
		return "failed with " + r.Errno
	}
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func relPath(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
