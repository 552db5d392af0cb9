package profile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// doc builds a profile from lines, so each case says on which line its
// mistake is.
func doc(lines ...string) string { return strings.Join(lines, "\n") }

// Every input the reader refuses, with the exact message a user sees.
func TestParseRefuses(t *testing.T) {
	const allow = `"defaultAction": "SCMP_ACT_ALLOW",`
	tests := []struct {
		name, in, want string
	}{
		{"duplicate key", doc(`{`, `"defaultAction": "SCMP_ACT_ERRNO",`, `"defaultAction": "SCMP_ACT_ALLOW"`, `}`),
			`p.json:3: defaultAction: duplicate key "defaultAction" (first at line 2)`},
		{"case-variant key", doc(`{`, `"defaultAction": "SCMP_ACT_ERRNO",`, `"DEFAULTACTION": "SCMP_ACT_ALLOW"`, `}`),
			`p.json:3: DEFAULTACTION: unknown key "DEFAULTACTION" (did you mean "defaultAction"?)`},
		{"case-variant key alone", doc(`{"DefaultAction": "SCMP_ACT_ERRNO"}`),
			`p.json:1: DefaultAction: unknown key "DefaultAction" (did you mean "defaultAction"?)`},
		{"duplicate key in a rule", doc(`{`+allow, `"syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",`, `  "action": "SCMP_ACT_ALLOW"}]}`),
			`p.json:3: syscalls[0].action: duplicate key "action" (first at line 2)`},
		{"case-variant key in an argument", doc(`{`+allow, `"syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO",`, `  "args": [{"index": 0, "value": 2, "OP": "SCMP_CMP_EQ", "op": "SCMP_CMP_NE"}]}]}`),
			`p.json:3: syscalls[0].args[0].OP: unknown key "OP" (did you mean "op"?)`},
		{"unknown key", doc(`{`+allow, `"sycalls": []}`),
			`p.json:2: sycalls: unknown key "sycalls" (did you mean "syscalls"?)`},
		{"unknown key in includes", doc(`{`+allow, `"syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",`, `  "includes": {"capabilities": ["CAP_SYS_PTRACE"]}}]}`),
			`p.json:3: syscalls[0].includes.capabilities: unknown key "capabilities"`},
		{"x86_64 in includes arches", doc(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [`, `{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",`, ` "includes": {"arches": ["x86_64"]}}]}`),
			`p.json:3: syscalls[0].includes.arches[0]: unknown architecture "x86_64" (did you mean "amd64"?): moby compares Go-style names (amd64, arm, arm64, loongarch64, mips3l64n32, mips64, mips64n32, mipsel, mipsel64, ppc, ppc64, ppc64le, riscv64, s390, s390x, x86), so the rule would be dropped silently`},
		{"SCMP token in excludes arches", doc(`{`+allow, `"syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "excludes": {"arches": ["SCMP_ARCH_AARCH64"]}}]}`),
			`p.json:2: syscalls[0].excludes.arches[0]: unknown architecture "SCMP_ARCH_AARCH64" (did you mean "arm64"?): moby compares Go-style names (amd64, arm, arm64, loongarch64, mips3l64n32, mips64, mips64n32, mipsel, mipsel64, ppc, ppc64, ppc64le, riscv64, s390, s390x, x86), so the rule would be kept silently`},
		{"misspelt capability", doc(`{`+allow, `"syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO",`, ` "excludes": {"caps": ["CAP_SYS_BOOOT"]}}]}`),
			`p.json:3: syscalls[0].excludes.caps[0]: unknown capability "CAP_SYS_BOOOT" (did you mean "CAP_SYS_BOOT"?): it never matches, so the rule would be kept silently`},
		{"capability without CAP_", doc(`{`+allow, `"syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["sys_admin"]}}]}`),
			`p.json:2: syscalls[0].includes.caps[0]: unknown capability "sys_admin" (did you mean "CAP_SYS_ADMIN"?): it never matches, so the rule would be dropped silently`},
		{"bad minKernel", doc(`{`+allow, `"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "four"}}]}`),
			`p.json:2: syscalls[0].includes.minKernel: invalid kernel version: "four", expected "<kernel>.<major>"`},
		{"unknown archMap architecture", doc(`{`+allow, `"archMap": [`, `{"architecture": "SCMP_ARCH_X86_65", "subArchitectures": ["x32"]}]}`),
			"p.json:3: archMap[0].architecture: unknown architecture \"SCMP_ARCH_X86_65\" (did you mean \"SCMP_ARCH_X86_64\"?)\n" +
				`p.json:3: archMap[0].subArchitectures[0]: unknown architecture "x32" (did you mean "SCMP_ARCH_X32"?)`},
		{"archMap with amd64", doc(`{`+allow, `"archMap": [{"architecture": "amd64"}]}`),
			`p.json:2: archMap[0].architecture: unknown architecture "amd64" (did you mean "SCMP_ARCH_X86_64"?)`},
		{"architectures and archMap", doc(`{`+allow, `"architectures": ["SCMP_ARCH_X86_64"],`, `"archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`),
			`p.json:3: archMap: both architectures and archMap are given; use one (moby refuses the profile)`},
		{"name and names", doc(`{`+allow, `"syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ERRNO"}]}`),
			`p.json:2: syscalls[0].name: both name and names are given; use one (moby refuses the profile)`},
		{"unknown syscall in name", doc(`{`+allow, `"syscalls": [`, `{"name": "ptrase", "action": "SCMP_ACT_ERRNO"}]}`),
			`p.json:3: syscalls[0].name: unknown syscall "ptrase" (did you mean "ptrace"?)`},
		{"unknown syscall", doc(`{`+allow, `"syscalls": [`, `{"names": ["read",`, `"mkdri"], "action": "SCMP_ACT_ERRNO"}]}`),
			`p.json:4: syscalls[0].names[1]: unknown syscall "mkdri" (did you mean "mkdir"?)`},
		{"errnoRet 0", doc(`{`+allow, `"syscalls": [{"names": ["setuid"], "action": "SCMP_ACT_ERRNO",`, `"errnoRet": 0}]}`),
			`p.json:3: syscalls[0].errnoRet: 0 makes the refused call appear to succeed; use an errno in 1-4095 (1 is EPERM)`},
		{"errnoRet too large", doc(`{`+allow, `"syscalls": [{"names": ["setuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4096}]}`),
			`p.json:2: syscalls[0].errnoRet: 4096 is out of range (1-4095): a larger value does not read as an error`},
		{"defaultErrnoRet 0", doc(`{"defaultAction": "SCMP_ACT_ERRNO",`, `"defaultErrnoRet": 0}`),
			`p.json:2: defaultErrnoRet: 0 makes the refused call appear to succeed; use an errno in 1-4095 (1 is EPERM)`},
		{"negative errnoRet", doc(`{`+allow, `"syscalls": [{"names": ["setuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}]}`),
			`p.json:2: syscalls[0].errnoRet: expected a non-negative integer, got number -1`},
		{"string for a number", doc(`{`+allow, `"syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO",`, `"args": [{"index": "0", "op": "SCMP_CMP_EQ"}]}]}`),
			`p.json:3: syscalls[0].args[0].index: expected a non-negative integer, got string`},
		{"empty names", doc(`{`+allow, `"syscalls": [`, `{"names": [], "action": "SCMP_ACT_ERRNO"}]}`),
			`p.json:3: syscalls[0].names: is empty`},
		{"null rule", doc(`{`+allow, `"syscalls": [null]}`),
			`p.json:2: syscalls[0]: null entry`},
		{"unknown action", doc(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [`, `{"names": ["read"], "action": "scmp_act_allow"}]}`),
			`p.json:2: syscalls[0].action: unknown action "scmp_act_allow" (did you mean "SCMP_ACT_ALLOW"?)`},
		{"trailing object", doc(`{"defaultAction": "SCMP_ACT_ALLOW"}`, `{"defaultAction": "SCMP_ACT_ERRNO"}`),
			`p.json:2: trailing data after the profile object`},
		{"trailing bracket", `{"defaultAction": "SCMP_ACT_ALLOW"}]`,
			`p.json:1: trailing data after the profile object`},
		{"cut short", doc(`{"defaultAction": "SCMP_ACT_ALLOW",`, `"syscalls": [`),
			`p.json:2: unexpected end of JSON: the profile is cut short`},
		{"syntax error", doc(`{"defaultAction": "SCMP_ACT_ALLOW",`, `"syscalls": [}`),
			`p.json:2: invalid character '}' looking for beginning of value`},
		{"empty", "  \n", `p.json:1: empty: expected a JSON object (a seccomp profile)`},
		{"not an object", "\n[]", `p.json:2: expected a JSON object (a seccomp profile) at the top level`},
		{"only separators", " ,:, ", `p.json:1: expected a JSON object (a seccomp profile) at the top level`},
		{"no defaultAction", `{"architectures": ["SCMP_ARCH_X86_64"]}`, `p.json: defaultAction: is required`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := profile.ParseNamed("p.json", []byte(tc.in))
			if err == nil {
				t.Fatalf("accepted; want %s", tc.want)
			}
			if !errors.Is(err, profile.ErrInvalidProfile) {
				t.Errorf("errors.Is(err, ErrInvalidProfile) = false")
			}
			if err.Error() != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

// What the reader accepts, and what it reads.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(*specs.LinuxSeccomp) bool
	}{
		{"Docker tokens select the rule", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
			{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "includes": {"arches": ["amd64", "arm64", "x86"], "caps": ["CAP_KILL"]}},
			{"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_BOOT"]}}]}`,
			func(s *specs.LinuxSeccomp) bool {
				// Only on amd64, arm64 and x86 hosts is the ptrace rule kept.
				return len(s.Syscalls) >= 1 && s.Syscalls[len(s.Syscalls)-1].Names[0] == "reboot"
			}},
		{"single name", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "ptrace", "action": "SCMP_ACT_ERRNO", "comment": "no"}]}`,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 1 && s.Syscalls[0].Names[0] == "ptrace" }},
		{"errno 4095", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4095}`,
			func(s *specs.LinuxSeccomp) bool { return *s.DefaultErrnoRet == 4095 }},
		{"trailing whitespace", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}\n\n  \t",
			func(s *specs.LinuxSeccomp) bool { return s.DefaultAction == specs.ActAllow }},
		{"null syscalls", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": null, "flags": null}`,
			func(s *specs.LinuxSeccomp) bool { return len(s.Syscalls) == 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := profile.Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Fatalf("read as %+v", s)
			}
		})
	}
}

// LoadFile reads only regular files of at most MaxSize, and never blocks.
func TestLoadFileBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	// A valid profile padded with whitespace past the cap: refused unread.
	pad := append([]byte(`{"defaultAction": "SCMP_ACT_ALLOW"}`), bytes.Repeat([]byte(" "), profile.MaxSize)...)
	if err := os.WriteFile(big, pad, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
		is         error
	}{
		{big, "invalid seccomp profile: " + big + ": file too large: larger than the 4 MiB limit", boundedio.ErrTooLarge},
		{fifo, "invalid seccomp profile: " + fifo + ": not a regular file: it is a named pipe (FIFO)", boundedio.ErrNotRegular},
		{"/dev/zero", "invalid seccomp profile: /dev/zero: not a regular file: it is a character device", boundedio.ErrNotRegular},
		{dir, "invalid seccomp profile: " + dir + ": not a regular file: it is a directory", boundedio.ErrNotRegular},
	}
	// A LoadFile that blocked (on the FIFO, or reading /dev/zero) would hang
	// here until go test's own timeout, which fails with every goroutine's
	// stack: no timer of the test's own, which a loaded machine could trip.
	for _, tc := range tests {
		_, err := profile.LoadFile(tc.path)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.is) || !errors.Is(err, profile.ErrInvalidProfile) {
			t.Errorf("%s: got %v; want %q", tc.path, err, tc.want)
		}
	}
}

// "-" reads standard input once; problems name it.
func TestLoadFileStdin(t *testing.T) {
	testutil.Stdin(t, "{\n\"defaultAction\": \"SCMP_ACT_ALOW\"}")
	_, err := profile.LoadFile("-")
	want := `standard input:2: defaultAction: unknown action "SCMP_ACT_ALOW" (did you mean "SCMP_ACT_ALLOW"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v; want %q", err, want)
	}
}
