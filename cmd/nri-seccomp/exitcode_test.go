package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// deadPolicy is valid but its second rule (line 7) can never apply.
const deadPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: everyone
  match: {}
  action: exempt
- name: floor
  match: {}
  action: tighten
  deny: [bpf]
`

// TestExitCodes holds every command to the one convention: 0 fine, 1
// problems found, 2 usage or I/O error; results on stdout, errors and
// warnings on stderr.
func TestExitCodes(t *testing.T) {
	t.Setenv("NRI_PLUGIN_SOCKET", "")
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", goodPolicy)
	bad := writeFile(t, dir, "bad.yaml", badPolicy)
	dead := writeFile(t, dir, "dead.yaml", deadPolicy)
	missing := filepath.Join(dir, "missing.yaml")
	badProfile := writeFile(t, dir, "bad.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]}`)
	killProfile := writeFile(t, dir, "kill.json", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_KILL"}]}`)
	events := auditTestdata + "events.jsonl"

	for _, tc := range []struct {
		args             []string
		code             int
		stdout, stderr   string // substrings; "" checks nothing
		noStdout, noErrs bool   // the stream must be empty
	}{
		// top level
		{args: []string{}, code: exitUsage, stderr: "Exit status of every command", noStdout: true},
		{args: []string{"help"}, code: exitOK, stdout: "2  the command could not run", noErrs: true},
		{args: []string{"nope"}, code: exitUsage, stderr: `unknown command "nope"`, noStdout: true},

		// check
		{args: []string{"check", "--policy", good}, code: exitOK, stdout: "policy OK: 3 rules", noErrs: true},
		{args: []string{"check", "--policy", dead}, code: exitOK, stdout: "1 warnings", stderr: `warning: ` + dead + `:7: rules[1].match: rule "floor" can never apply`},
		{args: []string{"check", "--policy", dead, "--strict"}, code: exitFail, stdout: "1 warnings", stderr: "can never apply"},
		{args: []string{"check", "--policy", bad}, code: exitFail, stderr: `unknown syscall "notasyscall"`, noStdout: true},
		{args: []string{"check", "--policy", missing}, code: exitUsage, stderr: "cannot read policy", noStdout: true},
		{args: []string{"check", "--policy", good, "--output", "yaml"}, code: exitUsage, stderr: "want one of text, json", noStdout: true},
		{args: []string{"check", "--bogus"}, code: exitUsage, stderr: "flag provided but not defined", noStdout: true},
		// "-" is a value, not a flag or a positional argument; reading
		// stdin is the loader's business.
		{args: []string{"check", "--policy", "-"}, code: exitFail, stderr: "standard input:1: the file is empty", noStdout: true}, // stdin is empty here

		// explain
		{args: []string{"explain", "--policy", good, "--namespace", "prod"}, code: exitOK, stdout: "result: seccomp set", noErrs: true},
		{args: []string{"explain", "--policy", bad}, code: exitFail, stderr: "invalid policy: 3 problems", noStdout: true},
		{args: []string{"explain", "--policy", missing}, code: exitUsage, stderr: "cannot read policy", noStdout: true},
		{args: []string{"explain", "--policy", good, "--profile", badProfile}, code: exitFail, stderr: `did you mean "mkdir"`, noStdout: true},
		{args: []string{"explain", "--policy", good, "--profile", missing}, code: exitUsage, stderr: "no such file", noStdout: true},
		{args: []string{"explain", "--policy", good, "--profile-type", "Localhost"}, code: exitUsage, stderr: "needs the profile"},

		// profile
		{args: []string{"profile", "show", "minimal"}, code: exitOK, stdout: "depending on arguments", noErrs: true},
		{args: []string{"profile", "show", badProfile}, code: exitFail, stderr: "mkdri", noStdout: true},
		{args: []string{"profile", "show", "hardend"}, code: exitUsage, stderr: "neither a built-in profile", noStdout: true},
		{args: []string{"profile", "diff", "runtime-default", "hardened"}, code: exitOK, stdout: "B is stricter than A", noErrs: true},
		{args: []string{"profile", "diff", "hardened", "runtime-default"}, code: exitFail, stdout: "B is LOOSER than A", noErrs: true},
		{args: []string{"profile", "diff", "hardened", badProfile}, code: exitUsage, stderr: "mkdri", noStdout: true},
		{args: []string{"profile", "diff", "hardened"}, code: exitUsage, stderr: "want two profiles", noStdout: true},
		{args: []string{"profile", "lint", "minimal"}, code: exitOK, stdout: "minimal: info: bpf-size", noErrs: true},
		{args: []string{"profile", "lint", "--no-bpf", killProfile}, code: exitFail, stdout: "warning: kill-thread", noErrs: true},
		{args: []string{"profile", "lint", missing}, code: exitUsage, stderr: "no such file", noStdout: true},
		{args: []string{"profile", "convert", "runtime-default", "--to", "xml"}, code: exitUsage, stderr: "want one of", noStdout: true},
		{args: []string{"profile", "test", "hardened"}, code: exitUsage, stderr: "no command", noStdout: true},

		// audit report, record
		{args: []string{"audit", "report", "--log", events}, code: exitOK, stdout: "seccomp records", noErrs: true},
		{args: []string{"audit", "report"}, code: exitUsage, stderr: "--log is required", noStdout: true},
		{args: []string{"audit", "report", "--log", missing}, code: exitUsage, stderr: "no such file", noStdout: true},
		{args: []string{"record", "--log", events, "--namespace", "shop", "--pod", "nope"}, code: exitFail, stderr: "no seccomp records", noStdout: true},
		{args: []string{"record", "--log", events}, code: exitUsage, stderr: "--namespace and one of --pod or --owner are required", noStdout: true},
		{args: []string{"record", "--log", events, "--namespace", "shop", "--pod", "web-1", "-o", filepath.Join(dir, "no", "dir", "p.json")}, code: exitUsage, stderr: "no such file", noStdout: true},

		// auditd-rules
		{args: []string{"auditd-rules", "--policy", good}, code: exitOK, stdout: "-a always,exit", noErrs: true},
		{args: []string{"auditd-rules", "--policy", bad}, code: exitFail, stderr: "notasyscall", noStdout: true},
		{args: []string{"auditd-rules", "--policy", missing}, code: exitUsage, stderr: "cannot read policy", noStdout: true},

		// version, run
		{args: []string{"version"}, code: exitOK, stdout: "nri-seccomp ", noErrs: true},
		{args: []string{"version", "x"}, code: exitUsage, stderr: `unexpected argument "x"`, noStdout: true},
		{args: []string{"run", "--log-format", "xml"}, code: exitUsage, stderr: "want one of text, json", noStdout: true},
		{args: []string{"run", "--policy", bad, "--socket", filepath.Join(dir, "nri.sock")}, code: exitFail, stderr: "the policy is invalid", noStdout: true},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		fail := code != tc.code ||
			!strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) ||
			tc.noStdout && stdout != "" || tc.noErrs && stderr != ""
		if fail {
			t.Errorf("%q: exit %d (want %d)\nstdout (want %q, empty %v):\n%s\nstderr (want %q, empty %v):\n%s",
				tc.args, code, tc.code, tc.stdout, tc.noStdout, stdout, tc.stderr, tc.noErrs, stderr)
		}
	}
}

// decodeOne decodes stdout as exactly one JSON value into v.
func decodeOne(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("not the documented JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", stdout)
	}
}

func TestCheckJSON(t *testing.T) {
	dir := t.TempDir()
	dead := writeFile(t, dir, "dead.yaml", deadPolicy)
	bad := writeFile(t, dir, "bad.yaml", badPolicy)

	code, stdout, stderr := cli(t, "check", "--output", "json", "--policy", dead)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res checkResult
	decodeOne(t, stdout, &res)
	if !res.Valid || res.Policy != dead || res.Summary == nil || res.Summary.Rules != 2 || res.Summary.Files != 1 ||
		!strings.HasPrefix(res.Summary.Revision, "sha256:") || len(res.Errors) != 0 {
		t.Errorf("result %+v", res)
	}
	if len(res.Warnings) != 1 {
		t.Fatalf("warnings %+v, want the dead floor rule", res.Warnings)
	}
	w := res.Warnings[0]
	if w.Severity != "warning" || w.File != dead || w.Line != 7 || w.Field != "rules[1].match" || !strings.Contains(w.Message, `rule "floor" can never apply`) {
		t.Errorf("warning %+v", w)
	}
	// Field names are the interface: check them on the raw object.
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	rw := raw["warnings"].([]any)[0].(map[string]any)
	for _, k := range []string{"severity", "check", "file", "line", "column", "field", "message"} {
		if _, ok := rw[k]; !ok {
			t.Errorf("warning lacks %q: %v", k, rw)
		}
	}

	code, stdout, stderr = cli(t, "check", "--output", "json", "--policy", bad)
	if code != exitFail || stderr != "" {
		t.Fatalf("invalid: exit %d, stderr %q", code, stderr)
	}
	res = checkResult{}
	decodeOne(t, stdout, &res)
	if res.Valid || res.Summary != nil || len(res.Errors) != 3 || len(res.Warnings) != 0 {
		t.Fatalf("invalid: %+v", res)
	}
	e := res.Errors[2]
	if e.Severity != "error" || e.File != bad || e.Line != 13 || e.Column != 5 || e.Field != "rules[1].deny[1]" || !strings.Contains(e.Message, "notasyscall") {
		t.Errorf("error %+v", e)
	}
	if !strings.Contains(stdout, `"summary": null`) {
		t.Errorf("an invalid policy's summary is not null:\n%s", stdout)
	}

	// I/O errors are not JSON: exit 2 and stderr.
	code, stdout, stderr = cli(t, "check", "--output", "json", "--policy", filepath.Join(dir, "none.yaml"))
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "cannot read policy") {
		t.Errorf("missing: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestProfileLintJSON(t *testing.T) {
	kill := writeFile(t, t.TempDir(), "kill.json", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_KILL"}]}`)
	code, stdout, stderr := cli(t, "profile", "lint", "--no-bpf", "--output", "json", kill)
	if code != exitFail || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res lintResult
	decodeOne(t, stdout, &res)
	if res.Profile != kill || !res.Problems {
		t.Errorf("result %+v", res)
	}
	found := false
	for _, f := range res.Findings {
		if f.Severity == "warning" && f.Check == "kill-thread" && f.File == kill && f.Field == "syscalls[0].action" && f.Message != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no kill-thread warning in %+v", res.Findings)
	}

	code, stdout, _ = cli(t, "profile", "lint", "--output", "json", "minimal")
	res = lintResult{}
	decodeOne(t, stdout, &res)
	if code != exitOK || res.Problems || len(res.Findings) == 0 || res.Findings[0].Severity != "info" {
		t.Errorf("minimal: exit %d, %+v", code, res)
	}
}

func TestProfileDiffJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b     string
		code     int
		relation string
		looser   bool
	}{
		{"runtime-default", "hardened", exitOK, "b-stricter", false},
		{"hardened", "runtime-default", exitFail, "a-stricter", true},
		{"minimal", "minimal", exitOK, "same", false},
	} {
		code, stdout, stderr := cli(t, "profile", "diff", "--output", "json", tc.a, tc.b)
		if code != tc.code || stderr != "" {
			t.Errorf("%s %s: exit %d (want %d), stderr %q", tc.a, tc.b, code, tc.code, stderr)
			continue
		}
		var res diffResult
		decodeOne(t, stdout, &res)
		if res.A != tc.a || res.B != tc.b || res.Relation != tc.relation || res.BLooser != tc.looser ||
			(len(res.LooserInB) > 0) != tc.looser || res.ArchesOnlyA == nil || res.FlagsB == nil {
			t.Errorf("%s %s: %+v", tc.a, tc.b, res)
		}
		if tc.relation == "b-stricter" && (len(res.LooserInA) == 0 || res.LooserInA[0].Syscall == "" || res.LooserInA[0].A == res.LooserInA[0].B) {
			t.Errorf("%s %s: looser_in_a %+v", tc.a, tc.b, res.LooserInA)
		}
	}
}

func TestAuditdRulesJSON(t *testing.T) {
	p := writeFile(t, t.TempDir(), "p.yaml", goodPolicy)
	code, text, _ := cli(t, "auditd-rules", "--policy", p)
	if code != exitOK {
		t.Fatal(code)
	}
	code, stdout, stderr := cli(t, "auditd-rules", "--output", "json", "--policy", p)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res auditdRulesResult
	decodeOne(t, stdout, &res)
	if !strings.HasPrefix(res.PolicyRevision, "sha256:") || len(res.Rules) == 0 || res.Notes == nil {
		t.Fatalf("result %+v", res)
	}
	// The same rules as the text output, which is what auditctl -R reads.
	for _, r := range res.Rules {
		if !strings.Contains(text, r+"\n") {
			t.Errorf("rule %q not in the text output", r)
		}
	}
}

// TestExplainSummary: the text shows the resulting section at a glance, and
// JSON has the same summary.
func TestExplainSummary(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	code, stdout, _ := cli(t, "explain", "--policy", p, "--namespace", "prod", "--profile-type", "RuntimeDefault")
	if code != exitOK {
		t.Fatal(code)
	}
	for _, want := range []string{
		"  default action SCMP_ACT_ERRNO; architectures SCMP_ARCH_X86_64",
		"  syscalls per action: SCMP_ACT_ALLOW ",
		// RuntimeDefault refuses keyctl and bpf already: only chroot changes.
		"  changed from what the container had (1):\n    chroot  SCMP_ACT_ALLOW  -> SCMP_ACT_ERRNO(EPERM)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, stdout)
		}
	}

	got := explainJSON(t, exitOK, "--policy", p, "--namespace", "prod", "--profile-type", "RuntimeDefault")
	sum, ok := got["summary"].(map[string]any)
	if !ok {
		t.Fatalf("no summary: %v", got)
	}
	if sum["default_action"] != "SCMP_ACT_ERRNO" || sum["actions"].(map[string]any)["SCMP_ACT_ALLOW"] == nil {
		t.Errorf("summary %v", sum)
	}
	changes := sum["changes"].([]any)
	var names []string
	for _, c := range changes {
		m := c.(map[string]any)
		names = append(names, m["syscall"].(string))
		if m["before"] == m["after"] {
			t.Errorf("change %v does not change", m)
		}
	}
	if strings.Join(names, " ") != "chroot" {
		t.Errorf("changed syscalls %v, want [chroot]", names)
	}

	// Injected into a container without seccomp: the default changes ("*").
	code, stdout, _ = cli(t, "explain", "--policy", p, "--namespace", "prod")
	if code != exitOK || !regexp.MustCompile(`\n    \*\s+SCMP_ACT_ALLOW\s+-> SCMP_ACT_ERRNO\(EPERM\)\n`).MatchString(stdout) {
		t.Errorf("Unconfined: exit %d, no default change in:\n%s", code, stdout)
	}

	// Exempt and Unconfined: no seccomp, no summary.
	got = explainJSON(t, exitOK, "--policy", p, "--namespace", "kube-system")
	if _, ok := got["summary"]; ok {
		t.Errorf("summary for a container without seccomp: %v", got["summary"])
	}
}
