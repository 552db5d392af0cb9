package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/syscalls"
)

// ErrNoRecords is returned when a report holds nothing for the workload a
// profile is asked for.
var ErrNoRecords = errors.New("no seccomp records for the workload")

// RuntimeBase are the syscalls a container needs before its workload runs:
// what runc calls after installing the filter (it installs it before
// dropping capabilities unless the container has no_new_privs), and what any
// process needs to be exec'd and exit. A profile without them makes every
// container fail to start, whatever it runs. Measured with runc 1.2.8 and a
// profile logging everything (test/e2e TestAuditRecordThenEnforce checks it
// covers what a container running `busybox true` needs); runc is a Go
// program, so the Go runtime's own calls (futex, clone, tgkill, ...) are in
// too, and the variants older runc and libc use (access, readlink, ...).
var RuntimeBase = []string{
	"access", "arch_prctl", "brk", "capget", "capset", "chdir", "clone",
	"close", "close_range", "epoll_ctl", "epoll_pwait", "execve", "exit",
	"exit_group", "faccessat", "faccessat2", "fchdir", "fchown", "fcntl",
	"fstat", "fstatfs", "futex", "getcwd", "getdents64", "getegid", "geteuid",
	"getgid", "getpid", "getppid", "getrandom", "gettid", "getuid", "madvise",
	"mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "openat",
	"prctl", "prlimit64", "read", "readlink", "readlinkat", "rseq",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
	"sched_yield", "set_robust_list", "set_tid_address", "setgid",
	"setgroups", "setuid", "sigaltstack", "tgkill", "uname", "write",
}

// ProfileOptions selects the workload a profile is recorded for.
type ProfileOptions struct {
	Namespace string
	Pod       string
	// Container: "" takes every container of the pod (one profile for
	// all of them).
	Container string
	// IncludeRefused also allows syscalls that were refused (an enforcing
	// rule's SCMP_ACT_ERRNO, logged with logDenied). Off by default: a
	// refused call is one the workload ran without.
	IncludeRefused bool
}

// ProfileResult is a recorded profile and how it came about.
type ProfileResult struct {
	Profile *specs.LinuxSeccomp
	// Seen are the syscalls the records showed, sorted; Base those of
	// RuntimeBase that were not seen.
	Seen, Base []string
	// Containers are the matched containers ("ns/pod/container").
	Containers []string
	// Notes: records that could not be used.
	Notes []string
}

// BuildProfile returns a least-privilege profile for a workload: it allows
// RuntimeBase and every syscall the workload was seen making (SCMP_ACT_LOG
// records from an audit-mode rule), and refuses the rest with EPERM, on
// x86_64 and its 32-bit ABIs. Ready for a `tighten` rule's profile.
func BuildProfile(rep Report, o ProfileOptions) (ProfileResult, error) {
	var res ProfileResult
	if o.Namespace == "" || o.Pod == "" {
		return res, fmt.Errorf("%w: a namespace and a pod are required", ErrNoRecords)
	}
	seen := map[string]bool{}
	for _, c := range rep.Containers {
		if !c.Attributed || c.Namespace != o.Namespace || c.Pod != o.Pod || (o.Container != "" && c.Container != o.Container) {
			continue
		}
		res.Containers = append(res.Containers, c.Namespace+"/"+c.Pod+"/"+c.Container)
		for _, s := range c.Syscalls {
			if s.Refused && !o.IncludeRefused {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s was refused (%s, %d times); not allowed (--include-refused to allow it)", c.Container, s.Syscall, s.Action, s.Count))
				continue
			}
			if !syscalls.Known(s.Syscall) {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s is not a syscall name this build knows; left out", c.Container, s.Syscall))
				continue
			}
			seen[s.Syscall] = true
		}
	}
	slices.Sort(res.Containers)
	res.Containers = slices.Compact(res.Containers)
	if len(res.Containers) == 0 {
		what := o.Namespace + "/" + o.Pod
		if o.Container != "" {
			what += " container " + o.Container
		}
		return res, fmt.Errorf("%w: %s (%d records in the input; attributed to: %s)", ErrNoRecords, what, rep.Records, attributedList(rep))
	}
	for n := range seen {
		res.Seen = append(res.Seen, n)
	}
	slices.Sort(res.Seen)
	names := slices.Clone(res.Seen)
	for _, n := range RuntimeBase {
		if !seen[n] {
			res.Base = append(res.Base, n)
			names = append(names, n)
		}
	}
	slices.Sort(names)
	res.Profile = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	return res, nil
}

func attributedList(rep Report) string {
	var out []string
	for _, c := range rep.Containers {
		if c.Attributed {
			out = append(out, c.Namespace+"/"+c.Pod+"/"+c.Container)
		}
	}
	if len(out) == 0 {
		return "no container"
	}
	if len(out) > 10 {
		out = append(out[:10], "...")
	}
	return strings.Join(out, ", ")
}
