package main

import (
	"context"
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
// a policy, one ordinary pod, and what happened inside it in plain words.
func cmdDemo(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	bin := fs.String("plugin", "", "nri-seccomp binary (required)")
	pol := fs.String("policy", "", "policy file (required)")
	_ = fs.Parse(args)
	if *bin == "" || *pol == "" {
		return errors.New("--plugin and --policy are required")
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("nri-seccomp binary: %w", err)
	}
	policy, err := filepath.Abs(*pol)
	if err != nil {
		return err
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

	step("1/6 building the test images (busybox + syscall-probe, pause) locally: no registry needed")
	t := time.Now()
	images, err := harness.BuildImages(ctx, root, filepath.Join(work, "images"))
	if err != nil {
		return err
	}
	say("done in %s", since(t))

	step("2/6 starting a private containerd 2.4.2 (CRI + NRI), all state under a temp dir")
	t = time.Now()
	c, err := harness.StartContainerd(ctx, harness.ContainerdOptions{Images: images})
	if err != nil {
		return err
	}
	defer func() {
		step("6/6 cleaning up: pods removed, nri-seccomp and containerd stopped")
		if serr := c.Stop(context.Background()); serr != nil {
			err = errors.Join(err, fmt.Errorf("cleanup: %w", serr))
			return
		}
		say("done; the whole demo took %s", since(total))
	}()
	say("ready in %s (socket %s)", since(t), c.Socket)

	pod := harness.PodSpec{Name: "web", Namespace: "demo"}
	app := harness.ContainerSpec{Name: "app"} // no seccomp asked for: what most Kubernetes pods do

	step("3/6 without nri-seccomp: a pod %q in namespace %q, asking for no seccomp profile (the Kubernetes default)", pod.Name, pod.Namespace)
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

	step("4/6 starting nri-seccomp with %s", relPath(root, policy))
	t = time.Now()
	plugin, err := c.StartPlugin(ctx, *bin, policy)
	if err != nil {
		return err
	}
	say("connected to containerd's NRI socket in %s", since(t))

	step("5/6 the same pod again, now that nri-seccomp is running")
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
	if d.Error != "" {
		say("nri-seccomp could not decide: %s", d.Error)
	} else if len(d.Rules) == 0 {
		say("no rule of the policy matched this container: nothing changed")
	} else {
		say("rules applied, in order: %s (mode %s; profile changed: %v)", strings.Join(d.Rules, ", "), orDash(d.Mode), d.Changed)
	}
	for _, call := range demoCalls {
		r, err := probe(ctx, after, call.args...)
		if err != nil {
			return err
		}
		say("inside the container, %s: %s", call.what, plain(r))
	}
	say("the decision log line nri-seccomp wrote for it:")
	say("  %s", d.Raw)
	return nil
}

// demoCalls are the syscalls the demo makes inside the container: two the
// default policy refuses (the first two, also shown before the plugin runs)
// and two ordinary ones that must keep working.
var demoCalls = []struct {
	what string
	args []string
}{
	{"keyctl() (the kernel keyring, not namespaced)", []string{"keyctl"}},
	{"io_uring_setup() (x86_64 syscall 425)", []string{"raw", "425", "1", "0"}},
	{"mkdir()", []string{"mkdir", "/tmp/demo"}},
	{"getpid()", []string{"getpid"}},
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
