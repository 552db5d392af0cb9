package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// cli runs the command in-process, as main would.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes content under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: node-agents
  match: {namespaces: [kube-system]}
  action: exempt
- name: default
  match: {profileTypes: [Unconfined]}
  action: inject
  profile: runtime-default
- name: floor
  match: {}
  action: tighten
  deny: [keyctl, bpf, chroot]
`

// Two mistakes on known lines: a misspelt key (line 7) and an unknown
// syscall (line 13).
const badPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: default
  match: {profileTypes: [Unconfined]}
  action: inject
  profil: runtime-default
- name: floor
  match: {}
  action: tighten
  deny:
  - keyctl
  - notasyscall
`

func TestUsage(t *testing.T) {
	t.Setenv("NRI_PLUGIN_SOCKET", "")
	code, _, stderr := cli(t)
	if code != exitUsage || !strings.Contains(stderr, "Usage:") {
		t.Errorf("no arguments: code %d, stderr %q", code, stderr)
	}
	code, _, stderr = cli(t, "frobnicate")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, stderr)
	}
	code, stdout, _ := cli(t, "help")
	if code != exitOK || !strings.Contains(stdout, "nri-seccomp explain") {
		t.Errorf("help: code %d, stdout %q", code, stdout)
	}
}

func TestSubcommandHelp(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"run":          {"-socket", "-name", "-idx", "-policy", "-log-format", "-log-level", "-decision-log"},
		"check":        {"-policy", "-strict", "-output"},
		"auditd-rules": {"-policy", "-output"},
		"explain":      {"-policy", "-namespace", "-pod", "-label", "-annotation", "-container", "-image", "-profile-type", "-profile", "-output"},
		"version":      {},
	} {
		code, _, stderr := cli(t, cmd, "-h")
		if code != exitOK {
			t.Errorf("%s -h: code %d", cmd, code)
		}
		if !strings.Contains(stderr, "Usage: nri-seccomp "+cmd) {
			t.Errorf("%s -h: no usage line:\n%s", cmd, stderr)
		}
		for _, f := range flags {
			if !regexp.MustCompile(`(?m)^  ` + f + `\b`).MatchString(stderr) {
				t.Errorf("%s -h does not list %s:\n%s", cmd, f, stderr)
			}
		}
	}
}

func TestPositionalArgumentsRefused(t *testing.T) {
	for _, args := range [][]string{{"check", "policy.yaml"}, {"explain", "x"}, {"run", "x"}, {"version", "x"}} {
		code, _, stderr := cli(t, args...)
		if code != exitUsage || !strings.Contains(stderr, `unexpected argument "x"`) && !strings.Contains(stderr, `unexpected argument "policy.yaml"`) {
			t.Errorf("%v: code %d, stderr %q", args, code, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := cli(t, "version")
	// go test never stamps VCS information: the line says so.
	want := `^nri-seccomp \S.* \(NRI v0\.12\.\d+\)\nrevision unknown \(not stamped: go run, go test or -buildvcs=false\)\ngo1\.\S+ \w+/\w+\n$`
	if code != exitOK || !regexp.MustCompile(want).MatchString(stdout) {
		t.Errorf("version: code %d, %q", code, stdout)
	}
}

func TestFormatVersion(t *testing.T) {
	nri := &debug.Module{Path: "github.com/containerd/nri", Version: "v0.12.3"}
	for _, tc := range []struct {
		name, ld string
		bi       *debug.BuildInfo
		want     []string // lines 1 and 2
	}{
		{"no build info", "", nil, []string{"nri-seccomp (devel) (NRI unknown)", "revision unknown (not stamped: go run, go test or -buildvcs=false)"}},
		{"stamped, clean", "", &debug.BuildInfo{
			Main: debug.Module{Version: "v1.4.0"}, Deps: []*debug.Module{nri},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "53257a8cfe8328dfbefdc86c2980892e2c7850fe"},
				{Key: "vcs.time", Value: "2026-12-03T09:12:02Z"}, {Key: "vcs.modified", Value: "false"}},
		}, []string{"nri-seccomp v1.4.0 (NRI v0.12.3)", "revision 53257a8cfe8328dfbefdc86c2980892e2c7850fe, committed 2026-12-03T09:12:02Z"}},
		{"stamped, modified, ldflags version wins", "v9.9.9", &debug.BuildInfo{
			Main: debug.Module{Version: "(devel)"}, Deps: []*debug.Module{nri},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}},
		}, []string{"nri-seccomp v9.9.9 (NRI v0.12.3)", "revision abc, modified"}},
		{"devel, unstamped", "", &debug.BuildInfo{Deps: []*debug.Module{nri}},
			[]string{"nri-seccomp (devel) (NRI v0.12.3)", "revision unknown (not stamped: go run, go test or -buildvcs=false)"}},
	} {
		got := strings.Split(formatVersion(tc.ld, tc.bi), "\n")
		if len(got) != 4 || got[0] != tc.want[0] || got[1] != tc.want[1] || !strings.HasPrefix(got[2], "go") {
			t.Errorf("%s: got %q, want %q then the Go version", tc.name, got, tc.want)
		}
	}
}

func TestCheckOK(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	code, stdout, stderr := cli(t, "check", "--policy", p)
	if code != exitOK {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`^policy OK: 3 rules, 0 profiles, 1 files, revision sha256:[0-9a-f]{64}, 0 warnings\n$`).MatchString(stdout) {
		t.Errorf("stdout = %q", stdout)
	}
}

func TestCheckDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "10-base.yaml", goodPolicy)
	writeFile(t, dir, "20-more.yaml", `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  web: {inline: {defaultAction: SCMP_ACT_ALLOW, syscalls: [{names: [ptrace], action: SCMP_ACT_ERRNO}]}}
rules:
- name: web
  match: {namespaces: [web]}
  action: tighten
  profile: web
`)
	code, stdout, _ := cli(t, "check", "--policy", dir)
	if code != exitOK || !strings.HasPrefix(stdout, "policy OK: 4 rules, 1 profiles, 2 files,") {
		t.Errorf("code %d, stdout %q", code, stdout)
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", badPolicy)
	code, stdout, stderr := cli(t, "check", "--policy", p)
	if code != exitFail || stdout != "" {
		t.Fatalf("code %d, want %d; stdout %q (want none)", code, exitFail, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; last != "nri-seccomp check: invalid policy: 3 problems" {
		t.Errorf("last line %q", last)
	}
	// Every other line is file:line[:col]: field: message.
	for _, l := range lines[:len(lines)-1] {
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `:\d+(:\d+)?: rules\[\d\]\S*: \S`).MatchString(l) {
			t.Errorf("not file:line: field: message: %q", l)
		}
	}
	// Both mistakes, each on its own line, in file order.
	for _, want := range []string{p + `:7:\d+: rules\[0\]\.profil: unknown field`, p + `:13:\d+: rules\[1\]\.deny\[1\]: .*"notasyscall"`} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(stderr) {
			t.Errorf("no problem matching %q in:\n%s", want, stderr)
		}
	}
}

func TestCheckMissingPolicy(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	code, stdout, stderr := cli(t, "check", "--policy", missing)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, missing+": cannot read policy") {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckWarnsAboutRunc(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: no-exec
  match: {}
  action: tighten
  deny: [execve]
`)
	code, stdout, stderr := cli(t, "check", "--policy", p)
	if code != exitOK {
		t.Fatalf("a warning is not a failure: code %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "warning: "+p+":4: rules[0].deny: rule \"no-exec\": runc cannot start a container with it: refuses execve") ||
		strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.HasPrefix(stdout, "policy OK: ") || !strings.HasSuffix(stdout, ", 1 warnings\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if code, _, _ := cli(t, "check", "--strict", "--policy", p); code != exitFail {
		t.Errorf("--strict with a warning: code %d, want %d", code, exitFail)
	}
}

// explainJSON runs explain with --output json and decodes the object.
func explainJSON(t *testing.T, wantCode int, args ...string) map[string]any {
	t.Helper()
	code, stdout, stderr := cli(t, append([]string{"explain", "--output", "json"}, args...)...)
	if code != wantCode {
		t.Fatalf("explain %v: code %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, stdout, stderr)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("explain %v: not JSON: %v\n%s", args, err, stdout)
	}
	if dec.More() {
		t.Fatalf("explain %v: more than one JSON value:\n%s", args, stdout)
	}
	return got
}

func TestExplainInject(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	got := explainJSON(t, exitOK, "--policy", p, "--namespace", "prod", "--pod", "web", "--container", "app",
		"--label", "tier=web", "--annotation", "a=b", "--image", "registry.example.com/app:1")
	if rules := got["rules"].([]any); len(rules) != 2 || rules[0] != "default" || rules[1] != "floor" {
		t.Errorf("rules = %v, want [default floor]", got["rules"])
	}
	if got["mode"] != "enforce" || got["changed"] != true {
		t.Errorf("mode %v changed %v", got["mode"], got["changed"])
	}
	sc, ok := got["seccomp"].(map[string]any)
	if !ok || sc["defaultAction"] == nil || sc["syscalls"] == nil {
		t.Fatalf("seccomp = %v, want a LinuxSeccomp object", got["seccomp"])
	}
	assertRefuses(t, decodeSeccomp(t, sc), "keyctl", "bpf", "chroot", "ptrace!")
	skipped := got["skipped"].([]any)
	if len(skipped) != 1 || skipped[0].(map[string]any)["name"] != "node-agents" || skipped[0].(map[string]any)["reason"] == "" {
		t.Errorf("skipped = %v, want node-agents with a reason", skipped)
	}
	if d, _ := got["digest"].(string); !strings.HasPrefix(d, "sha256-v2:") {
		t.Errorf("digest = %v", got["digest"])
	}
	in := got["input"].(map[string]any)
	if in["namespace"] != "prod" || in["image"] != "registry.example.com/app:1" || in["labels"].(map[string]any)["tier"] != "web" {
		t.Errorf("input = %v", in)
	}
}

func TestExplainExempt(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	got := explainJSON(t, exitOK, "--policy", p, "--namespace", "kube-system")
	if rules := got["rules"].([]any); len(rules) != 1 || rules[0] != "node-agents" {
		t.Errorf("rules = %v", got["rules"])
	}
	if got["changed"] != false || got["exempt"] != true {
		t.Errorf("changed %v exempt %v", got["changed"], got["exempt"])
	}
	if v, ok := got["seccomp"]; !ok || v != nil {
		t.Errorf("seccomp = %v, want null (an exempt Unconfined container keeps no seccomp)", v)
	}
}

func TestExplainCurrentProfile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "policy.yaml", goodPolicy)
	prof := writeFile(t, dir, "local.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]}`)

	got := explainJSON(t, exitOK, "--policy", p, "--namespace", "prod", "--profile", prof)
	if in := got["input"].(map[string]any); in["profile_type"] != "Localhost" || in["has_seccomp"] != true {
		t.Errorf("--profile alone: input = %v, want Localhost with seccomp", in)
	}
	if rules := got["rules"].([]any); len(rules) != 1 || rules[0] != "floor" {
		t.Errorf("rules = %v, want [floor] (a Localhost container is not injected)", got["rules"])
	}
	// Keeps the container's own refusal and adds the floor's.
	assertRefuses(t, decodeSeccomp(t, got["seccomp"]), "ptrace", "keyctl", "chroot", "read!")

	got = explainJSON(t, exitOK, "--policy", p, "--namespace", "prod", "--profile-type", "RuntimeDefault")
	if in := got["input"].(map[string]any); in["profile_type"] != "RuntimeDefault" || in["has_seccomp"] != true {
		t.Errorf("RuntimeDefault without --profile: input = %v, want the built-in profile", in)
	}
}

func TestExplainText(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	code, stdout, stderr := cli(t, "explain", "--policy", p, "--namespace", "prod", "--pod", "web", "--container", "app")
	if code != exitOK {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{`container prod/web "app"`, "rules applied, in order:", "default", "floor", "rules not applied:", "node-agents", "result: seccomp set (mode enforce, sha256-v2:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, stdout)
		}
	}
}

func TestExplainBadInput(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "policy.yaml", goodPolicy)
	bad := writeFile(t, dir, "bad.yaml", badPolicy)
	prof := writeFile(t, dir, "local.json", `{"defaultAction": "SCMP_ACT_ALLOW"}`)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--label", "novalue"}, exitUsage, "want key=value"},
		{[]string{"--label", "a=1", "--label", "a=2"}, exitUsage, `key "a" given twice`},
		{[]string{"--annotation", "=x"}, exitUsage, "want key=value"},
		{[]string{"--profile-type", "unconfined"}, exitUsage, "want one of Unconfined, RuntimeDefault, Localhost"},
		{[]string{"--output", "yaml"}, exitUsage, "want one of text, json"},
		{[]string{"--profile-type", "Localhost"}, exitUsage, "needs the profile"},
		{[]string{"--profile-type", "Unconfined", "--profile", prof}, exitUsage, "has no seccomp profile"},
		{[]string{"--profile", filepath.Join(dir, "missing.json")}, exitUsage, "missing.json"},
		{[]string{"--profile", bad}, exitFail, "--profile"},
		{[]string{"--policy", filepath.Join(dir, "missing.yaml")}, exitUsage, "missing.yaml: cannot read policy"},
		{[]string{"--policy", bad}, exitFail, "notasyscall"},
	} {
		args := append([]string{"explain", "--policy", p}, tc.args...)
		code, stdout, stderr := cli(t, args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: code %d (want %d), stderr %q (want %q), stdout %q", tc.args, code, tc.code, stderr, tc.want, stdout)
		}
	}
}

// decodeSeccomp turns a decoded JSON object back into a LinuxSeccomp.
func decodeSeccomp(t *testing.T, v any) *specs.LinuxSeccomp {
	t.Helper()
	var s specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(mustJSON(t, v)), &s); err != nil {
		t.Fatalf("not a LinuxSeccomp: %v", err)
	}
	return &s
}

// assertRefuses checks, with the profile model, that s refuses each named
// syscall (called with zero arguments) on this machine, and allows each name
// that ends in "!".
func assertRefuses(t *testing.T, s *specs.LinuxSeccomp, names ...string) {
	t.Helper()
	if s == nil {
		t.Fatal("no seccomp section")
	}
	native := profile.NativeArch(runtime.GOARCH)
	m, err := profile.FromSpec(s, native)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		name, allow := strings.CutSuffix(n, "!")
		if denies := m.Eval(native, name, [6]uint64{}).Level.Denies(); denies == allow {
			t.Errorf("%s: refused = %v, want %v", name, denies, !allow)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
