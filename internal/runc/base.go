package runc

// RuntimeBase are the syscalls a container needs before its workload runs:
// what runc calls after installing the filter (it installs it before
// dropping capabilities unless the container has no_new_privs), and what any
// process needs to be exec'd and exit. A profile without them makes every
// container fail to start, whatever it runs. Measured with runc 1.2.8 and a
// profile logging everything (test/e2e TestAuditRecordThenEnforce checks it
// covers what a container running `busybox true` needs); runc is a Go
// program, so the Go runtime's own calls (futex, clone, tgkill, ...) are in
// too, and the variants older runc and libc use (access, readlink, ...).
// openat2: runc 1.2 opens /proc files with it ("unsafe procfs detected"
// without it). statx: runc 1.2.8 checks its procfs handles with
// STATX_MNT_ID ("check safety of /proc/thread-self/fd/N magiclink ...
// operation not permitted" without it; 1.1.5 never calls it, so a profile
// recorded under 1.1.5 needs it from here). `profile lint`'s runc check
// (this package's Needs) requires every name of its list, and a test keeps this
// set a superset of it. restart_syscall: the kernel has a process call it
// to resume a sleep (nanosleep, poll with a timeout, futex) that a signal
// interrupted, so whether a recording sees it is a matter of timing; refused,
// the sleeping call fails (test/workloads: the Python app died on it after
// two recordings without it). x86_64 names: on another architecture, those
// it lacks are left out.
var RuntimeBase = []string{
	"access", "arch_prctl", "brk", "capget", "capset", "chdir", "clone",
	"close", "close_range", "epoll_ctl", "epoll_pwait", "execve", "exit",
	"exit_group", "faccessat", "faccessat2", "fchdir", "fchown", "fcntl",
	"fstat", "fstatfs", "futex", "getcwd", "getdents64", "getegid", "geteuid",
	"getgid", "getpid", "getppid", "getrandom", "gettid", "getuid", "madvise",
	"mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "openat",
	"openat2", "prctl", "prlimit64", "read", "readlink", "readlinkat", "restart_syscall", "rseq",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_getaffinity",
	"sched_yield", "set_robust_list", "set_tid_address", "setgid",
	"setgroups", "setuid", "sigaltstack", "statx", "tgkill", "uname", "write",
}

// RuntimeBaseNoNewPrivs is RuntimeBase for containers with no_new_privs
// (Kubernetes' allowPrivilegeEscalation: false, required by Pod Security
// "restricted"). runc 1.2 then installs the filter as late as it can, just
// before execve (libcontainer/standard_init_linux.go: "Set seccomp as close
// to execve as possible"): after it, runc only closes its sync and log
// pipes, opens and writes the exec fifo through /proc/thread-self/fd, closes
// the descriptors the container must not inherit (reading
// /proc/thread-self/fd) and calls execve. Capabilities, user and working
// directory are set before the filter, so capget, capset, prctl, setgroups,
// setuid, setgid, chdir, fchdir, fchown and the rest of RuntimeBase's runc
// part are not needed. Measured with runc 1.2.8 (test/workloads, learning
// with no_new_privs, records of comm "runc:[2:INIT]"): close, execve, fcntl,
// fstat, fstatfs, futex, getdents64, getpid, openat, openat2, statx, write
// (without no_new_privs the same runs logged 29 names); runc 1.1.5 also
// epoll_ctl (test/e2e TestRecordNoNewPrivs: the Go runtime's netpoller as
// runc closes a pollable file). Added: the rest of the Go runtime's calls
// (runc's other threads keep running under the filter: nanosleep,
// sched_yield, preemption signals, memory), exit and exit_group, and the
// timing-dependent restart_syscall. A profile built on it makes runc fail to start a container WITHOUT no_new_privs
// (measured, runc 1.2.8: "unable to apply bounding set: operation not
// permitted", its prctl(PR_CAPBSET_DROP) refused): `profile lint`'s runc
// check names what it lacks.
var RuntimeBaseNoNewPrivs = []string{
	"close", "epoll_ctl", "execve", "exit", "exit_group", "fcntl", "fstat",
	"fstatfs", "futex", "getdents64", "getpid", "gettid", "madvise", "mmap",
	"munmap", "nanosleep", "openat", "openat2", "restart_syscall",
	"rt_sigprocmask", "rt_sigreturn", "sched_yield", "sigaltstack", "statx",
	"tgkill", "write",
}
