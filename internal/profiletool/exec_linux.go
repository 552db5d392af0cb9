package profiletool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// TestOptions configure RunTest.
type TestOptions struct {
	// Self is the command line that runs ChildMain in a new process, e.g.
	// [/proc/self/exe, "profile", "__exec"]; the command to test is appended.
	Self []string
	// Log lets every call the profile would refuse through, and reports it,
	// so the command runs to the end and the report lists everything it
	// would have hit.
	Log    bool
	Native specs.Arch
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Child file descriptors: the filter in, the go-ahead in.
const (
	childBPFFd = 3
	childGoFd  = 4
)

// RunTest runs cmd on this machine under the profile s, without containerd,
// and reports which syscalls were refused or logged.
//
// How: the profile is compiled (libseccomp, as runc does) into a variant in
// which every call the profile does not simply allow goes to a user-space
// supervisor (SECCOMP_RET_USER_NOTIF). A child process (opts.Self, which
// must call ChildMain) sets no_new_privs, loads it, waits until this process
// holds the listener (pidfd_getfd), and execs cmd. For each notification the
// supervisor looks the call up in the profile's model, records it, and
// answers as the profile would: the errno, or "continue" for SCMP_ACT_LOG
// (and for everything in log mode), or SIGSYS for kill and trap. Every
// process cmd starts inherits the filter, so nothing is missed and no kernel
// log is read. Limits (documented for the command): kill and trap are
// emulated with SIGSYS; a call on an architecture the profile does not list
// is killed by the kernel without a notification; the supervisor costs
// microseconds per refused call.
func RunTest(ctx context.Context, s *specs.LinuxSeccomp, cmd []string, opts TestOptions) (*TestReport, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("%w: no command to run", ErrUsage)
	}
	model, err := profile.FromSpec(s, opts.Native)
	if err != nil {
		return nil, err
	}
	rep := &TestReport{Command: cmd, Attribution: "every process the command started (seccomp user notification)"}
	rep.Notes = append(rep.Notes, model.Inexact...)
	if opts.Log {
		rep.Notes = append(rep.Notes, "log mode: every call the profile refuses was allowed and reported")
	}
	variant, notes := notifyVariant(model).ToSpec(opts.Native)
	_ = notes // the variant only decides which calls reach the supervisor; the model answers them
	raw, err := compile(variant)
	if err != nil {
		return nil, err
	}
	prog := make([]byte, 8*len(raw))
	for i, ins := range raw {
		binary.NativeEndian.PutUint16(prog[8*i:], ins.Op)
		prog[8*i+2], prog[8*i+3] = ins.Jt, ins.Jf
		binary.NativeEndian.PutUint32(prog[8*i+4:], ins.K)
	}
	path, err := exec.LookPath(cmd[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}

	bpfR, bpfW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		bpfR.Close()
		bpfW.Close()
		return nil, err
	}
	c := exec.CommandContext(ctx, opts.Self[0], append(append(opts.Self[1:], path), cmd...)...)
	c.Stdin, c.Stdout, c.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	c.ExtraFiles = []*os.File{bpfR, goR} // fds 3 and 4
	err = c.Start()
	bpfR.Close()
	goR.Close()
	if err != nil {
		bpfW.Close()
		goW.Close()
		return nil, fmt.Errorf("starting the child: %w", err)
	}
	go func() {
		_, _ = bpfW.Write(prog)
		bpfW.Close()
	}()

	sup := &supervisor{model: model, native: opts.Native, log: opts.Log}
	listener, err := grabListener(c.Process.Pid, 10*time.Second)
	if err != nil {
		goW.Close()
		_ = c.Process.Kill()
		_ = c.Wait()
		return nil, fmt.Errorf("taking over the child's seccomp listener: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sup.serve(ctx, listener)
	}()
	_, _ = goW.Write([]byte{1})
	goW.Close()

	waitErr := c.Wait()
	// Processes the command left behind may still run under the filter; the
	// supervisor stops when the last of them exits (the listener hangs up).
	wg.Wait()
	unix.Close(listener)
	rep.ExitCode = c.ProcessState.ExitCode()
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rep.Signal = ws.Signal().String()
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return nil, waitErr
	}
	rep.Events = sup.events()
	if sup.killed && rep.Signal == unix.SIGKILL.String() {
		rep.Signal = "bad system call (a kill verdict, carried out with SIGKILL)"
	}
	if sup.err != nil {
		rep.Notes = append(rep.Notes, "supervisor: "+sup.err.Error())
	}
	return rep, nil
}

// notifyVariant gives every call the model does not simply allow to the
// supervisor.
func notifyVariant(p *profile.Profile) *profile.Profile {
	notify := func(v profile.Verdict) profile.Verdict {
		if v.Level == profile.LevelAllow {
			return v
		}
		return profile.Verdict{Level: profile.LevelNotify}
	}
	out := &profile.Profile{Default: notify(p.Default), AnyArch: p.AnyArch, Arches: p.Arches, Syscalls: map[string]*profile.Syscall{}}
	for name, sc := range p.Syscalls {
		n := &profile.Syscall{Fallback: notify(sc.Fallback)}
		for _, r := range sc.Rules {
			if v := notify(r.Verdict); v != n.Fallback {
				n.Rules = append(n.Rules, profile.CondRule{Conds: r.Conds, Verdict: v})
			}
		}
		if len(n.Rules) > 0 || n.Fallback != out.Default {
			out.Syscalls[name] = n
		}
	}
	return out
}

// grabListener waits for the child's seccomp listener to appear in its
// descriptor table and duplicates it into this process.
func grabListener(pid int, limit time.Duration) (int, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return -1, fmt.Errorf("the child exited before loading the filter: %w", err)
		}
		for _, e := range ents {
			if link, _ := os.Readlink(dir + "/" + e.Name()); link == "anon_inode:seccomp notify" {
				n, _ := strconv.Atoi(e.Name())
				fd, err := unix.PidfdGetfd(pidfd, n, 0)
				if err != nil {
					return -1, fmt.Errorf("pidfd_getfd: %w", err)
				}
				return fd, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1, errors.New("the child did not load the filter in time")
}

// Kernel structures of seccomp user notification
// (include/uapi/linux/seccomp.h).
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type supervisor struct {
	model  *profile.Profile
	native specs.Arch
	log    bool

	mu     sync.Mutex
	agg    map[eventKey]*Hit
	err    error
	killed bool // a kill verdict was carried out
}

type eventKey struct {
	arch, action string
	nr           int
}

// serve answers notifications until every process using the filter is gone
// or ctx ends (then the processes left get ENOSYS for what they call next).
func (s *supervisor) serve(ctx context.Context, fd int) {
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 200); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			s.fail(err)
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				return // no process uses the filter any more
			}
			continue
		}
		var n seccompNotif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // the caller went away
			}
			s.fail(err)
			return
		}
		resp := s.answer(&n)
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && !errors.Is(err, unix.ENOENT) {
			s.fail(err)
		}
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

func (s *supervisor) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// answer records the call and responds as the profile would.
func (s *supervisor) answer(n *seccompNotif) seccompNotifResp {
	arch, ok := syscalls.ArchFromAudit(n.Data.Arch)
	if !ok {
		arch = fmt.Sprintf("audit arch %#x", n.Data.Arch)
	}
	nr := int(n.Data.Nr)
	if arch == string(specs.ArchX86_64) && nr&0x40000000 != 0 {
		arch = string(specs.ArchX32)
	}
	name, known := syscalls.Name(arch, nr)
	v := s.model.Default
	if known {
		v = s.model.Eval(specs.Arch(arch), name, n.Data.Args)
	} else {
		name = fmt.Sprintf("nr %d", nr)
	}
	resp := seccompNotifResp{ID: n.ID}
	action := v.String()
	switch {
	case v.Level == profile.LevelAllow:
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	case s.log || v.Level == profile.LevelLog || v.Level == profile.LevelNotify:
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	case v.Level == profile.LevelErrno:
		resp.Error = -int32(v.Ret)
	case v.Level == profile.LevelTrace:
		resp.Error = -int32(unix.ENOSYS) // no tracer: what the kernel returns
	case v.Level == profile.LevelTrap:
		// SECCOMP_RET_TRAP: a SIGSYS the program may handle.
		_ = unix.Kill(int(n.Pid), unix.SIGSYS)
		resp.Error = -int32(unix.ENOSYS)
	default:
		// Kill: the kernel's SIGSYS cannot be caught; SIGKILL is the
		// closest a supervisor can send (kill-thread kills the process
		// here too). The call itself does not run.
		_ = unix.Kill(int(n.Pid), unix.SIGKILL)
		s.mu.Lock()
		s.killed = true
		s.mu.Unlock()
		resp.Error = -int32(unix.ENOSYS)
	}
	if v.Level != profile.LevelAllow {
		s.record(eventKey{arch, action, nr}, name, int(n.Pid))
	}
	return resp
}

func (s *supervisor) record(k eventKey, name string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agg == nil {
		s.agg = map[eventKey]*Hit{}
	}
	e := s.agg[k]
	if e == nil {
		e = &Hit{Syscall: name, Arch: k.arch, Nr: k.nr, Action: k.action}
		s.agg[k] = e
	}
	e.Count++
	if !slicesContains(e.Pids, pid) {
		e.Pids = append(e.Pids, pid)
	}
}

func (s *supervisor) events() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Hit, 0, len(s.agg))
	for _, e := range s.agg {
		out = append(out, *e)
	}
	sortEvents(out)
	return out
}

// ChildMain is the child side of RunTest: args are the resolved path of the
// command, then its argv. It never returns on success (the command replaces
// the process); on failure it prints why and returns an exit status (126).
func ChildMain(args []string, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "nri-seccomp profile test: "+format+"\n", a...)
		return 126
	}
	if len(args) < 2 {
		return fail("child: want PATH ARGV0 [ARGS]")
	}
	// The filter applies to the calling thread; execve must come from it.
	runtime.LockOSThread()
	bpfFile := os.NewFile(childBPFFd, "bpf")
	prog, err := io.ReadAll(bpfFile)
	bpfFile.Close()
	if err != nil || len(prog) == 0 || len(prog)%8 != 0 {
		return fail("child: reading the filter: %v (%d bytes)", err, len(prog))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("no_new_privs: %v", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fail("loading the filter: %v", errno)
	}
	runtime.KeepAlive(prog)
	// Wait until the parent holds the listener: from here on every call the
	// profile does not allow blocks until the supervisor answers it (the
	// read itself included, which then returns the profile's answer; either
	// way the wait is over).
	var b [1]byte
	_, _ = unix.Read(childGoFd, b[:])
	_ = unix.Close(childGoFd) // not the command's business
	err = unix.Exec(args[0], args[1:], os.Environ())
	return fail("exec %s: %v", args[0], err)
}
