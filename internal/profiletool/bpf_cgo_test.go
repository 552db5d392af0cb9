//go:build cgo && linux

package profiletool

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Leaving out repeated rules before compiling changes nothing in the program
// libseccomp builds, only the time it takes.
func TestWithoutRepeatsSameProgram(t *testing.T) {
	one, two := uint(1), uint(2)
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86}}
	for range 50 {
		p.Syscalls = append(p.Syscalls,
			specs.LinuxSyscall{Names: []string{"keyctl", "bpf"}, Action: specs.ActErrno, ErrnoRet: &one},
			specs.LinuxSyscall{Names: []string{"bpf"}, Action: specs.ActErrno, ErrnoRet: &two}, // differs by errno: kept
			specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 40, Op: specs.OpEqualTo}}},
		)
	}
	// Alternating verdicts for bpf are all kept (libseccomp's result
	// depends on their order); keyctl and socket are kept once. Rules left
	// empty keep their place with the default action.
	countNames := func(s *specs.LinuxSeccomp) (n int) {
		for _, sc := range s.Syscalls {
			if sc.Action != s.DefaultAction {
				n += len(sc.Names)
			}
		}
		return n
	}
	if d := withoutRepeats(p); len(d.Syscalls) != len(p.Syscalls) || countNames(d) != 2+50*2 {
		t.Fatalf("%d rules naming %d syscalls, want %d and 102", len(d.Syscalls), countNames(d), len(p.Syscalls))
	}
	same := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	for range 50 {
		same.Syscalls = append(same.Syscalls, p.Syscalls[0], p.Syscalls[2])
	}
	if d := withoutRepeats(same); countNames(d) != 3 {
		t.Fatalf("plain repeats: %d syscalls named, want 3", countNames(d))
	}
	for _, s := range append([]*specs.LinuxSeccomp{p, same}, builtinSpecs(t)...) {
		full, err := compile(s)
		if err != nil {
			t.Fatal(err)
		}
		short, err := compile(withoutRepeats(s))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(full, short) {
			t.Errorf("programs differ: %d and %d instructions", len(full), len(short))
		}
	}
}

func builtinSpecs(t *testing.T) []*specs.LinuxSeccomp {
	var out []*specs.LinuxSeccomp
	for _, n := range BuiltinNames() {
		src, err := Load(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, src.Spec)
	}
	return out
}
