package profiletool

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// lint and check read through the same reader: every input one refuses, the
// other refuses, with the same problem at the same line and field.
func TestLintAgreesWithParse(t *testing.T) {
	const allow = `"defaultAction": "SCMP_ACT_ALLOW",`
	tests := []struct {
		name, in string
		want     string // the first lint finding, as the CLI prints it
	}{
		{"duplicate key", "{\n\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
			`p.json:3: error: parse: defaultAction: duplicate key "defaultAction" (first at line 2)`},
		{"case-variant key", "{" + allow + "\n\"Syscalls\": []}",
			`p.json:2: error: parse: Syscalls: unknown key "Syscalls" (did you mean "syscalls"?)`},
		{"empty names", "{" + allow + "\n\"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}",
			`p.json:2: error: invalid: syscalls[0].names: is empty`},
		{"trailing data", "{" + allow[:len(allow)-1] + "}\n]",
			`p.json:2: error: parse: trailing data after the profile object`},
		{"errnoRet 0", "{" + allow + "\n\"syscalls\": [{\"names\": [\"setuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0}]}",
			`p.json:2: error: invalid: syscalls[0].errnoRet: 0 makes the refused call appear to succeed; use an errno in 1-4095 (1 is EPERM)`},
		{"x86_64 in includes", "{" + allow + "\n\"syscalls\": [{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"arches\": [\"x86_64\"]}}]}",
			`p.json:2: error: invalid: syscalls[0].includes.arches[0]: unknown architecture "x86_64" (did you mean "amd64"?): moby compares Go-style names (amd64, arm, arm64, loongarch64, mips3l64n32, mips64, mips64n32, mipsel, mipsel64, ppc, ppc64, ppc64le, riscv64, s390, s390x, x86), so the rule would be dropped silently`},
		{"misspelt capability", "{" + allow + "\n\"syscalls\": [{\"names\": [\"reboot\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"caps\": [\"CAP_SYS_BOOOT\"]}}]}",
			`p.json:2: error: invalid: syscalls[0].excludes.caps[0]: unknown capability "CAP_SYS_BOOOT" (did you mean "CAP_SYS_BOOT"?): it never matches, so the rule would be kept silently`},
		{"unknown syscall", "{" + allow + "\n\"syscalls\": [{\"names\": [\"keyctl\",\n\"mkdri\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
			`p.json:3: error: unknown-syscall: syscalls[0].names[1]: unknown syscall "mkdri" (did you mean "mkdir"?): runc ignores it, so the rule does nothing for it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := profile.Parse([]byte(tc.in))
			fs := Lint([]byte(tc.in), LintOptions{Native: specs.ArchX86_64, NoBPF: true})
			if perr == nil {
				t.Fatal("Parse accepted it")
			}
			if len(fs) == 0 || fs[0].Severity != SevError {
				t.Fatalf("lint found no error: %v", fs)
			}
			if got := fs[0].Format("p.json"); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	// Accepted by both: the built-in profiles and a Docker-format profile.
	docker := `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		"syscalls": [{"name": "ptrace", "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_PTRACE"], "arches": ["s390x"]}}]}`
	inputs := [][]byte{[]byte(docker)}
	for _, n := range BuiltinNames() {
		b, _ := Builtin(n)
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		if _, err := profile.Parse(in); err != nil {
			t.Errorf("Parse: %v", err)
		}
		fs := Lint(in, LintOptions{Native: specs.ArchX86_64, NoBPF: true})
		if i := slices.IndexFunc(fs, func(f Finding) bool { return f.Severity == SevError }); i >= 0 {
			t.Errorf("lint: %v", fs[i])
		}
	}
}

// A valid profile of 10,000 entries (about 1.3 MB) naming the same syscalls
// again and again: lint used to compare every pair of rules per syscall and
// ran out of memory. Now each repeat is one finding, and the work linear.
func TestLintManyRepeatsIsLinear(t *testing.T) {
	const n = 10000
	p := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}
	one := uint(1)
	for range n {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"keyctl", "bpf", "ptrace", "add_key"}, Action: specs.ActErrno, ErrnoRet: &one})
	}
	data, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fs := Lint(data, LintOptions{Native: specs.ArchX86_64})
	runtime.ReadMemStats(&after)

	dups := 0
	for _, f := range fs {
		if f.Check == CheckDuplicate {
			dups++
		}
	}
	if want := 4 * (n - 1); dups != want {
		t.Errorf("%d duplicate findings, want %d (one per repeated name)", dups, want)
	}
	if !slices.ContainsFunc(fs, func(f Finding) bool {
		return f.Check == CheckBPFSize && f.Severity == SevInfo && strings.Contains(f.Message, "compiles to")
	}) {
		t.Errorf("no BPF size: %v", fs[len(fs)-1])
	}
	// Pairs would be 4 x 50 million findings; linear work allocates a few
	// hundred megabytes at most (measured: about 90 MiB).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<30 {
		t.Errorf("lint allocated %d MiB for %d bytes of profile", alloc>>20, len(data))
	}
	t.Logf("%d bytes, %d findings, %d MiB allocated", len(data), len(fs), (after.TotalAlloc-before.TotalAlloc)>>20)
}

// Conflicts are still reported once each, against the first rule that
// contradicts.
func TestLintConflictOncePerRule(t *testing.T) {
	doc := `{` + okBase + `, "syscalls": [
		{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"},
		{"names": ["bpf"], "action": "SCMP_ACT_KILL_PROCESS"},
		{"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
		{"names": ["bpf"], "action": "SCMP_ACT_KILL_PROCESS"}]}`
	var got []string
	for _, f := range lintOf(t, doc) {
		if f.Check == CheckConflict || f.Check == CheckDuplicate {
			got = append(got, fmt.Sprintf("%s %s %s", f.Check, f.Field, f.Message))
		}
	}
	want := []string{
		"conflicting-rules syscalls[1] bpf: syscalls[0] gives SCMP_ACT_ERRNO(EPERM), this gives SCMP_ACT_KILL_PROCESS, both unconditionally: the stricter applies",
		"conflicting-rules syscalls[2] bpf: syscalls[0] gives SCMP_ACT_ERRNO(EPERM), this gives SCMP_ACT_ERRNO(ENOSYS), both unconditionally: the stricter applies",
		"duplicate-rule syscalls[3] bpf: same rule as syscalls[1]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
