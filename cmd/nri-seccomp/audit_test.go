package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/pkg/audit"
	"github.com/nri-seccomp/nri-seccomp/pkg/plugin"
)

const auditTestdata = "../../pkg/audit/testdata/"

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
		{[]string{"record", "--log", auditTestdata + "events.jsonl", "--pod", "p"}, exitUsage, "--namespace and --pod are required"},
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
	if p.DefaultAction != specs.ActErrno || len(p.Syscalls) != 2 || len(p.Syscalls[0].Names) != len(audit.RuntimeBase)+1 ||
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
	p, err := plugin.New(plugin.Options{Decider: eng})
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
			var ev audit.Event
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
