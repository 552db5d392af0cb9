// Command genprofiles writes policies/profiles/hardened.json and
// policies/profiles/minimal.json from policies/profiles/runtime-default.json,
// so both track containerd's RuntimeDefault: a containerd bump that changes
// runtime-default changes them in the same `go generate` run, and
// hack/verify-generated.sh fails CI when a committed copy is stale.
//
//   - hardened is runtime-default with the refusals listed in hardened below
//     taken away. It is computed with the profile algebra (intersection with
//     a deny list) and argument rules are only ever dropped, so it can never
//     allow a call runtime-default refuses; the program checks that.
//   - minimal is hardened restricted to an allow-list (minimalNames) for
//     static, single-process services: every other syscall is refused. Each
//     listed syscall keeps hardened's behaviour, argument conditions
//     included (clone without namespace flags, clone3 with ENOSYS, socket
//     for a few address families).
//
// The reason and reference for every refusal is in policies/README.md; a
// test in policies checks that every syscall hardened takes away is there.
//
// Usage (see the go:generate lines in policies/policies.go):
//
//	go run ../hack/genprofiles -dir profiles
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// hardenedDeny lists what hardened refuses outright. Some of these
// runtime-default already refuses; they are listed anyway so that hardened
// keeps refusing them if a future containerd starts allowing one.
var hardenedDeny = []string{
	// Refused by runtime-default too (kept explicit).
	"keyctl", "add_key", "request_key",
	"userfaultfd", "perf_event_open", "bpf",
	"unshare", "setns",
	"init_module", "finit_module", "delete_module",
	"kexec_load", "kexec_file_load",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"mount", "umount2", "open_by_handle_at", "pidfd_getfd",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	// Allowed by runtime-default, refused by hardened.
	"ptrace", "process_vm_readv", "process_vm_writev",
	"modify_ldt", "vmsplice", "name_to_handle_at",
}

// personalityRefused are the personality(2) values runtime-default allows and
// hardened does not: the UNAME26 forms.
var personalityRefused = []uint64{0x20000, 0x20008}

// socketFamilies are the address families hardened lets socket(2) create,
// among those runtime-default allows.
var socketFamilies = []uint64{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}

// socketcallErrno is what hardened and minimal answer to every socketcall(2).
//
// On i386, socketcall(SYS_SOCKET, args) creates a socket like socket(2), but
// its arguments sit in memory that seccomp cannot read, so the family rules
// above cannot apply to it. Worse, libseccomp (2.5.4, as runc uses it) adds
// every socket(2) rule to socketcall too on x86, with the family comparison
// replaced by "call number == SYS_SOCKET": the rules allowing AF_INET allow
// socketcall(SYS_SOCKET) for every family, even in a profile that never
// names socketcall (measured with the BPF it compiles; policies tests pin
// it). Refusing only SYS_SOCKET cannot be written: libseccomp refuses two
// actions for "call number == 1" with EEXIST, and an overlapping range loses
// to its own rule. Only an unconditional socketcall rule overrides those, so
// hardened refuses socketcall as a whole. Any process can reach it, a 64-bit
// one too, through int $0x80.
//
// ENOSYS, not EPERM: it tells a C library the entry point is missing, and
// musl (and a libc built for kernels >= 4.3) use the direct calls anyway.
// What 32-bit programs lose is in policies/README.md.
const socketcallErrno = unix.ENOSYS

// minimalNames is the allow-list of minimal: what runc still calls after it
// has loaded the filter (FACTS.md; internal/profiletool's runc check), and what a
// static Go or C (glibc, musl) binary serving the network needs. 64-bit
// entry points only (and socketcall, kept refused with ENOSYS): a 32-bit
// binary gets EPERM.
var minimalNames = []string{
	// runc after the filter is loaded: exec, the cwd check of
	// CVE-2024-21626, closing inherited descriptors, the exec fifo,
	// capabilities and user switch; runc 1.2.8 opens /proc files with
	// openat2 (measured: "unsafe procfs detected: openat2 ... operation not
	// permitted" without it).
	"execve", "getcwd", "chdir", "fstatfs", "openat", "openat2", "getdents64", "fcntl", "close", "close_range",
	"newfstatat", "fstat", "statx", "readlinkat", "write", "capget", "capset", "prctl",
	"setgroups", "setgid", "setuid", "setresgid", "setresuid",
	// runc (fixStdioPermissions) hands PID 1's stdio to a non-root
	// container user with fchown before switching to it, after the filter
	// is loaded. It ignores EPERM, but the refusal is logged against the pod
	// and the process cannot reopen its own stdio (/dev/stdout): measured by
	// `make workloads` (redis as uid 101 under minimal).
	"fchown",
	// Process and memory.
	"arch_prctl", "brk", "mmap", "munmap", "mprotect", "madvise", "mremap",
	"set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrlimit",
	"exit", "exit_group", "getpid", "gettid", "getppid", "tgkill", "getrandom", "uname",
	"getuid", "geteuid", "getgid", "getegid", "sched_getaffinity", "sched_yield",
	// Threads (clone keeps runtime-default's ban on namespace flags; clone3
	// keeps its ENOSYS so that libc falls back to clone).
	"clone", "clone3", "futex",
	// Signals.
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	// Time.
	"clock_gettime", "clock_getres", "clock_nanosleep", "gettimeofday", "nanosleep",
	// Files and I/O.
	"read", "pread64", "pwrite64", "readv", "writev", "lseek", "dup", "dup3",
	"pipe2", "ioctl", "access", "faccessat", "faccessat2",
	// Event loops.
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd2", "ppoll", "poll", "pselect6",
	// Network (socket keeps hardened's address-family rules).
	"socket", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	// Listed to keep hardened's ENOSYS: libseccomp adds the socket calls
	// above to socketcall on x86, so leaving it out (EPERM, the default,
	// which runc does not write as a rule) would allow
	// socketcall(SYS_SOCKET) for every address family.
	"socketcall",
}

func main() {
	dir := flag.String("dir", "profiles", "directory with runtime-default.json; hardened.json and minimal.json are written there")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genprofiles:", err)
		os.Exit(1)
	}
}

// The committed profiles are the amd64 ones, as runtime-default is.
const native = specs.ArchX86_64

func run(dir string) error {
	rd, err := profile.LoadFile(filepath.Join(dir, "runtime-default.json"))
	if err != nil {
		return err
	}
	base, err := profile.FromSpec(rd, native)
	if err != nil {
		return err
	}
	if len(base.Inexact) > 0 {
		return fmt.Errorf("runtime-default is not read exactly: %v", base.Inexact)
	}
	hardened, err := Hardened(base)
	if err != nil {
		return fmt.Errorf("hardened: %w", err)
	}
	minimal, err := Minimal(hardened)
	if err != nil {
		return fmt.Errorf("minimal: %w", err)
	}
	for name, p := range map[string]*profile.Profile{"hardened": hardened, "minimal": minimal} {
		if err := write(filepath.Join(dir, name+".json"), p); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Hardened returns base minus hardenedDeny, minus the UNAME26 personalities,
// with socket(2) limited to socketFamilies. It fails if the result could
// allow anything base refuses.
func Hardened(base *profile.Profile) (*profile.Profile, error) {
	deny := make([]profile.Deny, len(hardenedDeny))
	for i, n := range hardenedDeny {
		deny[i] = profile.Deny{Name: n, Verdict: profile.EPERM}
	}
	out, notes, err := profile.Intersect(base, profile.DenyList(deny))
	if err != nil {
		return nil, err
	}
	if len(notes) > 0 {
		return nil, fmt.Errorf("intersection is inexact: %v", notes)
	}
	// The result shares entries with base (it may even be base): edit a
	// copy of the map, and replace entries rather than change them.
	cp := *out
	cp.Syscalls = maps.Clone(out.Syscalls)
	out = &cp
	// DenyList allows every architecture; the intersection keeps base's.
	if err := keepRules(out, "personality", func(r profile.CondRule) bool {
		return !(len(r.Conds) == 1 && r.Conds[0].Op == specs.OpEqualTo && slices.Contains(personalityRefused, r.Conds[0].Value))
	}); err != nil {
		return nil, err
	}
	var sock []profile.CondRule
	for _, af := range socketFamilies {
		v := base.Eval(native, "socket", [6]uint64{af})
		if v.Level == profile.LevelAllow {
			sock = append(sock, profile.CondRule{Conds: []profile.Cond{{Index: 0, Op: specs.OpEqualTo, Value: af}}, Verdict: v})
		}
	}
	if len(sock) == 0 {
		return nil, errors.New("runtime-default allows none of the socket families hardened keeps")
	}
	out.Syscalls["socket"] = &profile.Syscall{Rules: sock, Fallback: out.Default}
	if err := refuseSocketcall(out); err != nil {
		return nil, err
	}
	return out, neverLooser(base, out)
}

// refuseSocketcall refuses socketcall(2) unconditionally with
// socketcallErrno, where runtime-default allows it unconditionally.
func refuseSocketcall(p *profile.Profile) error {
	sc, ok := p.Syscalls["socketcall"]
	if !ok || len(sc.Rules) > 0 || sc.Fallback != profile.Allow {
		return errors.New("socketcall is no longer allowed unconditionally by runtime-default; revisit the generator")
	}
	sc.Fallback = profile.Verdict{Level: profile.LevelErrno, Ret: uint(socketcallErrno)}
	return nil
}

// keepRules drops the argument rules of name that keep refuses; the calls
// they matched get the syscall's fallback instead.
func keepRules(p *profile.Profile, name string, keep func(profile.CondRule) bool) error {
	sc, ok := p.Syscalls[name]
	if !ok || len(sc.Rules) == 0 {
		return fmt.Errorf("%s has no argument rules in runtime-default any more; revisit the generator", name)
	}
	if sc.Fallback.Level < profile.LevelErrno {
		return fmt.Errorf("%s: fallback %s is not a refusal; dropping rules would not refuse", name, sc.Fallback)
	}
	p.Syscalls[name] = &profile.Syscall{Fallback: sc.Fallback,
		Rules: slices.DeleteFunc(slices.Clone(sc.Rules), func(r profile.CondRule) bool { return !keep(r) })}
	return nil
}

// Minimal restricts hardened to minimalNames: every listed syscall keeps
// hardened's behaviour, every other one gets the default refusal.
func Minimal(hardened *profile.Profile) (*profile.Profile, error) {
	out := &profile.Profile{
		Default: hardened.Default,
		Arches:  slices.Clone(hardened.Arches),
		Flags:   slices.Clone(hardened.Flags),
	}
	out.Syscalls = map[string]*profile.Syscall{}
	for _, n := range minimalNames {
		sc, ok := hardened.Syscalls[n]
		if !ok {
			return nil, fmt.Errorf("%s is not allowed by hardened; minimal cannot allow it", n)
		}
		cp := *sc
		cp.Rules = slices.Clone(sc.Rules)
		out.Syscalls[n] = &cp
	}
	return out, neverLooser(hardened, out)
}

// neverLooser checks that narrow gives no call a looser verdict than wide:
// the intersection of both must be narrow itself.
func neverLooser(wide, narrow *profile.Profile) error {
	both, _, err := profile.Intersect(wide, narrow)
	if err != nil {
		return err
	}
	if !profile.Equal(both, narrow) {
		return errors.New("the result allows something its base refuses")
	}
	return nil
}

func write(path string, p *profile.Profile) error {
	s, notes := p.ToSpec(native)
	if len(notes) > 0 {
		return fmt.Errorf("cannot be written exactly: %v", notes)
	}
	if err := profile.Validate(s); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
