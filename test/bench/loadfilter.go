package main

/*
#include <errno.h>
#include <stdlib.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// load_filter_ns forks a child that loads prog as a seccomp filter and writes
// how long the seccomp(2) call took (ns), or -errno, to the parent through a
// pipe, then exits. The child only makes async-signal-safe calls, so forking
// a multi-threaded Go process is fine. A filter can never be removed, hence
// a throwaway process per load.
static long long load_filter_ns(struct sock_filter *insns, unsigned short len) {
	int fds[2];
	if (pipe(fds) != 0) return -errno;
	pid_t pid = fork();
	if (pid < 0) { int e = errno; close(fds[0]); close(fds[1]); return -e; }
	if (pid == 0) {
		struct sock_fprog prog = { .len = len, .filter = insns };
		long long res;
		struct timespec a, b;
		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
			res = -errno;
		} else {
			clock_gettime(CLOCK_MONOTONIC, &a);
			long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
			clock_gettime(CLOCK_MONOTONIC, &b);
			res = r == 0 ? (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec) : -errno;
		}
		// write and _exit are allowed by every profile measured here, and
		// the child needs nothing else.
		(void)!write(fds[1], &res, sizeof res);
		_exit(0);
	}
	close(fds[1]);
	long long res = -EPIPE;
	ssize_t n = read(fds[0], &res, sizeof res);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	if (n != sizeof res) return -EPIPE;
	return res;
}
// spawn_filtered forks a child that loads prog as its seccomp filter and
// then waits in pause() until killed; it returns the child's PID once the
// filter is in place (or -errno). For testing LoadedFilter.
static int spawn_filtered(struct sock_filter *insns, unsigned short len) {
	int fds[2];
	if (pipe(fds) != 0) return -errno;
	pid_t pid = fork();
	if (pid < 0) { int e = errno; close(fds[0]); close(fds[1]); return -e; }
	if (pid == 0) {
		struct sock_fprog prog = { .len = len, .filter = insns };
		int res = 0;
		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) res = -errno;
		(void)!write(fds[1], &res, sizeof res);
		close(fds[1]);
		if (res != 0) _exit(1);
		for (;;) pause();
	}
	close(fds[1]);
	int res = -EPIPE;
	ssize_t n = read(fds[0], &res, sizeof res);
	close(fds[0]);
	if (n != sizeof res) res = -EPIPE;
	if (res != 0) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		return res;
	}
	return pid;
}
*/
import "C"

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
)

// LoadFilter loads prog with seccomp(SECCOMP_SET_MODE_FILTER) in a throwaway
// child process and returns how long the kernel took (checking, converting
// and JIT-compiling the filter).
func LoadFilter(prog []bpf.RawInstruction) (time.Duration, error) {
	if len(prog) == 0 || len(prog) > 0xffff {
		return 0, fmt.Errorf("filter of %d instructions", len(prog))
	}
	// bpf.RawInstruction has struct sock_filter's layout (u16, u8, u8, u32).
	insns := C.malloc(C.size_t(len(prog)) * C.size_t(unsafe.Sizeof(C.struct_sock_filter{})))
	defer C.free(insns)
	dst := unsafe.Slice((*C.struct_sock_filter)(insns), len(prog))
	for i, in := range prog {
		dst[i] = C.struct_sock_filter{code: C.__u16(in.Op), jt: C.__u8(in.Jt), jf: C.__u8(in.Jf), k: C.__u32(in.K)}
	}
	r := C.load_filter_ns((*C.struct_sock_filter)(insns), C.ushort(len(prog)))
	if r < 0 {
		return 0, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", syscall.Errno(-r))
	}
	return time.Duration(r), nil
}

// SpawnFiltered starts a child process that runs under prog as its only
// seccomp filter and waits to be killed; stop kills and reaps it.
func SpawnFiltered(prog []bpf.RawInstruction) (pid int, stop func(), err error) {
	if len(prog) == 0 || len(prog) > 0xffff {
		return 0, nil, fmt.Errorf("filter of %d instructions", len(prog))
	}
	insns := C.malloc(C.size_t(len(prog)) * C.size_t(unsafe.Sizeof(C.struct_sock_filter{})))
	defer C.free(insns)
	dst := unsafe.Slice((*C.struct_sock_filter)(insns), len(prog))
	for i, in := range prog {
		dst[i] = C.struct_sock_filter{code: C.__u16(in.Op), jt: C.__u8(in.Jt), jf: C.__u8(in.Jf), k: C.__u32(in.K)}
	}
	r := int(C.spawn_filtered((*C.struct_sock_filter)(insns), C.ushort(len(prog))))
	if r < 0 {
		return 0, nil, fmt.Errorf("spawn a filtered child: %w", syscall.Errno(-r))
	}
	return r, func() {
		_ = syscall.Kill(r, syscall.SIGKILL)
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(r, &ws, 0, nil); err != syscall.EINTR {
				return
			}
		}
	}, nil
}
