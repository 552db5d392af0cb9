//go:build e2e

package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// requireRefusedWith fails unless the creation was refused with a message
// containing want.
func requireRefusedWith(t *testing.T, o outcome, want, when string) {
	t.Helper()
	if o.refused == nil {
		t.Fatalf("%s: container was created (filtered=%v), want creation refused (%s)", when, o.filtered, want)
	}
	var ce *h.CommandError
	if !errors.As(o.refused, &ce) || !strings.Contains(ce.Stderr, want) {
		t.Fatalf("%s: creation failed, but not with %q: %v", when, want, o.refused)
	}
	t.Logf("CLOSED (%s): refused after %s", when, o.took.Round(time.Millisecond))
}

// deadValidator is how containerd words the refusal when the plugin, as a
// validator, cannot be reached on the connection NRI just closed.
const deadValidator = `validator plugin 10-` + pluginName + ` failed`

// The plugin's own ValidateContainerAdjustment (on by default) closes both
// windows TestScenario10FailClosed pins with validation off: after a crash
// and after a timeout, the creation that NRI would have let through
// unadjusted is refused, because NRI still calls the dead plugin as a
// validator for that creation. With required_plugins the following
// creations are refused as missing, as before. No container in this test is
// ever created without the profile.
func TestOpsFailClosedWithValidation(t *testing.T) {
	bin := pluginBin(t)
	const timeout = time.Second
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}, PluginRequestTimeout: timeout})
	pod := RunPod(t, c, h.PodSpec{Name: "opsclosed", Namespace: "e2e-opsclosed"})

	requireRefusedMissing(t, createAndProbe(t, pod, "absent"), "plugin never started")

	p := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	requireEnforced(t, createAndProbe(t, pod, "running"), "plugin running")

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	requireRefusedWith(t, createAndProbe(t, pod, "after-crash-1"), deadValidator, "first creation after the plugin was killed")
	requireRefusedMissing(t, createAndProbe(t, pod, "after-crash-2"), "second creation after the plugin was killed")

	if err := p.Restart(ctx(t)); err != nil {
		t.Fatal(err)
	}
	requireEnforced(t, createAndProbe(t, pod, "restarted"), "plugin restarted")

	if err := p.Freeze(); err != nil {
		t.Fatal(err)
	}
	hung := createAndProbe(t, pod, "hung-1")
	if hung.took < timeout {
		t.Fatalf("creation with a hung plugin took %s, less than plugin_request_timeout %s: the plugin was not called", hung.took, timeout)
	}
	requireRefusedWith(t, hung, deadValidator, "creation that hit plugin_request_timeout")
	requireRefusedMissing(t, createAndProbe(t, pod, "hung-2"), "next creation after the timeout")

	connects := c.ConnectCount()
	if err := p.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReconnected(ctx(t), connects, 30*time.Second); err != nil {
		t.Fatalf("plugin did not reconnect after recovering: %v", err)
	}
	requireEnforced(t, createAndProbe(t, pod, "recovered"), "plugin recovered and reconnected")
}

// Without required_plugins, validation still closes the one creation that
// races the crash; the creations after it are fail-open, which is why
// deploy/containerd requires the plugin.
func TestOpsValidationWithoutRequiredPlugins(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	pod := RunPod(t, c, h.PodSpec{Name: "opsopen", Namespace: "e2e-opsopen"})
	p := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	requireEnforced(t, createAndProbe(t, pod, "running"), "plugin running")
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	requireRefusedWith(t, createAndProbe(t, pod, "after-crash-1"), deadValidator, "first creation after the crash")
	o := createAndProbe(t, pod, "after-crash-2")
	if o.refused != nil || o.filtered {
		t.Fatalf("without required_plugins: want the second creation fail-open (created unfiltered), got refused=%v filtered=%v", o.refused, o.filtered)
	}
	t.Logf("WINDOW (no required_plugins): containers created without the plugin after it is dropped")
}

// The escape hatch of deploy/containerd/nri-seccomp.toml: a pod annotated
// with the tolerate annotation starts while the plugin is absent (the
// DaemonSet's own pod needs it), and an unannotated one in the same state is
// refused. Who may set the annotation is admission's job (the
// ValidatingAdmissionPolicy in deploy/kubernetes).
func TestOpsTolerateMissingAnnotation(t *testing.T) {
	const key = "tolerate-missing-nri-plugins.nri-seccomp.io"
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}, TolerateMissingAnnotation: key})
	plain := RunPod(t, c, h.PodSpec{Name: "plain", Namespace: "e2e-tolerate"})
	requireRefusedMissing(t, createAndProbe(t, plain, "plain"), "unannotated pod, plugin absent")

	tolerant := RunPod(t, c, h.PodSpec{Name: "plugin-itself", Namespace: "nri-seccomp", Annotations: map[string]string{key: "true"}})
	o := createAndProbe(t, tolerant, "tolerated")
	if o.refused != nil {
		t.Fatalf("annotated pod refused while the plugin is absent: %v", o.refused)
	}
	if o.filtered {
		t.Fatal("annotated pod filtered with no plugin running: the probe is wrong")
	}
}

// Upgrade of the DaemonSet itself: the new plugin pod is tolerated, but the
// first creation after the old plugin exited still goes to the old one's
// validator, which is gone, so even the tolerated container is refused once;
// the kubelet retries and the retry starts it. Pinned here because the docs
// promise exactly one refused attempt.
func TestOpsTolerateAfterCrashCostsOneRetry(t *testing.T) {
	bin := pluginBin(t)
	const key = "tolerate-missing-nri-plugins.nri-seccomp.io"
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}, TolerateMissingAnnotation: key})
	tolerant := RunPod(t, c, h.PodSpec{Name: "plugin-itself", Namespace: "nri-seccomp", Annotations: map[string]string{key: "true"}})
	p := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	if code, err := p.Stop(); err != nil || code != 0 {
		t.Fatalf("stop: %d %v", code, err)
	}
	requireRefusedWith(t, createAndProbe(t, tolerant, "new-plugin-1"), deadValidator, "first creation after the old plugin exited")
	if o := createAndProbe(t, tolerant, "new-plugin-2"); o.refused != nil {
		t.Fatalf("retry of the tolerated container refused: %v", o.refused)
	}
}
