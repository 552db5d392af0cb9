package runc

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRuncStartProblems(t *testing.T) {
	allowList := func(names ...string) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
		}
	}
	var everything []string
	for _, g := range needs {
		everything = append(everything, g.Names...)
	}

	tests := []struct {
		name      string
		s         *specs.LinuxSeccomp
		want      []string // refused syscalls
		wantCond  []string // of which conditionally
		wantVerds []string
	}{{
		name: "no seccomp",
	}, {
		name: "deny-list profile that leaves runc alone",
		s:    denyProfile("keyctl", "bpf"),
	}, {
		name:      "execve refused",
		s:         denyProfile("execve"),
		want:      []string{"execve"},
		wantVerds: []string{"SCMP_ACT_ERRNO(EPERM)"},
	}, {
		name: "getcwd killed",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getcwd"}, Action: specs.ActKillProcess}}},
		want:      []string{"getcwd"},
		wantVerds: []string{"SCMP_ACT_KILL_PROCESS"},
	}, {
		name: "audit mode logs but does not refuse",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"execve", "close"}, Action: specs.ActLog}}},
	}, {
		name: "short allow-list refuses everything runc needs but what it lists",
		s:    allowList(everything[1:]...),
		want: []string{"execve"},
	}, {
		name: "argument-dependent refusal",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"prctl"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 22, Op: specs.OpEqualTo}}}}},
		want:     []string{"prctl"},
		wantCond: []string{"prctl"},
	}, {
		name: "refused by default, allowed for some arguments",
		s: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: everything[1:], Action: specs.ActAllow},
			{Names: []string{"execve"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 2, Value: 0, Op: specs.OpEqualTo}}}}},
		want:     []string{"execve"},
		wantCond: []string{"execve"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := StartProblems(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			var got, cond, verds []string
			for _, p := range ps {
				got = append(got, p.Syscall)
				if p.Conditional {
					cond = append(cond, p.Syscall)
				}
				verds = append(verds, p.Verdict)
				if p.Why == "" {
					t.Errorf("%s: no reason", p.Syscall)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("refused = %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(cond, tc.wantCond) {
				t.Errorf("conditional = %v, want %v", cond, tc.wantCond)
			}
			if tc.wantVerds != nil && !reflect.DeepEqual(verds, tc.wantVerds) {
				t.Errorf("verdicts = %v, want %v", verds, tc.wantVerds)
			}
		})
	}
}

func TestRuncStartProblemsShortAllowList(t *testing.T) {
	ps, err := StartProblems(&specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Syscall)
	}
	for _, must := range []string{"execve", "getcwd", "fstatfs", "close"} {
		if !strings.Contains(strings.Join(names, ","), must) {
			t.Errorf("%s not reported for a short allow-list: %v", must, names)
		}
	}
	if strings.Contains(strings.Join(names, ","), "write") {
		t.Error("write is allowed but reported")
	}
	msg := FormatProblems(ps)
	if !strings.HasPrefix(msg, "runc cannot start a container with it: refuses execve (SCMP_ACT_ERRNO(EPERM)): runc executes") {
		t.Errorf("message = %q", msg)
	}
}

func TestRuncStartProblemsInvalidProfile(t *testing.T) {
	if _, err := StartProblems(&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}); err == nil {
		t.Fatal("invalid profile accepted")
	}
}

func TestRuncDenyProblems(t *testing.T) {
	ps := DenyProblems([]string{"keyctl", "execve", "bpf", "getcwd"})
	if len(ps) != 2 || ps[0].Syscall != "execve" || ps[1].Syscall != "getcwd" {
		t.Fatalf("got %v", ps)
	}
	if ps := DenyProblems([]string{"keyctl"}); ps != nil {
		t.Fatalf("got %v", ps)
	}
}

func TestNeedsIsACopy(t *testing.T) {
	n := Needs()
	n[0].Names[0] = "x"
	if Needs()[0].Names[0] != "execve" {
		t.Fatal("Needs exposes the package's table")
	}
}

func uintp(v uint) *uint { return &v }

// denyProfile refuses names with EPERM and allows the rest.
func denyProfile(names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{{
			Names:    names,
			Action:   specs.ActErrno,
			ErrnoRet: uintp(1),
		}},
	}
}
