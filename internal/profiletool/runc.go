package profiletool

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// RuncNeed is a group of syscalls runc itself makes after it has installed
// the container's seccomp filter, with why.
type RuncNeed struct {
	Names []string
	Why   string
}

// runcNeeds: runc installs the filter before its last setup steps unless the
// container has no_new_privs (then just before execve), and Debian's runc
// 1.1.5 was measured failing with "operation not permitted" when a profile
// refused getcwd, fstatfs or close. A profile that refuses any of these makes
// every container fail to start, whatever the workload.
var runcNeeds = []RuncNeed{
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

// RuncNeeds returns the syscall groups runc needs after loading the filter
// (a copy).
func RuncNeeds() []RuncNeed {
	out := make([]RuncNeed, len(runcNeeds))
	for i, n := range runcNeeds {
		out[i] = RuncNeed{Names: slices.Clone(n.Names), Why: n.Why}
	}
	return out
}

// RuncProblem is one syscall runc needs that a profile refuses.
type RuncProblem struct {
	Syscall string
	// Verdict is the refusing action, e.g. "SCMP_ACT_ERRNO(EPERM)".
	Verdict string
	// Conditional: refused only for some arguments.
	Conditional bool
	Why         string
}

func (p RuncProblem) String() string {
	s := p.Syscall + " (" + p.Verdict
	if p.Conditional {
		s += " for some arguments"
	}
	return s + "): " + p.Why
}

// RuncStartProblems lists the syscalls runc needs that s refuses on this
// machine's architecture. A nil profile refuses nothing. An invalid profile
// is an error (the loader reports those in detail).
func RuncStartProblems(s *specs.LinuxSeccomp) ([]RuncProblem, error) {
	if s == nil {
		return nil, nil
	}
	p, err := profile.FromSpec(s, profile.NativeArch(runtime.GOARCH))
	if err != nil {
		return nil, err
	}
	return runcProblems(p), nil
}

func runcProblems(p *profile.Profile) []RuncProblem {
	var out []RuncProblem
	for _, group := range runcNeeds {
		for _, name := range group.Names {
			sc, ok := p.Syscalls[name]
			if !ok {
				if p.Default.Level.Denies() {
					out = append(out, RuncProblem{Syscall: name, Verdict: p.Default.String(), Why: group.Why})
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
				out = append(out, RuncProblem{Syscall: name, Verdict: worst.String(), Conditional: someAllowed, Why: group.Why})
			}
		}
	}
	return out
}

// RuncDenyProblems lists deny-list entries that name a syscall runc needs.
func RuncDenyProblems(names []string) []RuncProblem {
	var out []RuncProblem
	for _, group := range runcNeeds {
		for _, name := range group.Names {
			if slices.Contains(names, name) {
				out = append(out, RuncProblem{Syscall: name, Verdict: "denied", Why: group.Why})
			}
		}
	}
	return out
}

// FormatRuncProblems joins problems for a one-line warning.
func FormatRuncProblems(ps []RuncProblem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return fmt.Sprintf("runc cannot start a container with it: refuses %s", strings.Join(parts, "; "))
}
