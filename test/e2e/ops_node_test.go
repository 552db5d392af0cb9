//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// deploy/node's pre-installed layout: the binary as <plugin_path>/10-seccomp
// and deploy/node/etc/nri/conf.d/10-seccomp.conf (paths pointed at the test
// directory) as <plugin_config_path>/10-seccomp.conf. containerd starts the
// plugin itself when it starts, and waits for it before serving, so the
// first container after a containerd (re)start is already enforced: no
// window, even with no plugin process of our own.
func TestOpsPreinstalledLayout(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}})
	pod := RunPod(t, c, h.PodSpec{Name: "node", Namespace: "e2e-node"})

	pluginDir := filepath.Join(c.Dir, "nri", "plugins")
	confDir := filepath.Join(c.Dir, "nri", "conf.d")
	for _, d := range []string{pluginDir, confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pluginDir, "10-seccomp"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "node", "etc", "nri", "conf.d", "10-seccomp.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dlog := filepath.Join(c.Dir, "preinstalled-decisions.jsonl")
	rewritten := strings.NewReplacer(
		"/etc/nri-seccomp/policy.yaml", policyFile(t, "s9-restart.yaml"),
		"/var/log/nri-seccomp/decisions.jsonl", dlog,
	).Replace(string(conf))
	if rewritten == string(conf) || !strings.Contains(rewritten, dlog) {
		t.Fatalf("deploy/node's conf no longer names the paths this test rewrites:\n%s", conf)
	}
	if err := os.WriteFile(filepath.Join(confDir, "10-seccomp.conf"), []byte(rewritten), 0o644); err != nil {
		t.Fatal(err)
	}

	// Without the plugin: refused (required, absent).
	requireRefusedMissing(t, createAndProbe(t, pod, "before"), "no plugin yet")

	start := time.Now()
	if err := c.Restart(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Logf("containerd restarted with the pre-installed plugin in %s", time.Since(start).Round(time.Millisecond))
	// No wait for the plugin: containerd started it before serving.
	requireEnforced(t, createAndProbe(t, pod, "first-after-start"), "first creation after containerd started the pre-installed plugin")

	got, err := os.ReadFile(dlog)
	if err != nil || !strings.Contains(string(got), `"container":"first-after-start"`) {
		t.Fatalf("the decision log named in 10-seccomp.conf has no record of the container (%v):\n%s", err, got)
	}
}
