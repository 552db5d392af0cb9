package main

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// LoadedFilter returns the classic BPF program of the seccomp filter process
// pid installed last, as the kernel holds it: exactly what the runtime
// loaded, including anything it added to libseccomp's output (runc prepends
// an -ENOSYS stub). It uses PTRACE_SECCOMP_GET_FILTER, which needs root:
// the process is seized, stopped for the call and let go again.
func LoadedFilter(pid int) ([]bpf.RawInstruction, error) {
	// ptrace requests must come from the thread that seized the tracee.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceSeize(pid); err != nil {
		return nil, fmt.Errorf("ptrace seize %d: %w", pid, err)
	}
	if err := unix.PtraceInterrupt(pid); err != nil {
		_ = unix.PtraceDetach(pid)
		return nil, fmt.Errorf("ptrace interrupt %d: %w", pid, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		_ = unix.PtraceDetach(pid)
		return nil, fmt.Errorf("wait for %d to stop: %w", pid, err)
	}
	defer func() { _ = unix.PtraceDetach(pid) }()
	get := func(buf unsafe.Pointer) (int, error) {
		n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), 0, uintptr(buf), 0, 0)
		if errno != 0 {
			return 0, errno
		}
		return int(n), nil
	}
	n, err := get(nil) // with no buffer: the number of instructions
	if err != nil {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER of %d: %w", pid, err)
	}
	if n <= 0 {
		return nil, errors.New("the kernel returned an empty filter")
	}
	raw := make([]unix.SockFilter, n)
	if _, err := get(unsafe.Pointer(&raw[0])); err != nil {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER of %d: %w", pid, err)
	}
	out := make([]bpf.RawInstruction, n)
	for i, r := range raw {
		out[i] = bpf.RawInstruction{Op: r.Code, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}
