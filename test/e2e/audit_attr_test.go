//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// attrPolicy logs mkdir, rmdir and umask (audit mode) in e2e-attr only.
const attrPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: attr-trial
  match: {namespaces: [e2e-attr]}
  action: tighten
  deny: [mkdir, rmdir, umask]
  mode: audit
`

func writePolicy(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// freeAddr returns a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readEvents reads the JSON events `run --audit-events` wrote.
func readEvents(t *testing.T, path string) []live.Event {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []live.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev live.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("events file %s: bad line %q: %v", path, sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

// waitEvent waits for an event matching ok; it returns every event read.
func waitEvent(t *testing.T, path string, limit time.Duration, what string, ok func(live.Event) bool) live.Event {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		evs := readEvents(t, path)
		for _, ev := range evs {
			if ok(ev) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, ev := range evs {
				lines = append(lines, fmt.Sprintf("%s %s/%s/%s pid=%d comm=%s %s %s attribution=%s", ev.Kind, ev.Namespace, ev.Pod, ev.Container, ev.PID, ev.Comm, ev.Syscall, ev.Action, ev.Attribution))
			}
			t.Fatalf("no audit event %s within %s (auditd running: %v); events:\n%s", what, limit, h.AuditdRunning(), strings.Join(lines, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An audit-mode syscall made in a container becomes an event that names the
// pod, container and rule: by the container's init PID (from NRI's
// PostStartContainer) for the container's own process, by /proc/PID/cgroup
// for a process exec'd into it. Two pods make the same kind of call, so an
// event naming the wrong one fails.
//
// An auditd receives the records (privateAuditd): the kernel log passes only
// 10 audit records per 5 s, too few for a test that must see every one;
// TestAuditAttributionKernelLog covers that source.
func TestAuditAttributionLive(t *testing.T) {
	bin := pluginBin(t)
	auditLog := privateAuditd(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	events := filepath.Join(c.Dir, "audit-events.jsonl")
	metricsAddr := freeAddr(t)
	p := StartPlugin(t, c, bin, writePolicy(t, attrPolicy),
		"--audit", "--audit-events", events, "--audit-window", "1s", "--metrics-addr", metricsAddr)

	alpha := RunPod(t, c, h.PodSpec{Name: "alpha", Namespace: "e2e-attr"})
	beta := RunPod(t, c, h.PodSpec{Name: "beta", Namespace: "e2e-attr"})
	// The containers' own processes make the calls and exit.
	a := RunContainer(t, alpha, h.ContainerSpec{Name: "maker", Seccomp: h.SeccompRuntimeDefault,
		Command: []string{h.ProbePath, "mkdir", "/tmp/alpha"}})
	b := RunContainer(t, beta, h.ContainerSpec{Name: "remover", Seccomp: h.SeccompRuntimeDefault,
		Command: []string{h.ProbePath, "rmdir", "/tmp/beta"}})
	RequireDecision(t, p, a, []string{"attr-trial"}, true)
	RequireDecision(t, p, b, []string{"attr-trial"}, true)

	mk := waitEvent(t, events, 15*time.Second, "for mkdir in alpha", func(ev live.Event) bool {
		return ev.Syscall == "mkdir" && ev.Comm == "syscall-probe" && ev.Pod == "alpha"
	})
	rm := waitEvent(t, events, 15*time.Second, "for rmdir in beta", func(ev live.Event) bool {
		return ev.Syscall == "rmdir" && ev.Comm == "syscall-probe" && ev.Pod == "beta"
	})
	for _, tc := range []struct {
		ev              live.Event
		pod, ctr, ctrID string
	}{{mk, "alpha", "maker", a.ID}, {rm, "beta", "remover", b.ID}} {
		ev := tc.ev
		if ev.Namespace != "e2e-attr" || ev.Container != tc.ctr || ev.ContainerID != tc.ctrID || ev.Attribution != "pid" ||
			ev.Action != "SCMP_ACT_LOG" || ev.Refused || ev.Mode != "audit" || strings.Join(ev.Rules, ",") != "attr-trial" || ev.Arch != "SCMP_ARCH_X86_64" {
			t.Errorf("event for %s: %+v", tc.pod, ev)
		}
	}
	for _, ev := range readEvents(t, events) {
		if (ev.Syscall == "mkdir" && ev.Pod == "beta") || (ev.Syscall == "rmdir" && ev.Pod == "alpha") {
			t.Errorf("event attributed to the wrong pod: %+v", ev)
		}
	}

	// Every record is counted for Prometheus, by pod and syscall.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`nri_seccomp_audit_records_total{action="SCMP_ACT_LOG",container="maker",namespace="e2e-attr",pod="alpha",syscall="mkdir"} 1`,
		`nri_seccomp_audit_records_total{action="SCMP_ACT_LOG",container="remover",namespace="e2e-attr",pod="beta",syscall="rmdir"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A process exec'd into a running container is not the init: the
	// process table learnt its container when it exec'd inside the
	// container's cgroup ("fork"; "cgroup" or "cache" from /proc without
	// the connector). umask is a shell builtin, so the call comes from the
	// exec'd shell itself. Short-lived children: TestAuditAttributionShortLived.
	sh := RunContainer(t, alpha, h.ContainerSpec{Name: "shell", Seccomp: h.SeccompRuntimeDefault})
	res, err := sh.Exec(ctx(t), "/bin/sh", "-c", "umask 077; sleep 2")
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exec: %+v %v", res, err)
	}
	ex := waitEvent(t, events, 10*time.Second, "for the exec'd shell's umask", func(ev live.Event) bool {
		return ev.Syscall == "umask" && ev.Comm == "sh"
	})
	if ex.Pod != "alpha" || ex.Container != "shell" || ex.ContainerID != sh.ID || (ex.Attribution != "fork" && ex.Attribution != "cgroup" && ex.Attribution != "cache") {
		t.Errorf("exec'd process event: %+v", ex)
	}

	// Offline, from auditd's raw log: the decision log's "started" lines
	// give the init PIDs, so the containers' own processes are attributed;
	// the exec'd shell is not an init and stays unattributed.
	out, err := exec.CommandContext(ctx(t), bin, "audit", "report", "--log", auditLog, "--decision-log", p.DecisionLog, "--output", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("audit report (raw log): %v\n%s", err, out)
	}
	var raw audit.Report
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("audit report output: %v\n%s", err, out)
	}
	found := map[string]bool{}
	for _, cr := range raw.Containers {
		for _, sc := range cr.Syscalls {
			switch {
			case cr.Attributed && cr.Pod == "alpha" && cr.Container == "maker" && cr.ContainerID == a.ID && sc.Syscall == "mkdir":
				found["maker"] = true
			case cr.Attributed && cr.Pod == "beta" && cr.Container == "remover" && sc.Syscall == "rmdir":
				found["remover"] = true
			case !cr.Attributed && cr.Exe == "/bin/busybox" && sc.Syscall == "umask":
				found["shell"] = true
			case cr.Attributed && (sc.Syscall == "umask" || (cr.Pod == "beta" && sc.Syscall == "mkdir")):
				t.Errorf("offline report attributes %s to %s/%s", sc.Syscall, cr.Pod, cr.Container)
			}
		}
	}
	if len(found) != 3 {
		t.Fatalf("offline report: found %v of maker, remover, shell:\n%s", found, out)
	}

	// The report over the daemon's events names both pods.
	out, err = exec.CommandContext(ctx(t), bin, "audit", "report", "--log", events, "--output", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("audit report: %v\n%s", err, out)
	}
	var rep audit.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("audit report output: %v\n%s", err, out)
	}
	want := map[string]string{"alpha/maker": "mkdir", "beta/remover": "rmdir", "alpha/shell": "umask"}
	for _, cr := range rep.Containers {
		k := cr.Pod + "/" + cr.Container
		for _, sc := range cr.Syscalls {
			if want[k] == sc.Syscall && cr.Attributed && sc.Count >= 1 && sc.Action == "SCMP_ACT_LOG" && !sc.First.IsZero() {
				delete(want, k)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("report lacks %v:\n%s", want, out)
	}
}

// Without an auditd the daemon reads the kernel log, which drops audit
// records beyond 10 per 5 s (printk_ratelimit): each attempt is a new
// container whose own process makes the call, until one record gets
// through; it must name that container's pod.
func TestAuditAttributionKernelLog(t *testing.T) {
	bin := pluginBin(t)
	if h.AuditdRunning() {
		t.Fatal("an auditd is running: this test needs the kernel log source; stop it (the other audit tests start their own)")
	}
	c := StartContainerd(t, h.ContainerdOptions{})
	events := filepath.Join(c.Dir, "audit-events.jsonl")
	StartPlugin(t, c, bin, writePolicy(t, attrPolicy), "--audit", "--audit-events", events, "--audit-window", "1s")
	pod := RunPod(t, c, h.PodSpec{Name: "gamma", Namespace: "e2e-attr"})
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		ct := RunContainer(t, pod, h.ContainerSpec{Name: fmt.Sprintf("try-%d", i), Seccomp: h.SeccompRuntimeDefault,
			Command: []string{h.ProbePath, "mkdir", "/tmp/gamma"}})
		time.Sleep(1500 * time.Millisecond)
		for _, ev := range readEvents(t, events) {
			if ev.Syscall != "mkdir" || ev.Comm != "syscall-probe" {
				continue
			}
			if ev.Pod != "gamma" || ev.Namespace != "e2e-attr" || ev.Attribution != "pid" || !strings.HasPrefix(ev.Container, "try-") {
				t.Fatalf("event from the kernel log: %+v", ev)
			}
			t.Logf("attributed to %s after %d containers (%s is the last one)", ev.Container, i+1, ct.Spec.Name)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mkdir event read from the kernel log after %d containers", i+1)
		}
	}
}
