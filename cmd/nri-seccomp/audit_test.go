package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/learn"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
)

const auditTestdata = "../../internal/audit/testdata/"

func TestAuditReportCommand(t *testing.T) {
	code, out, errs := cli(t, "audit", "report", "--log", auditTestdata+"events.jsonl", "--log", auditTestdata+"auditd-raw.log",
		"--decision-log", auditTestdata+"decisions.jsonl")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"518 seccomp records, 2 unreadable lines, 2 warnings\n",
		"shop/web-1 container app (c1) mode=audit rules=trial: 503 records, 1 refused\n",
		"unattributed: /tmp/audit-capture/gen: 3 records, 0 refused\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = cli(t, "audit", "report", "--log", auditTestdata+"events.jsonl", "--output", "json", "--since", "2026-11-26T21:00:06Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if rep.Since.IsZero() || len(rep.Containers) == 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Containers {
		if c.Pod == "old" {
			t.Fatal("--since ignored")
		}
	}

	// Rotated files are read oldest first, with the current one last.
	dir := t.TempDir()
	data, err := os.ReadFile(auditTestdata + "auditd-raw.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	writeFile(t, dir, "audit.log.1", strings.Join(lines[:5], ""))
	writeFile(t, dir, "audit.log", strings.Join(lines[5:], ""))
	code, out, _ = cli(t, "audit", "report", "--log", filepath.Join(dir, "audit.log"))
	if code != exitOK || !strings.HasPrefix(out, "2 seccomp records") {
		t.Fatalf("without --rotated: %d %q", code, out)
	}
	code, out, _ = cli(t, "audit", "report", "--log", filepath.Join(dir, "audit.log"), "--rotated")
	if code != exitOK || !strings.HasPrefix(out, "5 seccomp records") {
		t.Fatalf("with --rotated: %d %q", code, out)
	}
}

func TestAuditReportErrors(t *testing.T) {
	dir := t.TempDir()
	badDL := writeFile(t, dir, "d.jsonl", "nope\n")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit"}, exitUsage, "Usage: nri-seccomp audit report"},
		{[]string{"audit", "summary"}, exitUsage, "Usage: nri-seccomp audit report"},
		{[]string{"audit", "report"}, exitUsage, "--log is required"},
		{[]string{"audit", "report", "--log", filepath.Join(dir, "missing")}, exitUsage, "no such file"},
		{[]string{"audit", "report", "--log", auditTestdata + "dmesg.txt", "--decision-log", badDL}, exitFail, "bad decision log: " + badDL + ": not one readable line"},
		{[]string{"audit", "report", "--log", auditTestdata + "dmesg.txt", "--decision-log", filepath.Join(dir, "none")}, exitUsage, "decision log: open"},
		{[]string{"audit", "report", "--log", "x", "--output", "yaml"}, exitUsage, "want one of text, json"},
		{[]string{"audit", "report", "--log", "x", "--since", "yesterday"}, exitUsage, "want an RFC 3339 time"},
		{[]string{"audit", "report", "--log", "x", "--since", "-1h"}, exitUsage, "negative duration"},
		{[]string{"audit", "report", "--log", ""}, exitUsage, "empty"},
		{[]string{"audit", "report", "stray"}, exitUsage, `unexpected argument "stray"`},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--pod", "p"}, exitUsage, "--namespace and one of --pod or --owner are required"},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop"}, exitUsage, "--namespace and one of --pod or --owner are required"},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--pod", "p", "--owner", "o"}, exitUsage, "--namespace and one of --pod or --owner are required"},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--owner", "Web"}, exitUsage, `nri-seccomp record: bad workload selection: owner "Web": not a Kubernetes object name`},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--owner", "api"}, exitFail, "no seccomp records for the workload: pods of shop/api ("},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--pod", "web-1", "--output", "yaml"}, exitUsage, "want one of text, json"},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--pod", "nope"}, exitFail, "no seccomp records for the workload: shop/nope"},
		{[]string{"record", "--namespace", "shop", "--pod", "nope"}, exitUsage, "--log is required"},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--pod", "web-1", "--arch", "sparc"}, exitUsage, "--arch: "},
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--namespace", "shop", "--pod", "web-1", "--arch", "x86"}, exitFail, "name its family by the native architecture, SCMP_ARCH_X86_64"},
		{[]string{"auditd-rules", "--policy", filepath.Join(dir, "none.yaml")}, exitUsage, "none.yaml"},
	} {
		code, out, errs := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, output %q %q; want %d with %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	if code, _, _ := cli(t, "audit", "-h"); code != exitOK {
		t.Errorf("audit -h: exit %d", code)
	}
}

func TestRecordCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "profile.json")
	code, stdout, errs := cli(t, "record", "--log", auditTestdata+"events.jsonl", "--namespace", "shop", "--pod", "web-1", "--container", "app", "-o", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, errs)
	}
	if !strings.Contains(errs, "note: app: keyctl was refused") || !strings.Contains(errs, "recorded shop/web-1/app: 1 syscalls seen (mkdir)") {
		t.Fatalf("stderr: %s", errs)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	// The allow-list, and clone3 refused with ENOSYS (libc falls back to clone).
	if p.DefaultAction != specs.ActErrno || len(p.Syscalls) != 2 || len(p.Syscalls[0].Names) != len(runc.RuntimeBase)+1 ||
		strings.Join(p.Syscalls[1].Names, ",") != "clone3" || p.Syscalls[1].ErrnoRet == nil || *p.Syscalls[1].ErrnoRet != 38 {
		t.Fatalf("profile: %s", data)
	}
	// The recorded profile is usable in a policy as it is.
	pol := writeFile(t, filepath.Dir(out), "policy.yaml", `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  recorded: {file: profile.json}
rules:
- name: recorded
  match: {namespaces: [shop]}
  action: tighten
  profile: recorded
`)
	if code, stdout, errs := cli(t, "check", "--policy", pol); code != exitOK {
		t.Fatalf("check of a policy using the recorded profile: %d %s %s", code, stdout, errs)
	}
	// To stdout.
	code, stdout, _ = cli(t, "record", "--log", auditTestdata+"events.jsonl", "--namespace", "shop", "--pod", "web-1")
	if code != exitOK || !strings.Contains(stdout, `"defaultAction": "SCMP_ACT_ERRNO"`) {
		t.Fatalf("stdout: %d %s", code, stdout)
	}
}

func TestAuditdRulesCommand(t *testing.T) {
	pol := writeFile(t, t.TempDir(), "p.yaml", `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: floor
  match: {}
  action: tighten
  deny: [keyctl, {name: rmdir, errno: ENOENT}]
`)
	code, out, errs := cli(t, "auditd-rules", "--policy", pol)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "-a always,exit -F arch=b64 -S keyctl -F exit=-EPERM -k nri-seccomp-denied\n" +
		"-a always,exit -F arch=b64 -S rmdir -F exit=-ENOENT -k nri-seccomp-denied\n" +
		"-a always,exit -F arch=b32 -S keyctl -F exit=-EPERM -k nri-seccomp-denied\n" +
		"-a always,exit -F arch=b32 -S rmdir -F exit=-ENOENT -k nri-seccomp-denied\n"
	if !strings.HasPrefix(out, "# nri-seccomp auditd-rules: policy revision sha256:") || !strings.HasSuffix(out, want) {
		t.Fatalf("output:\n%s", out)
	}
	none := writeFile(t, t.TempDir(), "p.yaml", `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: trial
  match: {}
  action: tighten
  deny: [mkdir]
  mode: audit
`)
	code, out, _ = cli(t, "auditd-rules", "--policy", none)
	if code != exitOK || !strings.Contains(out, "# note: rule trial: audit mode") || !strings.Contains(out, "no rules") || strings.Contains(out, "-a always") {
		t.Fatalf("audit-only policy: %d\n%s", code, out)
	}
}

// run --audit: bad flag values are refused before the daemon connects, and
// events go to the log and the events file.
func TestRunAuditFlags(t *testing.T) {
	eng, err := loadEngine(writeFile(t, t.TempDir(), "p.yaml", goodPolicy))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nri.New(nri.Options{Decider: eng})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, -1, ""},
		{[]string{"--audit", "--audit-window", "0s"}, exitUsage, "must be positive"},
		{[]string{"--audit", "--audit-burst", "-1"}, exitUsage, "must be positive"},
		{[]string{"--audit", "--audit-source", ""}, exitUsage, "--audit-source: empty"},
		{[]string{"--audit", "--audit-source", filepath.Join(dir, "a.log"), "--audit-events", filepath.Join(dir, "no", "such", "dir")}, exitFail, "--audit-events"},
	} {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		a := addAuditFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		code := a.start(context.Background(), p, log.L, nil, "n", &errb)
		a.stop()
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: %d %q, want %d %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}

	// A followed file source: a record written to it comes out as an event.
	src := filepath.Join(dir, "audit.log")
	writeFile(t, dir, "audit.log", "")
	events := filepath.Join(dir, "events.jsonl")
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	a := addAuditFlags(fs)
	if err := fs.Parse([]string{"--audit", "--audit-source", src, "--audit-events", events}); err != nil {
		t.Fatal(err)
	}
	logger := logrus.New()
	var logBuf syncWriter
	logger.Out = &logBuf
	logger.Formatter = &logrus.JSONFormatter{}
	if code := a.start(context.Background(), p, logrus.NewEntry(logger), nil, "node-1", &bytes.Buffer{}); code != -1 {
		t.Fatalf("start: %d", code)
	}
	time.Sleep(300 * time.Millisecond) // past the follower's seek to the end
	f, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`type=SECCOMP msg=audit(1795726957.700:122): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=999999 comm="gen2" exe="/tmp/gen2" sig=0 arch=c000003e syscall=84 compat=0 ip=0x1 code=0x50000` + "\n")
	f.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(events)
		if len(data) > 0 {
			var ev live.Event
			if err := json.Unmarshal(bytes.TrimSpace(data), &ev); err != nil {
				t.Fatalf("event line %q: %v", data, err)
			}
			if ev.Syscall != "rmdir" || !ev.Refused || ev.Attribution != "unknown" || ev.Node != "node-1" || ev.PID != 999999 {
				t.Fatalf("event %+v", ev)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event in %s; log:\n%s", events, logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.stop()
	if !strings.Contains(logBuf.String(), `"msg":"seccomp audit event"`) || !strings.Contains(logBuf.String(), `"level":"warning"`) {
		t.Fatalf("log:\n%s", logBuf.String())
	}
}

// syncWriter is a buffer the daemon's goroutines and the test share.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// record --owner merges a Deployment's replicas and restarts, and states the
// coverage and convergence; exact text for people, and the same in JSON.
func TestRecordOwner(t *testing.T) {
	args := []string{"record", "--log", auditTestdata + "replicas.jsonl", "--namespace", "shop", "--owner", "web", "--container", "app"}
	out := filepath.Join(t.TempDir(), "p.json")
	code, stdout, errs := cli(t, append(args, "-o", out)...)
	want := `note: app: keyctl was refused (SCMP_ACT_ERRNO, 1 times); not allowed (--include-refused to allow it)
note: SCMP_ARCH_X86: allows mkdir read sendfile write, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)
note: SCMP_ARCH_X32: allows mkdir read sendfile write, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)
note: clone3 is refused with ENOSYS, not EPERM, so that the C library falls back to clone as it does under runtime-default
recorded shop/web-7d4b9c-k8m2p/app, shop/web-7d4b9c-x2x9q/app: 4 syscalls seen (mkdir read sendfile write), 60 more from the runtime base set
  seen through SCMP_ARCH_X86_64: mkdir read sendfile write
  seen through SCMP_ARCH_X86: 
  seen through SCMP_ARCH_X32: 
coverage: 2 pods (web-7d4b9c-k8m2p, web-7d4b9c-x2x9q), 3 runs, 375 records, 4 syscalls seen, 2026-11-26T10:00:00Z to 2026-11-26T11:00:00Z (1h0m0s)
  container app: 2 pods, 3 runs, 375 records, 4 syscalls; last new syscall (sendfile) first seen 2026-11-26T10:40:00Z: none new in the last 20m0s and in the last 0 of 3 runs
warning: ` + learn.NotCovered + "\n"
	if code != exitOK || stdout != "" || errs != want {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, errs, want)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, errs = cli(t, append(args, "--output", "json")...)
	if code != exitOK || errs != "" {
		t.Fatalf("json: exit %d, stderr %s", code, errs)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var got struct {
		Containers []string
		Seen       []string
		Base       []string
		Widened    []learn.Widening
		SeenByArch map[string][]string `json:"seen_by_arch"`
		Notes      []string
		Coverage   learn.Coverage
		Warning    string
		Profile    json.RawMessage
	}
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	at := func(clock string) time.Time { t, _ := time.Parse(time.RFC3339, "2026-11-26T"+clock+"Z"); return t }
	wantCov := learn.Coverage{Pods: []string{"web-7d4b9c-k8m2p", "web-7d4b9c-x2x9q"}, Runs: 3, Records: 375, Syscalls: 4,
		First: at("10:00:00"), Last: at("11:00:00"), Container: []learn.ContainerCoverage{{
			Container: "app", Pods: 2, Runs: 3, Records: 375, Syscalls: 4, First: at("10:00:00"), Last: at("11:00:00"),
			LastNew: at("10:40:00"), LastNewSyscalls: []string{"sendfile"}, QuietSeconds: 1200}},
		UnattributedNotAllowed: []string{}}
	if !reflect.DeepEqual(got.Coverage, wantCov) || got.Widened == nil || len(got.Widened) != 0 || got.Warning != learn.NotCovered ||
		strings.Join(got.Containers, ",") != "shop/web-7d4b9c-k8m2p/app,shop/web-7d4b9c-x2x9q/app" ||
		strings.Join(got.Seen, ",") != "mkdir,read,sendfile,write" || len(got.Base) != len(runc.RuntimeBase)-countIn(got.Seen, runc.RuntimeBase) || len(got.Notes) != 4 ||
		strings.Join(got.SeenByArch["SCMP_ARCH_X86_64"], ",") != "mkdir,read,sendfile,write" {
		t.Errorf("json summary:\n%s", stdout)
	}
	// The profile in the JSON is the one -o writes.
	var a, b specs.LinuxSeccomp
	if json.Unmarshal(got.Profile, &a) != nil || json.Unmarshal(file, &b) != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("profiles differ:\n%s\n%s", got.Profile, file)
	}
	if !strings.Contains(stdout, `"quiet_seconds": 1200,`) || !strings.Contains(stdout, `"last_new_syscall_at": "2026-11-26T10:40:00Z",`) || !strings.Contains(stdout, `"runs_without_new_syscall": 0`) {
		t.Errorf("json field names:\n%s", stdout)
	}
}

// countIn counts the names of xs that are in set.
func countIn(xs, set []string) int {
	n := 0
	for _, x := range xs {
		if slices.Contains(set, x) {
			n++
		}
	}
	return n
}
