package runc

// What runc itself needs from a seccomp profile: the syscalls it makes after
// installing the filter (`profile lint`, `check`), and the base set a
// recorded profile always allows (`record`).

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Need is a group of syscalls runc itself makes after it has installed
// the container's seccomp filter, with why.
type Need struct {
	Names []string
	Why   string
}

// needs: runc installs the filter before its last setup steps unless the
// container has no_new_privs (then just before execve), and Debian's runc
// 1.1.5 was measured failing with "operation not permitted" when a profile
// refused getcwd, fstatfs or close. A profile that refuses any of these makes
// every container fail to start, whatever the workload.
var needs = []Need{
	{[]string{"execve"}, "runc executes the container's process under the filter"},
	{[]string{"getcwd", "chdir"}, "runc enters and checks the working directory (CVE-2024-21626)"},
	{[]string{"fstatfs", "openat", "getdents64", "fcntl", "close"}, "runc closes the descriptors the container must not inherit"},
	{[]string{"newfstatat", "write"}, "runc finds the executable and signals the exec fifo"},
	{[]string{"openat2"}, "runc 1.2.8 opens /proc files with openat2 (measured: \"unsafe procfs detected\")"},
	{[]string{"statx"}, "runc 1.2.8 checks its /proc handles with statx(STATX_MNT_ID) (measured: \"check safety of ... magiclink\")"},
	{[]string{"capget", "capset", "prctl"}, "runc drops capabilities without no_new_privs"},
	{[]string{"setgroups", "setgid", "setuid"}, "runc switches to the container's user"},
	{[]string{"futex", "rt_sigprocmask", "rt_sigreturn", "sched_yield", "nanosleep", "mmap", "munmap"}, "the Go runtime inside runc's init process"},
}

// Needs returns the syscall groups runc needs after loading the filter
// (a copy).
func Needs() []Need {
	out := make([]Need, len(needs))
	for i, n := range needs {
		out[i] = Need{Names: slices.Clone(n.Names), Why: n.Why}
	}
	return out
}

// Problem is one syscall runc needs that a profile refuses.
type Problem struct {
	Syscall string
	// Verdict is the refusing action, e.g. "SCMP_ACT_ERRNO(EPERM)".
	Verdict string
	// Conditional: refused only for some arguments.
	Conditional bool
	Why         string
}

func (p Problem) String() string {
	s := p.Syscall + " (" + p.Verdict
	if p.Conditional {
		s += " for some arguments"
	}
	return s + "): " + p.Why
}

// StartProblems lists the syscalls runc needs that s refuses on this
// machine's architecture. A nil profile refuses nothing. An invalid profile
// is an error (the loader reports those in detail).
func StartProblems(s *specs.LinuxSeccomp) ([]Problem, error) {
	if s == nil {
		return nil, nil
	}
	p, err := profile.FromSpec(s, profile.NativeArch(runtime.GOARCH))
	if err != nil {
		return nil, err
	}
	return ProfileProblems(p), nil
}

// ProfileProblems lists the syscalls runc needs that the model p refuses.
func ProfileProblems(p *profile.Profile) []Problem {
	var out []Problem
	for _, group := range needs {
		for _, name := range group.Names {
			sc, ok := p.Syscalls[name]
			if !ok {
				if p.Default.Level.Denies() {
					out = append(out, Problem{Syscall: name, Verdict: p.Default.String(), Why: group.Why})
				}
				continue
			}
			// The strictest answer any call can get, and whether some
			// calls (other arguments) get through.
			worst, someAllowed := sc.Fallback, !sc.Fallback.Level.Denies()
			for _, r := range sc.Rules {
				worst = profile.Stricter(worst, r.Verdict)
				someAllowed = someAllowed || !r.Verdict.Level.Denies()
			}
			if worst.Level.Denies() {
				out = append(out, Problem{Syscall: name, Verdict: worst.String(), Conditional: someAllowed, Why: group.Why})
			}
		}
	}
	return out
}

// DenyProblems lists deny-list entries that name a syscall runc needs.
func DenyProblems(names []string) []Problem {
	var out []Problem
	for _, group := range needs {
		for _, name := range group.Names {
			if slices.Contains(names, name) {
				out = append(out, Problem{Syscall: name, Verdict: "denied", Why: group.Why})
			}
		}
	}
	return out
}

// FormatProblems joins problems for a one-line warning.
func FormatProblems(ps []Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return fmt.Sprintf("runc cannot start a container with it: refuses %s", strings.Join(parts, "; "))
}
