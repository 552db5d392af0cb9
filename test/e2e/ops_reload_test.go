//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

const (
	denyMkdirPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: no-mkdir
  match: {}
  action: tighten
  deny: [mkdir]
`
	denyRmdirPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: no-rmdir
  match: {}
  action: tighten
  deny: [rmdir]
`
	// A typo that would silently drop the rule in a lenient loader.
	typoPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: no-rmdir
  match: {}
  action: tighten
  denny: [rmdir]
`
)

// replaceFile writes content to path by rename, as editors and config
// management do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// requireMkdirRmdir runs a container and checks which of mkdir and rmdir
// seccomp refuses in it.
func requireMkdirRmdir(t *testing.T, pod *h.Pod, name string, mkdirRefused, rmdirRefused bool) {
	t.Helper()
	ct := RunContainer(t, pod, h.ContainerSpec{Name: name, Seccomp: h.SeccompRuntimeDefault})
	check := func(r h.ProbeResult, refused bool) {
		t.Helper()
		if refused {
			RequireRefused(t, r, "EPERM")
		} else {
			RequireAllowed(t, r)
		}
	}
	check(Probe(t, ct, "mkdir", "/tmp/d"), mkdirRefused)
	if !mkdirRefused {
		check(Probe(t, ct, "rmdir", "/tmp/d"), rmdirRefused)
	}
}

func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	code, body, err := h.HTTPGet(ctx(t), "http://"+addr+"/readyz")
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// Hot reload against real containerd: a policy edit reaches the next
// container without a restart; a broken edit is refused, the last good
// policy keeps being enforced and /readyz says so; SIGHUP reloads too.
func TestOpsHotReload(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}})
	pod := RunPod(t, c, h.PodSpec{Name: "reload", Namespace: "e2e-reload"})
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	replaceFile(t, policy, denyMkdirPolicy)
	addr, err := h.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := StartPlugin(t, c, bin, policy, "--metrics-addr", addr)
	requireMkdirRmdir(t, pod, "v1", true, false)
	if code, body := readyz(t, addr); code != 200 {
		t.Fatalf("/readyz = %d %q with a good policy and containerd connected", code, body)
	}

	// A file edit: picked up by the watcher.
	before := p.LogCount(`"msg":"policy reloaded"`)
	start := time.Now()
	replaceFile(t, policy, denyRmdirPolicy)
	if err := p.WaitLog(ctx(t), `"msg":"policy reloaded"`, before, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("file edit in force %s after the write", time.Since(start).Round(time.Millisecond))
	requireMkdirRmdir(t, pod, "v2", false, true)

	// A broken edit: refused, v2 stays, readiness goes red.
	before = p.LogCount("policy reload refused")
	replaceFile(t, policy, typoPolicy)
	if err := p.WaitLog(ctx(t), "policy reload refused", before, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.LogTail(20), "policy.yaml:7") {
		t.Errorf("the refusal does not name the line of the typo:\n%s", p.LogTail(20))
	}
	requireMkdirRmdir(t, pod, "v2-kept", false, true)
	if code, body := readyz(t, addr); code != 503 || !strings.Contains(body, "still enforcing revision") {
		t.Errorf("/readyz after a refused reload = %d %q, want 503 saying the old policy is still enforced", code, body)
	}

	// SIGHUP: the fixed policy is read at once.
	if err := os.WriteFile(policy, []byte(denyMkdirPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	before = p.LogCount(`"reason":"SIGHUP"`)
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitLog(ctx(t), `"reason":"SIGHUP"`, before, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	requireMkdirRmdir(t, pod, "v3", true, false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := readyz(t, addr)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q after the fix", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
