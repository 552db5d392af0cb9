//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// Scenario 1: an Unconfined pod in a namespace whose rule injects
// runtime-default: keyctl (refused by that profile) fails with EPERM; the
// same pod spec before the plugin runs can call it.
func TestScenario1InjectRuntimeDefault(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "inject", Namespace: "e2e-inject"})

	before := RunContainer(t, pod, h.ContainerSpec{Name: "before", Seccomp: h.SeccompUnconfined})
	RequireAllowed(t, Probe(t, before, "keyctl"))
	if sc := SeccompOf(t, before); sc != nil {
		t.Fatalf("an Unconfined container without the plugin has seccomp %v", sc)
	}

	p := StartPlugin(t, c, bin, policyFile(t, "s1-inject.yaml"))
	after := RunContainer(t, pod, h.ContainerSpec{Name: "after", Seccomp: h.SeccompUnconfined})
	RequireRefused(t, Probe(t, after, "keyctl"), "EPERM")
	RequireAllowed(t, Probe(t, after, "mkdir", "/tmp/s1"))
	RequireAllowed(t, Probe(t, after, "getpid"))
	if SeccompOf(t, after) == nil {
		t.Fatal("the injected container has no seccomp section in its OCI spec")
	}
	RequireDecision(t, p, after, []string{"inject-runtime-default"}, true)

	// NRI acts at creation only: the container created before keeps running
	// without a profile.
	RequireAllowed(t, Probe(t, before, "keyctl"))

	// The rule names a namespace: elsewhere nothing changes.
	other := RunPod(t, c, h.PodSpec{Name: "other", Namespace: "e2e-other"})
	untouched := RunContainer(t, other, h.ContainerSpec{Name: "untouched", Seccomp: h.SeccompUnconfined})
	RequireAllowed(t, Probe(t, untouched, "keyctl"))
	RequireDecision(t, p, untouched, nil, false)
}

// Scenario 2: a RuntimeDefault container tightened by a deny list: the
// denied syscall fails, what RuntimeDefault allowed still works, and
// RuntimeDefault's own refusals are kept.
func TestScenario2TightenRuntimeDefault(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "tighten", Namespace: "e2e-tighten"})

	before := RunContainer(t, pod, h.ContainerSpec{Name: "before", Seccomp: h.SeccompRuntimeDefault})
	RequireAllowed(t, Probe(t, before, "mkdir", "/tmp/s2"))

	p := StartPlugin(t, c, bin, policyFile(t, "s2-tighten.yaml"))
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "tightened", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, ct, "mkdir", "/tmp/s2"), "EPERM")
	// A deny list names syscalls: mkdirat is another syscall and still works.
	RequireAllowed(t, Probe(t, ct, "mkdirat", "/tmp/s2at"))
	RequireAllowed(t, Probe(t, ct, "getpid"))
	RequireAllowed(t, Probe(t, ct, "i386", "getpid"))
	// RuntimeDefault's own refusals survive the tightening, on both entries.
	RequireRefused(t, Probe(t, ct, "keyctl"), "EPERM")
	RequireRefused(t, Probe(t, ct, "i386", "keyctl"), "EPERM")
	RequireRefused(t, Probe(t, ct, "unshare"), "EPERM")
	RequireDecision(t, p, ct, []string{"no-mkdir"}, true)
}

// Scenario 3: a Localhost profile that allows keyctl, under a policy floor
// that denies it: keyctl is refused, and the profile's own refusal (rmdir)
// is kept.
func TestScenario3LocalhostUnderFloor(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	prof, err := filepath.Abs("testdata/profiles/allow-most.json")
	if err != nil {
		t.Fatal(err)
	}
	pod := RunPod(t, c, h.PodSpec{Name: "localhost", Namespace: "e2e-localhost"})
	spec := func(name string) h.ContainerSpec {
		return h.ContainerSpec{Name: name, Seccomp: h.SeccompLocalhost, LocalhostRef: prof}
	}

	before := RunContainer(t, pod, spec("before"))
	RequireAllowed(t, Probe(t, before, "keyctl"))
	RequireRefused(t, Probe(t, before, "rmdir", "/tmp/none"), "EPERM")

	p := StartPlugin(t, c, bin, policyFile(t, "s3-localhost.yaml"))
	ct := RunContainer(t, pod, spec("floored"))
	RequireRefused(t, Probe(t, ct, "keyctl"), "EPERM")
	RequireRefused(t, Probe(t, ct, "i386", "keyctl"), "EPERM")
	RequireRefused(t, Probe(t, ct, "rmdir", "/tmp/none"), "EPERM")
	RequireAllowed(t, Probe(t, ct, "mkdir", "/tmp/s3"))
	RequireDecision(t, p, ct, []string{"floor"}, true)
}

// Scenario 4: a privileged container, which containerd runs with no seccomp
// at all, gets the profile the policy names.
func TestScenario4Privileged(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "privileged", Namespace: "e2e-privileged", Privileged: true})

	before := RunContainer(t, pod, h.ContainerSpec{Name: "before", Privileged: true})
	RequireAllowed(t, Probe(t, before, "keyctl"))
	if sc := SeccompOf(t, before); sc != nil {
		t.Fatalf("a privileged container without the plugin has seccomp %v", sc)
	}

	p := StartPlugin(t, c, bin, policyFile(t, "s4-privileged.yaml"))
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "confined", Privileged: true})
	RequireRefused(t, Probe(t, ct, "keyctl"), "EPERM")
	RequireAllowed(t, Probe(t, ct, "mkdir", "/tmp/s4"))
	RequireDecision(t, p, ct, []string{"privileged-gets-runtime-default"}, true)
}

// Scenario 6: an exempt namespace: nothing changes, and the decision says
// so; the same policy does apply in another namespace.
func TestScenario6Exempt(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	p := StartPlugin(t, c, bin, policyFile(t, "s6-exempt.yaml"))

	pod := RunPod(t, c, h.PodSpec{Name: "agent", Namespace: "e2e-exempt"})
	rd := RunContainer(t, pod, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})
	RequireAllowed(t, Probe(t, rd, "mkdir", "/tmp/s6"))
	RequireRefused(t, Probe(t, rd, "keyctl"), "EPERM") // still RuntimeDefault, untouched
	d := RequireDecision(t, p, rd, []string{"exempt-e2e"}, false)
	if !d.Exempt {
		t.Fatalf("decision for an exempt container has exempt=false: %s", d.Raw)
	}
	unconfined := RunContainer(t, pod, h.ContainerSpec{Name: "unconfined", Seccomp: h.SeccompUnconfined})
	RequireAllowed(t, Probe(t, unconfined, "keyctl"))
	if sc := SeccompOf(t, unconfined); sc != nil {
		t.Fatalf("an exempt Unconfined container got seccomp %v", sc)
	}
	RequireDecision(t, p, unconfined, []string{"exempt-e2e"}, false)

	other := RunPod(t, c, h.PodSpec{Name: "app", Namespace: "e2e-notexempt"})
	ct := RunContainer(t, other, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, ct, "mkdir", "/tmp/s6"), "EPERM")
	RequireDecision(t, p, ct, []string{"floor"}, true)
}

// Scenario 7: SCMP_ACT_KILL_PROCESS kills the calling process (exit status
// 128+SIGSYS) and an errno other than EPERM is returned as configured.
func TestScenario7ActionsAndErrno(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	p := StartPlugin(t, c, bin, policyFile(t, "s7-actions.yaml"))
	pod := RunPod(t, c, h.PodSpec{Name: "actions", Namespace: "e2e-actions"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})

	RequireRefused(t, Probe(t, ct, "mkdir", "/tmp/s7"), "ENOSYS")
	RequireAllowed(t, Probe(t, ct, "getpid"))
	RequireRefused(t, Probe(t, ct, "keyctl"), "EPERM")

	code, out := ProbeExit(t, ct, "rmdir", "/tmp/none")
	if code != 128+31 {
		t.Fatalf("rmdir under SCMP_ACT_KILL_PROCESS: exit %d (output %q), want 159 (killed by SIGSYS)", code, out)
	}
	if out != "" {
		t.Fatalf("rmdir under SCMP_ACT_KILL_PROCESS printed %q: the process was not killed before printing", out)
	}
	// Only the calling process dies: the container's own process runs on.
	RequireAllowed(t, Probe(t, ct, "getpid"))

	// As the container's main process, the kill ends the container.
	victim := RunContainer(t, pod, h.ContainerSpec{Name: "victim", Seccomp: h.SeccompRuntimeDefault,
		Command: []string{h.ProbePath, "rmdir", "/tmp/none"}})
	exit, err := victim.Wait(ctx(t), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if exit != 159 {
		t.Fatalf("container whose process calls rmdir exited %d, want 159", exit)
	}
	RequireDecision(t, p, ct, []string{"actions"}, true)
}

// Scenario 8: a denied syscall made through the 32-bit entry (int $0x80,
// AUDIT_ARCH_I386, i386 numbering) is refused too, while other i386 calls
// still work (the profile lists the x86 architecture).
func TestScenario8MultiArch(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "multiarch", Namespace: "e2e-multiarch"})

	before := RunContainer(t, pod, h.ContainerSpec{Name: "before", Seccomp: h.SeccompUnconfined})
	RequireAllowed(t, Probe(t, before, "i386", "mkdir", "/tmp/s8"))

	p := StartPlugin(t, c, bin, policyFile(t, "s8-multiarch.yaml"))
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "after", Seccomp: h.SeccompUnconfined})
	RequireRefused(t, Probe(t, ct, "mkdir", "/tmp/s8"), "EPERM")
	RequireRefused(t, Probe(t, ct, "i386", "mkdir", "/tmp/s8"), "EPERM")
	RequireRefused(t, Probe(t, ct, "i386", "rmdir", "/tmp/none"), "EPERM")
	RequireRefused(t, Probe(t, ct, "i386", "keyctl"), "EPERM")
	RequireAllowed(t, Probe(t, ct, "i386", "getpid"))
	// i386 mkdir is 39, which is getpid on x86_64: the filter must check the
	// architecture before the number, or one of these two would be wrong.
	RequireAllowed(t, Probe(t, ct, "raw", "39"))
	RequireDecision(t, p, ct, []string{"inject-runtime-default", "no-mkdir"}, true)
}

// Scenario 9: the plugin is killed and started again while containerd runs,
// then containerd restarts under a running plugin: each time the plugin is
// connected again and the next containers are enforced.
func TestScenario9PluginAndContainerdRestart(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	p := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	pod := RunPod(t, c, h.PodSpec{Name: "restart", Namespace: "e2e-restart"})

	first := RunContainer(t, pod, h.ContainerSpec{Name: "first", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, first, "mkdir", "/tmp/s9"), "EPERM")

	// A crash: SIGKILL, then the process manager starts it again.
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(ctx(t)); err != nil {
		t.Fatalf("plugin restart: %v", err)
	}
	second := RunContainer(t, pod, h.ContainerSpec{Name: "second", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, second, "mkdir", "/tmp/s9"), "EPERM")
	RequireDecision(t, p, second, []string{"no-mkdir"}, true)

	// containerd restarts (upgrade, crash): the plugin's connection closes
	// and it must reconnect on its own, without being restarted.
	connects := c.ConnectCount()
	if err := c.Restart(ctx(t)); err != nil {
		t.Fatalf("containerd restart: %v", err)
	}
	if err := p.WaitReconnected(ctx(t), connects, 30*time.Second); err != nil {
		t.Fatalf("after a containerd restart: %v", err)
	}
	if !p.Running() {
		t.Fatalf("nri-seccomp exited when containerd restarted (%v)", p.ExitErr())
	}
	third := RunContainer(t, pod, h.ContainerSpec{Name: "third", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, third, "mkdir", "/tmp/s9"), "EPERM")
	RequireDecision(t, p, third, []string{"no-mkdir"}, true)
	// Containers survive the restart with their filter.
	RequireRefused(t, Probe(t, first, "mkdir", "/tmp/s9b"), "EPERM")
}
