//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// TestPostureDefaultErrno: a container whose profile refuses by default with
// an errno other than EPERM (a Localhost profile: RuntimeDefault with
// defaultErrnoRet ENOSYS), tightened by the policy. NRI's runtime side drops
// the default errno when containerd writes the plugin's answer into the OCI
// spec, so the decision's digest must be of the section without it: posture
// finds the container as-decided, not "differs" (the false problem of
// before), the decision says the errno was dropped, and a call the default
// refuses fails with EPERM, as the section without it says.
func TestPostureDefaultErrno(t *testing.T) {
	bin := pluginBin(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "policies", "profiles", "runtime-default.json"))
	if err != nil {
		t.Fatal(err)
	}
	var prof map[string]any
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatal(err)
	}
	prof["defaultErrnoRet"] = 38 // ENOSYS
	data, err = json.Marshal(prof)
	if err != nil {
		t.Fatal(err)
	}
	profPath := filepath.Join(t.TempDir(), "runtime-default-enosys.json")
	if err := os.WriteFile(profPath, data, 0o644); err != nil {
		t.Fatal(err)
	}

	c := StartContainerd(t, h.ContainerdOptions{})
	p := StartPlugin(t, c, bin, policyFile(t, "s13-posture.yaml"))
	pod := RunPod(t, c, h.PodSpec{Name: "enosys", Namespace: "e2e-posture-errno"})
	ct := RunContainer(t, pod, h.ContainerSpec{Name: "app", Seccomp: h.SeccompLocalhost, LocalhostRef: profPath})
	RequireRefused(t, Probe(t, ct, "mkdir", "/tmp/posture-errno"), "EPERM")
	// What the default refuses fails with EPERM, not the profile's ENOSYS:
	// the runtime ran the section without its default errno.
	RequireRefused(t, Probe(t, ct, "unshare"), "EPERM")
	decision := RequireDecision(t, p, ct, []string{"posture-floor"}, true)
	if !strings.Contains(decision.Raw, "defaultErrnoRet 38 is dropped") {
		t.Errorf("the decision does not note the dropped default errno: %s", decision.Raw)
	}

	_, rows, raw := runPosture(t, bin, c.Socket, p.DecisionLog)
	r, found := findRow(rows, ct.ID)
	if !found || r.Class != "decided" || r.Filter != "as-decided" || r.Problem != "" ||
		r.SeccompDigest != decision.Digest || r.DecidedDigest != decision.Digest ||
		!slices.Equal(r.Rules, []string{"posture-floor"}) {
		t.Errorf("container %s: found=%v row %+v, want decided, as-decided, digest %s\n%s", ct.ID, found, r, decision.Digest, raw)
	}
}
