package profiletool

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/runc"
)

// A profile runc can start a container with (a deny list), to which each
// case adds one mistake.
const okBase = `"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]`

func lintOf(t *testing.T, doc string) []Finding {
	t.Helper()
	return Lint([]byte(doc), LintOptions{Native: specs.ArchX86_64})
}

func TestLintClean(t *testing.T) {
	for _, ref := range []string{"runtime-default", "hardened", "minimal"} {
		b, _ := Builtin(ref)
		fs := Lint(b, LintOptions{Native: specs.ArchX86_64})
		if ref == "runtime-default" { // containerd's i386 socketcall hole: TestLintSocketcall
			fs = slices.DeleteFunc(fs, func(f Finding) bool { return f.Check == CheckSocketcall })
		}
		if HasProblems(fs) {
			t.Errorf("%s: %v", ref, fs)
		}
		if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Check == CheckBPFSize && f.Severity == SevInfo }) {
			t.Errorf("%s: no BPF size reported: %v", ref, fs)
		}
	}
	fs := lintOf(t, `{`+okBase+`, "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}]}`)
	if HasProblems(fs) {
		t.Errorf("deny list: %v", fs)
	}
}

func TestLintCases(t *testing.T) {
	rule := func(r string) string { return `{` + okBase + `, "syscalls": [` + r + `]}` }
	tests := []struct {
		name, doc string
		check     string
		sev       Severity
		field     string
		msg       string // substring
	}{
		{"not JSON", `{"defaultAction": `, CheckParse, SevError, "", "unexpected end of JSON: the profile is cut short"},
		{"unknown key", `{"defaultAction": "SCMP_ACT_ALLOW", "sycalls": []}`, CheckParse, SevError, "sycalls", `unknown key "sycalls" (did you mean "syscalls"?)`},
		{"bad action", rule(`{"names": ["bpf"], "action": "SCMP_ACT_NOPE"}`), CheckInvalid, SevError, "syscalls[0].action", "unknown action"},
		{"unknown syscall", rule(`{"names": ["bpf", "mkdri"], "action": "SCMP_ACT_ERRNO"}`), CheckUnknown, SevError, "syscalls[0].names[1]", `did you mean "mkdir"?`},
		{"not on the profile's architectures", rule(`{"names": ["recv"], "action": "SCMP_ACT_ERRNO"}`), CheckNotOnArch, SevInfo, "syscalls[0].names[0]", "recv exists on none"},
		{"duplicate", rule(`{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}, {"names": ["bpf", "keyctl"], "action": "SCMP_ACT_ERRNO"}`), CheckDuplicate, SevWarning, "syscalls[1]", "same rule as syscalls[0]"},
		{"conflicting", rule(`{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}, {"names": ["bpf"], "action": "SCMP_ACT_KILL_PROCESS"}`), CheckConflict, SevWarning, "syscalls[1]", "stricter applies"},
		{"shadowed", rule(`{"names": ["personality"], "action": "SCMP_ACT_ERRNO"}, {"names": ["personality"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}`), CheckShadowed, SevWarning, "syscalls[1]", "never applies"},
		{"redundant", rule(`{"names": ["bpf"], "action": "SCMP_ACT_ALLOW"}`), CheckRedundant, SevWarning, "syscalls[0]", "is the default action"},
		{"never matches", rule(`{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_LT"}]}`), CheckNeverMatch, SevWarning, "syscalls[0].args[0]", "never true"},
		{"masked never matches", rule(`{"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}`), CheckNeverMatch, SevWarning, "syscalls[0].args[0]", "never true"},
		{"always true", rule(`{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_GE"}]}`), CheckAlwaysTrue, SevWarning, "syscalls[0].args[0]", "always true"},
		{"overlapping rules", rule(`{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_LT"}]}, {"names": ["socket"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GT"}]}`), CheckAmbiguous, SevWarning, "", "overlap"},
		{"missing x32", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}]}`, CheckMissingArch, SevWarning, "architectures", "x32 not listed"},
		{"no architectures", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}]}`, CheckMissingArch, SevWarning, "architectures", "x86, x32 not listed"},
		{"kill rule", rule(`{"names": ["bpf"], "action": "SCMP_ACT_KILL"}`), CheckKillThread, SevWarning, "syscalls[0].action", "SCMP_ACT_KILL_PROCESS"},
		{"kill default", `{"defaultAction": "SCMP_ACT_KILL", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]}`, CheckKillThread, SevWarning, "defaultAction", "kills only the calling thread"},
		{"runc cannot start", rule(`{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}`), CheckRunc, SevError, "", "refuses getcwd (SCMP_ACT_ERRNO(EPERM))"},
		{"runc may not start", rule(`{"names": ["prctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 22, "op": "SCMP_CMP_EQ"}]}`), CheckRunc, SevWarning, "", "prctl (SCMP_ACT_ERRNO(EPERM) for some arguments)"},
		{"flags", `{` + okBase + `, "flags": ["SECCOMP_FILTER_FLAG_LOG"]}`, CheckFlags, SevWarning, "flags", "runc before 1.2"},
		{"defaultErrnoRet", `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ` + runcNames(t) + `, "action": "SCMP_ACT_ALLOW"}]}`, CheckErrnoRet, SevInfo, "defaultErrnoRet", "NRI drops defaultErrnoRet"},
		{"too many BPF instructions", hugeProfile(t), CheckBPFSize, SevError, "", "the kernel refuses more than 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := lintOf(t, tc.doc)
			i := slices.IndexFunc(fs, func(f Finding) bool { return f.Check == tc.check })
			if i < 0 {
				t.Fatalf("no %s finding in %v", tc.check, fs)
			}
			f := fs[i]
			if f.Severity != tc.sev || f.Field != tc.field || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("got %q; want %s %s %s ...%s...", f, tc.sev, tc.check, tc.field, tc.msg)
			}
			if (tc.sev != SevInfo) != HasProblems(fs) {
				t.Errorf("HasProblems = %v with %v", HasProblems(fs), fs)
			}
		})
	}
}

// hugeProfile has one conditional rule per value, past what one filter may
// hold.
func hugeProfile(t *testing.T) string {
	p := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}
	for v := range 4500 {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"ioctl"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: uint64(0x1000 + v), Op: specs.OpEqualTo}}})
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLintNoBPF(t *testing.T) {
	fs := Lint([]byte(`{`+okBase+`}`), LintOptions{Native: specs.ArchX86_64, NoBPF: true})
	if slices.ContainsFunc(fs, func(f Finding) bool { return f.Check == CheckBPFSize }) {
		t.Fatalf("BPF checked with NoBPF: %v", fs)
	}
	if s := fmt.Sprint(Finding{Severity: SevWarning, Check: CheckFlags, Field: "flags", Message: "x"}); s != "warning: flags-runc: flags: x" {
		t.Errorf("String() = %q", s)
	}
}

// runcNames is a JSON list of every syscall runc needs after loading the
// filter.
func runcNames(t *testing.T) string {
	var names []string
	for _, n := range runc.Needs() {
		names = append(names, n.Names...)
	}
	b, err := json.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
