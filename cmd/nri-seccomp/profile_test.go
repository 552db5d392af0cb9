package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the commands that re-execute the binary re-execute this test
// binary as the real one: `profile test` runs "profile __exec ..." as its
// child, and the audit pipeline's process-events self-check runs "version"
// (startSelf). Without the second, every self-check in a test started the
// whole suite again in a child, killed when the test stopped auditing and
// leaving its temporary directories behind.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "profile" && os.Args[2] == childCommand ||
		len(os.Args) == 2 && os.Args[1] == "version" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	removeBuiltBinary()
	os.Exit(code)
}

func TestProfileShow(t *testing.T) {
	code, out, errOut := cli(t, "profile", "show", "hardened", "--arch", "x86", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s struct {
		DefaultAction string `json:"defaultAction"`
		Syscalls      []struct {
			Names []string `json:"names"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if strings.Contains(out, `"newfstatat"`) || !strings.Contains(out, `"mmap2"`) {
		t.Errorf("--arch x86 kept an x86_64-only name or dropped an x86 one:\n%s", out)
	}
	code, out, _ = cli(t, "profile", "show", "minimal")
	if code != exitOK || !strings.Contains(out, "depending on arguments: 2 syscalls") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"profile", "show"}, exitUsage, "want one profile"},
		{[]string{"profile", "show", "hardend"}, exitUsage, "neither a built-in profile"},
		{[]string{"profile", "show", "hardened", "--arch", "sparc"}, exitUsage, "unknown architecture"},
		{[]string{"profile", "show", "hardened", "--output", "yaml"}, exitUsage, "want one of text, json"},
		{[]string{"profile", "show", writeFile(t, t.TempDir(), "bad.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]}`)}, exitFail, `did you mean "mkdir"`},
		{[]string{"profile"}, exitUsage, "Usage: nri-seccomp profile"},
		{[]string{"profile", "frob"}, exitUsage, `unknown command "frob"`},
	} {
		code, _, errOut := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d, ...%s...", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}

func TestProfileDiffExitStatus(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		code int
		out  string
	}{
		{"runtime-default", "hardened", 0, "B is stricter than A"},
		{"hardened", "runtime-default", 1, "B is LOOSER than A"},
		{"minimal", "minimal", 0, "same behaviour"},
		{"hardened", "nope", 2, ""},
	} {
		code, out, errOut := cli(t, "profile", "diff", tc.a, tc.b)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("diff %s %s: exit %d; want %d\n%s%s", tc.a, tc.b, code, tc.code, out, errOut)
		}
	}
	if code, _, _ := cli(t, "profile", "diff", "hardened"); code != 2 {
		t.Errorf("one argument: exit %d; want 2", code)
	}
}

func TestProfileLintExitStatus(t *testing.T) {
	if code, out, _ := cli(t, "profile", "lint", "minimal"); code != exitOK || !strings.Contains(out, "minimal: info: bpf-size") {
		t.Errorf("minimal: exit %d\n%s", code, out)
	}
	bad := writeFile(t, t.TempDir(), "kill.json", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_KILL"}]}`)
	code, out, _ := cli(t, "profile", "lint", "--no-bpf", bad)
	if code != exitFail || !strings.Contains(out, bad+": warning: kill-thread: syscalls[0].action") || strings.Contains(out, "bpf-size") {
		t.Errorf("kill profile: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, "profile", "lint", filepath.Join(t.TempDir(), "none.json")); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing file: exit %d, %s", code, errOut)
	}
}

func TestProfileConvert(t *testing.T) {
	code, docker, errOut := cli(t, "profile", "convert", "runtime-default")
	if code != exitOK || !strings.Contains(docker, `"archMap"`) {
		t.Fatalf("to docker: exit %d %s\n%.300s", code, errOut, docker)
	}
	f := writeFile(t, t.TempDir(), "docker.json", docker)
	code, oci, errOut := cli(t, "profile", "convert", f)
	if code != exitOK || strings.Contains(oci, "archMap") || !strings.Contains(oci, `"SCMP_ARCH_X32"`) {
		t.Fatalf("back to oci: exit %d %s\n%.300s", code, errOut, oci)
	}
	if code, _, _ := cli(t, "profile", "convert", "--to", "xml", f); code != exitUsage {
		t.Errorf("--to xml: exit %d", code)
	}
}

// TestProfileTest runs real commands under profiles on this machine.
func TestProfileTest(t *testing.T) {
	dir := t.TempDir()
	deny := writeFile(t, dir, "deny-mkdir.json", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`)
	target := filepath.Join(dir, "made")
	code, _, errOut := cli(t, "profile", "test", deny, "--", "mkdir", target)
	if code != exitFail || !strings.Contains(errOut, "Operation not permitted") || !strings.Contains(errOut, "exit status 1") {
		t.Fatalf("refused mkdir: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("%s exists: the refusal did not happen", target)
	}
	if !strings.Contains(errOut, "mkdir ") || !strings.Contains(errOut, "SCMP_ACT_ERRNO(EPERM)") {
		t.Fatalf("report does not name the refused call:\n%s", errOut)
	}
	code, _, errOut = cli(t, "profile", "test", "hardened", "--", "mkdir", target)
	if code != exitOK || !strings.Contains(errOut, "no syscall was refused or logged") {
		t.Fatalf("hardened mkdir: exit %d\n%s", code, errOut)
	}
	// --log: the call runs, and the report names it.
	logged := filepath.Join(dir, "logged")
	code, _, errOut = cli(t, "profile", "test", "--log", deny, "--", "mkdir", logged)
	if _, err := os.Stat(logged); err != nil || code != exitFail || !strings.Contains(errOut, "SCMP_ACT_ERRNO(EPERM)") {
		t.Fatalf("--log: exit %d, stat %v\n%s", code, err, errOut)
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"profile", "test", "hardened"},
		{"profile", "test", "hardened", "--"},
		{"profile", "test", "--", "true"},
		{"profile", "test", "hardened", "--", "/no/such/command"},
	} {
		if code, _, errOut := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d; want 2 (%s)", args, code, errOut)
		}
	}
}
