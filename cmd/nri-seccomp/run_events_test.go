package main

import (
	"path/filepath"
	"testing"
)

// --kube-events refuses to start without a reachable configuration, and its
// server flag alone is a usage error.
func TestRunKubeEventsFlags(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	sock := filepath.Join(t.TempDir(), "nri.sock")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--kube-api-server", "https://127.0.0.1:6443"}, exitUsage,
			"nri-seccomp run: --kube-api-server needs --kube-events\n"},
		{[]string{"--kube-events"}, exitFail,
			"nri-seccomp: refusing to start: --kube-events: kubernetes events configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod?); name the API server with --kube-api-server\n"},
		{[]string{"--kube-events", "--kube-api-server", "http://127.0.0.1:6443"}, exitFail,
			"nri-seccomp: refusing to start: --kube-events: kubernetes events configuration: API server \"http://127.0.0.1:6443\": scheme \"http\", want https (the token must not travel in clear)\n"},
	} {
		args := append([]string{"run", "--policy", p, "--socket", sock}, tc.args...)
		code, _, stderr := cli(t, args...)
		if code != tc.code || stderr != tc.stderr {
			t.Errorf("%v: code %d, stderr %q\nwant %d, %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
}
