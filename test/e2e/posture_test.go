//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// postureRow is one container of `nri-seccomp posture --output json`.
type postureRow struct {
	ID                  string   `json:"container_id"`
	ContainerdNamespace string   `json:"containerd_namespace"`
	Image               string   `json:"image"`
	PodNamespace        string   `json:"pod_namespace"`
	Pod                 string   `json:"pod"`
	Name                string   `json:"container"`
	Reach               string   `json:"reach"`
	Processes           int      `json:"processes"`
	Unfiltered          int      `json:"unfiltered_processes"`
	Class               string   `json:"class"`
	Rules               []string `json:"rules"`
	Revision            string   `json:"policy_revision"`
	Filter              string   `json:"filter"`
	SeccompDigest       string   `json:"seccomp_digest"`
	DecidedDigest       string   `json:"decided_digest"`
	Problem             string   `json:"problem"`
}

// TestPosture: posture finds every container from the kernel's view and
// joins containerd (all namespaces) and the decision log. A container
// started with `ctr run` never reaches NRI: posture reports it unfiltered
// and outside the plugin's reach (exit 1); an exempt Unconfined pod is
// unfiltered by policy (no problem); a decided pod names its rules; a
// container created before the plugin connected is filtered otherwise.
func TestPosture(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})

	// Before the plugin: containerd's RuntimeDefault, no decision.
	early := RunPod(t, c, h.PodSpec{Name: "early", Namespace: "e2e-posture-early"})
	earlyCt := RunContainer(t, early, h.ContainerSpec{Name: "rd", Seccomp: h.SeccompRuntimeDefault})

	addr, err := h.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	// The daemon's own scan (gauges, a log line per new problem), every
	// 200ms so that the test waits for scans, not for a default interval.
	p := StartPlugin(t, c, bin, policyFile(t, "s13-posture.yaml"), "--metrics-addr", addr,
		"--posture-interval", "200ms", "--posture-containerd-socket", c.Socket)
	decidedPod := RunPod(t, c, h.PodSpec{Name: "app", Namespace: "e2e-posture-decided"})
	decided := RunContainer(t, decidedPod, h.ContainerSpec{Name: "web", Seccomp: h.SeccompRuntimeDefault})
	RequireRefused(t, Probe(t, decided, "mkdir", "/tmp/posture"), "EPERM")
	decision := RequireDecision(t, p, decided, []string{"posture-floor"}, true)
	var logged struct {
		Revision string `json:"policy_revision"`
	}
	if err := json.Unmarshal([]byte(decision.Raw), &logged); err != nil || logged.Revision == "" || decision.Digest == "" {
		t.Fatalf("decision line without policy_revision or digest (%v): %s", err, decision.Raw)
	}
	exemptPod := RunPod(t, c, h.PodSpec{Name: "agent", Namespace: "e2e-posture-exempt"})
	exempt := RunContainer(t, exemptPod, h.ContainerSpec{Name: "tool", Seccomp: h.SeccompUnconfined})
	RequireDecision(t, p, exempt, []string{"posture-exempt"}, false)

	// ctr run: containerd's own API, another namespace, no CRI, no NRI.
	// Its id is a name, not 64 hex digits: posture finds its cgroup
	// (<parent>/posture-ctr-run) through containerd's list. The cgroup goes
	// under this instance's parent, which the harness cleans up (ctr's
	// default, /e2e-posture/<id>, would leave /e2e-posture behind).
	const ns, ctrID = "e2e-posture", "posture-ctr-run"
	ctrRun(t, c, ns, ctrID)
	start := time.Now()
	code, rows, raw := runPosture(t, bin, c.Socket, p.DecisionLog)
	t.Logf("posture in %s, exit %d:\n%s", time.Since(start).Round(time.Millisecond), code, raw)
	if code != 1 {
		t.Fatalf("posture exit %d, want 1 (an unfiltered container outside the plugin's reach)", code)
	}
	want := map[string]func(postureRow) bool{
		earlyCt.ID: func(r postureRow) bool {
			return r.Class == "filtered-otherwise" && r.Reach == "nri" && r.Problem == "" && r.Unfiltered == 0 && r.Pod == "early"
		},
		decided.ID: func(r postureRow) bool {
			return r.Class == "decided" && r.Reach == "nri" && r.Problem == "" && slices.Equal(r.Rules, []string{"posture-floor"}) &&
				r.PodNamespace == "e2e-posture-decided" && r.Pod == "app" && r.Name == "web" && r.ContainerdNamespace == "k8s.io" &&
				// which revision, and still the section it was given, as containerd holds it
				r.Revision == logged.Revision && r.Filter == "as-decided" &&
				r.SeccompDigest == decision.Digest && r.DecidedDigest == decision.Digest
		},
		exempt.ID: func(r postureRow) bool {
			return r.Class == "exempt" && r.Reach == "nri" && r.Problem == "" && r.Unfiltered > 0 && slices.Equal(r.Rules, []string{"posture-exempt"}) &&
				r.Revision == logged.Revision && r.Filter == ""
		},
	}
	want[ctrID] = func(r postureRow) bool {
		return r.Class == "unfiltered" && r.Reach == "outside" && r.Problem != "" && r.ContainerdNamespace == ns &&
			r.Image == h.BusyboxImage && r.Unfiltered == r.Processes && r.Processes > 0
	}
	for id, ok := range want {
		r, found := findRow(rows, id)
		if !found || !ok(r) {
			t.Errorf("container %s: found=%v row %+v", id, found, r)
		}
	}

	requirePostureGauges(t, p, addr, ctrID)

	// The text output says the same, and names the problem.
	code, text := runPostureText(t, bin, c.Socket, p.DecisionLog)
	if code != 1 || !bytes.Contains(text, []byte("unfiltered         "+ctrID[:12]+" ns="+ns)) ||
		!bytes.Contains(text, []byte("problem: runs without seccomp; created outside CRI, so nri-seccomp never saw it")) {
		t.Errorf("text output (exit %d) lacks the ctr container's problem:\n%s", code, text)
	}
	if !bytes.Contains(text, []byte("revision="+logged.Revision+" filter=as-decided")) {
		t.Errorf("text output lacks the decided container's revision and filter state:\n%s", text)
	}
}

// requirePostureGauges: the daemon's scan counts the decided and the exempt
// container (exactly: only this plugin's decisions are "decided"), at least
// one problem (the ctr container; other containers on a shared machine may
// add to it), and logs the ctr container once however many scans see it.
func requirePostureGauges(t *testing.T, p *h.Plugin, addr, ctrID string) {
	t.Helper()
	logged := `"container_id":"` + ctrID + `"`
	if err := p.WaitLog(ctx(t), logged, 0, 30*time.Second); err != nil {
		t.Fatalf("the daemon did not log the ctr container: %v", err)
	}
	scans := func() (float64, string) {
		_, body, err := h.HTTPGet(ctx(t), "http://"+addr+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		return metricValue(t, body, `nri_seccomp_posture_scans_total{result="success"}`), body
	}
	first, _ := scans()
	// Three more scans after the one that logged it.
	var body string
	for n := first; n < first+3; n, body = scans() {
		select {
		case <-ctx(t).Done():
			t.Fatal(ctx(t).Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("the daemon's last scan took %.1f ms (nri_seccomp_posture_scan_duration_seconds; containerd's list included)",
		1000*metricValue(t, body, "nri_seccomp_posture_scan_duration_seconds"))
	if n := p.LogCount(logged); n != 1 {
		t.Errorf("the ctr container was logged %d times over several scans, want once:\n%s", n, p.LogTail(20))
	}
	if !strings.Contains(p.LogTail(200), "posture: runs without seccomp; created outside CRI, so nri-seccomp never saw it") {
		t.Errorf("the log line does not say why:\n%s", p.LogTail(20))
	}
	for _, w := range []struct {
		series string
		ok     func(float64) bool
		want   string
	}{
		{`nri_seccomp_containers{state="decided"}`, func(v float64) bool { return v == 1 }, "1"},
		{`nri_seccomp_containers{state="exempt"}`, func(v float64) bool { return v == 1 }, "1"},
		{`nri_seccomp_containers{state="unfiltered"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`nri_seccomp_posture_problem_containers`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`nri_seccomp_posture_host_processes`, func(v float64) bool { return v >= 1 }, ">= 1"},
	} {
		if v := metricValue(t, body, w.series); !w.ok(v) {
			t.Errorf("%s = %v, want %s", w.series, v, w.want)
		}
	}
}

// metricValue is the value of one series in a Prometheus text exposition.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in /metrics", series)
	return 0
}

// ctrRun starts a busybox container with `ctr run` in containerd namespace
// ns, sleeping, and removes it when the test ends. Its cgroup goes under
// this instance's parent, which the harness cleans up (ctr's default,
// /<ns>/<id>, would leave /<ns> behind).
func ctrRun(t *testing.T, c *h.Containerd, ns, id string) {
	t.Helper()
	if out, err := c.Ctr(ctx(t), "-n", ns, "images", "import", "--platform", "linux/amd64", images.Busybox); err != nil {
		t.Fatalf("ctr import: %v: %s", err, out)
	}
	if out, err := c.Ctr(ctx(t), "-n", ns, "run", "-d", "--null-io", "--runc-binary", c.Tools.Runc,
		"--cgroup", c.CgroupParent+"/"+id, h.BusyboxImage, id, "sleep", "3600"); err != nil {
		t.Fatalf("ctr run: %v: %s", err, out)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, args := range [][]string{{"task", "kill", "-s", "KILL", id}, {"task", "rm", "-f", id}, {"container", "rm", id}} {
			c.Ctr(cctx, append([]string{"-n", ns}, args...)...) //nolint:errcheck // best effort; Stop kills the shims anyway
		}
	})
}

// runPosture runs `nri-seccomp posture --output json` and decodes it.
func runPosture(t *testing.T, bin, socket, decisionLog string) (int, []postureRow, []byte) {
	t.Helper()
	code, out, _ := posture(t, bin, "--containerd-socket", socket, "--decision-log", decisionLog, "--output", "json")
	var rep struct {
		Containers []postureRow `json:"containers"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("posture JSON: %v\n%s", err, out)
	}
	return code, rep.Containers, out
}

// runPostureText runs `nri-seccomp posture` and returns its text.
func runPostureText(t *testing.T, bin, socket, decisionLog string) (int, []byte) {
	t.Helper()
	code, out, _ := posture(t, bin, "--containerd-socket", socket, "--decision-log", decisionLog)
	return code, out
}

// posture runs `nri-seccomp posture args...`: exit code, stdout, stderr.
func posture(t *testing.T, bin string, args ...string) (int, []byte, []byte) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), bin, append([]string{"posture"}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("posture: %v", err)
	}
	if stderr.Len() > 0 {
		t.Logf("posture stderr:\n%s", stderr.Bytes())
	}
	return cmd.ProcessState.ExitCode(), stdout.Bytes(), stderr.Bytes()
}

func findRow(rows []postureRow, id string) (postureRow, bool) {
	for _, r := range rows {
		if r.ID == id {
			return r, true
		}
	}
	return postureRow{}, false
}
