package profiletool

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNoBPF is returned where a BPF program is needed and this binary cannot
// compile one (built without cgo/libseccomp).
var ErrNoBPF = errors.New("BPF compilation unavailable")

// MaxBPFInstructions is the kernel's limit for one filter (BPF_MAXINSNS).
const MaxBPFInstructions = 4096

// BPFLen compiles s as runc would (libseccomp) and returns the number of
// instructions. Repeated rules are left out first: libseccomp merges them into
// the same program, but adding each costs it time that grows with the rules
// already there (10,000 copies of one rule took 40 s).
func BPFLen(s *specs.LinuxSeccomp) (int, error) {
	raw, err := compile(withoutRepeats(s))
	if err != nil {
		return 0, err
	}
	return len(raw), nil
}

// withoutRepeats returns s without each syscall name whose previous rule was
// the same (action, errno and argument conditions), in a program libseccomp
// compiles to the same instructions. Only the previous rule
// for the name counts: libseccomp's result depends on the order of
// conflicting rules, so "A, B, A" keeps all three.
func withoutRepeats(s *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	out := *s
	out.Syscalls = make([]specs.LinuxSyscall, 0, len(s.Syscalls))
	last := map[string]string{} // name -> its previous rule
	for _, sc := range s.Syscalls {
		rule := fmt.Sprintf("%s/%v/%s", sc.Action, errnoOf(sc.ErrnoRet), argsKey(sc.Args))
		var names []string
		for _, n := range sc.Names {
			if prev, ok := last[n]; !ok || prev != rule {
				last[n] = rule
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			// Keep the rule's place with the default action, which the
			// compiler skips: the rule count decides, as in runc, whether
			// libseccomp optimises the program into a binary tree.
			sc = specs.LinuxSyscall{Names: sc.Names[:1], Action: s.DefaultAction, ErrnoRet: s.DefaultErrnoRet}
		} else {
			sc.Names = names
		}
		out.Syscalls = append(out.Syscalls, sc)
	}
	return &out
}

func errnoOf(ret *uint) any {
	if ret == nil {
		return "-"
	}
	return *ret
}
