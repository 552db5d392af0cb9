//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// ctx gives each harness call a generous bound so a wedged containerd fails
// the test instead of hanging it.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// StartContainerd starts a private containerd for this test and stops it,
// with everything it started, when the test ends. On failure the tail of
// containerd's log is printed.
func StartContainerd(t *testing.T, opts harness.ContainerdOptions) *harness.Containerd {
	t.Helper()
	opts.Images = images
	start := time.Now()
	c, err := harness.StartContainerd(ctx(t), opts)
	if err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	t.Logf("containerd ready in %s (CRI answering after %s, images imported in %s; dir %s)",
		time.Since(start).Round(time.Millisecond), c.ReadyIn.Round(time.Millisecond), c.ImportIn.Round(time.Millisecond), c.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", c.LogTail(40))
		}
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return c
}

// RunPod runs a pod sandbox and removes it at the end of the test.
func RunPod(t *testing.T, c *harness.Containerd, spec harness.PodSpec) *harness.Pod {
	t.Helper()
	start := time.Now()
	p, err := c.RunPod(ctx(t), spec)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("pod %s/%s running in %s", spec.Namespace, spec.Name, time.Since(start).Round(time.Millisecond))
	return p
}

// RunContainer creates and starts a long-running container (sleep) to exec
// probes in.
func RunContainer(t *testing.T, p *harness.Pod, spec harness.ContainerSpec) *harness.Container {
	t.Helper()
	start := time.Now()
	ct, err := p.RunContainer(ctx(t), spec)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("container %s started in %s", spec.Name, time.Since(start).Round(time.Millisecond))
	return ct
}

// Probe runs syscall-probe with args inside ct and returns its result.
func Probe(t *testing.T, ct *harness.Container, args ...string) harness.ProbeResult {
	t.Helper()
	res, err := ct.Exec(ctx(t), append([]string{harness.ProbePath}, args...)...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("syscall-probe %s in %s exited %d (output %q)", strings.Join(args, " "), ct.Spec.Name, res.ExitCode, res.Stdout)
	}
	r, err := harness.ParseProbe(res.Stdout)
	if err != nil {
		t.Fatalf("syscall-probe %s in %s: %v", strings.Join(args, " "), ct.Spec.Name, err)
	}
	if r.NoIA32() {
		if hostIA32 {
			t.Fatalf("syscall-probe %s in %s: %s, but the host's probe made a 32-bit call", strings.Join(args, " "), ct.Spec.Name, r.Error)
		}
		notRunIA32(t, ct.Spec.Name+": "+strings.Join(args, " "))
		return r
	}
	t.Logf("%s: %s", ct.Spec.Name, r)
	return r
}

// hostIA32 says whether this kernel has the 32-bit entry (int $0x80); set
// by TestMain from the probe run on the host.
var hostIA32 bool

// notRun lists the checks this kernel could not run, printed after the
// tests so that a green run says what it did not cover.
var notRun struct {
	sync.Mutex
	checks []string
}

// notRunIA32 records an i386 check that cannot run here: with IA-32
// emulation off the kernel has no 32-bit entry at all, so there is no
// 32-bit path to filter, and the filters' x86 part is covered by the
// libseccomp oracle tests (internal/profile, policies) instead.
func notRunIA32(t *testing.T, what string) {
	t.Helper()
	t.Logf("NOT RUN (IA-32 emulation off in this kernel): %s", what)
	notRun.Lock()
	notRun.checks = append(notRun.checks, t.Name()+": "+what)
	notRun.Unlock()
}

// ProbeExit runs syscall-probe and returns only its exit code, for calls the
// profile kills the process on.
func ProbeExit(t *testing.T, ct *harness.Container, args ...string) (int, string) {
	t.Helper()
	res, err := ct.Exec(ctx(t), append([]string{harness.ProbePath}, args...)...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return res.ExitCode, res.Stdout
}

// RequireAllowed fails unless the call was not refused by seccomp: it
// succeeded, or failed with an errno seccomp does not produce here.
func RequireAllowed(t *testing.T, r harness.ProbeResult) {
	t.Helper()
	if r.NoIA32() {
		return // recorded by Probe as not run
	}
	if r.Errno != "" || r.Error != "" {
		t.Fatalf("%s: want success, got %s", r.Syscall, r)
	}
}

// RequireRefused fails unless the call failed with errno.
func RequireRefused(t *testing.T, r harness.ProbeResult, errno string) {
	t.Helper()
	if r.NoIA32() {
		return // recorded by Probe as not run
	}
	if r.Errno != errno || r.Error != "" {
		t.Fatalf("%s: want %s, got %s", r.Syscall, errno, r)
	}
}

// pluginBin returns $NRI_SECCOMP_BIN, failing (not skipping) the test when it
// is unset or missing: a green run must mean the plugin was exercised.
func pluginBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("NRI_SECCOMP_BIN")
	if p == "" {
		t.Fatal("NRI_SECCOMP_BIN not set: build the plugin (make build) and set NRI_SECCOMP_BIN=$PWD/bin/nri-seccomp")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("NRI_SECCOMP_BIN=%s not found or not executable (%v)", p, err)
	}
	return p
}

// pluginName is the name nri-seccomp registers with by default (--name);
// the fail-closed tests require it in NRI's default validator.
const pluginName = "seccomp"

// policyFile returns the absolute path of a scenario policy in testdata.
func policyFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("policy %s: %v", name, err)
	}
	return p
}

// StartPlugin runs the real `nri-seccomp run` against c with the policy and
// waits until containerd has it connected; it is stopped (SIGTERM) at the
// end of the test, which must exit it cleanly.
func StartPlugin(t *testing.T, c *harness.Containerd, binaryPath, policyPath string, extraArgs ...string) *harness.Plugin {
	t.Helper()
	start := time.Now()
	p, err := c.StartPlugin(ctx(t), binaryPath, policyPath, extraArgs...)
	if err != nil {
		t.Fatalf("start nri-seccomp: %v", err)
	}
	t.Logf("nri-seccomp connected in %s (policy %s)", time.Since(start).Round(time.Millisecond), filepath.Base(policyPath))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nri-seccomp log tail:\n%s", p.LogTail(40))
		}
		if !p.Running() {
			return
		}
		code, err := p.Stop()
		if err != nil {
			t.Errorf("stop nri-seccomp: %v", err)
		} else if code != 0 {
			t.Errorf("nri-seccomp exited %d on SIGTERM, want 0; log tail:\n%s", code, p.LogTail(20))
		}
	})
	return p
}

// RequireDecision fetches the decision logged for a container and checks the
// rules applied (in order) and whether the profile changed.
func RequireDecision(t *testing.T, p *harness.Plugin, ct *harness.Container, rules []string, changed bool) harness.Decision {
	t.Helper()
	d, err := p.DecisionFor(ct.Pod.Spec.Namespace, ct.Pod.Spec.Name, ct.Spec.Name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("decision: %s", d.Raw)
	if d.Error != "" {
		t.Fatalf("decision for %s has error %q", ct.Spec.Name, d.Error)
	}
	if !slices.Equal(d.Rules, rules) && !(len(d.Rules) == 0 && len(rules) == 0) {
		t.Fatalf("decision for %s: rules %q, want %q", ct.Spec.Name, d.Rules, rules)
	}
	if d.Changed != changed {
		t.Fatalf("decision for %s: changed=%v, want %v", ct.Spec.Name, d.Changed, changed)
	}
	return d
}

// SeccompOf returns the seccomp section of the OCI spec containerd created
// the container with (nil when it has none), as crictl inspect shows it.
func SeccompOf(t *testing.T, ct *harness.Container) map[string]any {
	t.Helper()
	v, err := ct.Inspect(ctx(t))
	if err != nil {
		t.Fatalf("%v", err)
	}
	info, _ := v["info"].(map[string]any)
	spec, _ := info["runtimeSpec"].(map[string]any)
	if spec == nil {
		t.Fatalf("crictl inspect %s: no info.runtimeSpec", ct.Spec.Name)
	}
	linux, _ := spec["linux"].(map[string]any)
	sc, _ := linux["seccomp"].(map[string]any)
	return sc
}
