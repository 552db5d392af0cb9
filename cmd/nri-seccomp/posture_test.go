package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeProc is internal/posture's fake /proc: a ctr-run container (a...)
// and a pod sandbox (d...) without seccomp, three filtered containers.
const fakeProc = "../../internal/posture/testdata/proc"

func TestPostureExitCodes(t *testing.T) {
	dir := t.TempDir()
	a, d := strings.Repeat("a", 64), strings.Repeat("d", 64)
	exemptBoth := writeFile(t, dir, "exempt.jsonl",
		`{"namespace":"ops","pod":"debug","container":"sh","container_id":"`+a+`","rules":["debug"],"exempt":true}`+"\n"+
			`{"namespace":"ops","pod":"debug","container":"pause","container_id":"`+d+`","rules":["debug"],"exempt":true}`+"\n")
	decideA := writeFile(t, dir, "decided.jsonl",
		`{"namespace":"ops","pod":"debug","container":"sh","container_id":"`+a+`","rules":["floor"],"mode":"enforce","digest":"sha256:aa","policy_revision":"sha256:5d18"}`+"\n")
	junk := writeFile(t, dir, "junk.jsonl", "not json\n")
	noSocket := filepath.Join(dir, "containerd.sock")
	for _, tc := range []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"unfiltered containers", []string{"--containerd-socket=", "--proc", fakeProc}, exitFail,
			"unfiltered         aaaaaaaaaaaa reach=unknown processes=2 unfiltered=2\n  problem: runs without seccomp; not a container", ""},
		{"all explained by exempt decisions", []string{"--containerd-socket=", "--proc", fakeProc, "--decision-log", exemptBoth}, exitOK,
			"exempt             aaaaaaaaaaaa pod=ops/debug container=sh reach=nri rules=debug processes=2 unfiltered=2\n", ""},
		{"decided but unfiltered", []string{"--containerd-socket=", "--proc", fakeProc, "--decision-log", decideA}, exitFail,
			"decided            aaaaaaaaaaaa pod=ops/debug container=sh reach=nri rules=floor mode=enforce revision=sha256:5d18 filter=unknown processes=2 unfiltered=2\n  problem: decided by nri-seccomp but runs without seccomp", ""},
		{"missing decision log", []string{"--containerd-socket=", "--proc", fakeProc, "--decision-log", filepath.Join(dir, "none")}, exitUsage, "", "--decision-log: open "},
		{"junk decision log", []string{"--containerd-socket=", "--proc", fakeProc, "--decision-log", junk}, exitUsage, "", "not one readable line"},
		{"explicit socket missing", []string{"--containerd-socket", noSocket, "--proc", fakeProc}, exitUsage, "", "--containerd-socket: stat " + noSocket},
		{"missing proc", []string{"--containerd-socket=", "--proc", filepath.Join(dir, "proc")}, exitUsage, "", "cannot read the process table"},
		{"argument", []string{"extra"}, exitUsage, "", `unexpected argument "extra"`},
		{"bad output", []string{"--output", "yaml"}, exitUsage, "", "want one of text, json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, append([]string{"posture"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errs, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant in it: %q\nstderr:\n%s\nwant in it: %q", code, tc.code, out, tc.stdout, errs, tc.stderr)
			}
			if tc.code == exitUsage && out != "" {
				t.Errorf("stdout not empty on a usage error: %q", out)
			}
		})
	}
}

func TestPostureJSON(t *testing.T) {
	code, out, _ := cli(t, "posture", "--containerd-socket=", "--proc", fakeProc, "--output", "json")
	var rep struct {
		Containers []struct {
			ID      string `json:"container_id"`
			Class   string `json:"class"`
			Reach   string `json:"reach"`
			Problem string `json:"problem"`
		} `json:"containers"`
		Problems   int `json:"problems"`
		Vanished   int `json:"vanished_processes"`
		Unreadable int `json:"unreadable_processes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != exitFail || rep.Problems != 2 || len(rep.Containers) != 5 || rep.Vanished != 2 || rep.Unreadable != 1 {
		t.Fatalf("exit %d, report %+v", code, rep)
	}
	if c := rep.Containers[0]; c.ID != strings.Repeat("a", 64) || c.Class != "unfiltered" || c.Reach != "unknown" || c.Problem == "" {
		t.Errorf("first row %+v, want the unfiltered a... container", c)
	}
}

// --output markdown files the report with the policy (loaded like the
// daemon's), the refusals of the period from the audit events file, and the
// controls; the period is --since before now.
func TestPostureMarkdown(t *testing.T) {
	dir := t.TempDir()
	policy := writeFile(t, dir, "policy.yaml", goodPolicy)
	now := time.Now().UTC()
	old := now.Add(-48 * time.Hour).Format(time.RFC3339)
	recent := now.Add(-time.Hour).Format(time.RFC3339)
	event := func(at, syscall, action string, refused bool) string {
		return `{"kind":"record","time":"` + at + `","count":1,"namespace":"shop","pod":"web","container":"app","container_id":"c1","attribution":"pid","pid":10,"comm":"app","exe":"/app","arch":"SCMP_ARCH_X86_64","syscall":"` +
			syscall + `","syscall_nr":1,"action":"` + action + `","refused":` + strconv.FormatBool(refused) + "}\n"
	}
	events := writeFile(t, dir, "events.jsonl", event(old, "keyctl", "SCMP_ACT_ERRNO", true)+event(recent, "mkdir", "SCMP_ACT_ERRNO", true)+event(recent, "mount", "SCMP_ACT_LOG", false))
	code, out, errs := cli(t, "posture", "--containerd-socket=", "--proc", fakeProc, "--output", "markdown", "--node", "node-7",
		"--policy", policy, "--audit-events", events, "--since", "24h")
	if code != exitFail {
		t.Fatalf("exit %d, want 1 (unfiltered containers); stderr %s", code, errs)
	}
	for _, want := range []string{
		"# Seccomp posture of node node-7\n",
		"Revision sha256:",
		"| node-agents | exempt | enforce |",
		"| default | inject | enforce |",
		"2 records, 0 unreadable lines.",
		"| shop/web/app | mkdir | SCMP\\_ACT\\_ERRNO | 1 |",
		"### CIS Kubernetes Benchmark: 5.7.2",
		"- Status: **not met**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| shop/web/app | keyctl") {
		t.Errorf("a refusal before --since is in the report:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--since", "-1h", "--audit-events", events}, "--since: negative"},
		{[]string{"--since", "1h"}, "--since needs --audit-events"},
		{[]string{"--audit-events", filepath.Join(dir, "none")}, "--audit-events: open "},
		{[]string{"--policy", filepath.Join(dir, "none.yaml")}, "--policy: "},
	} {
		code, out, errs := cli(t, append([]string{"posture", "--containerd-socket=", "--proc", fakeProc, "--output", "markdown"}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, tc.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %q", tc.args, code, out, errs, tc.err)
		}
	}
}
