package main

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func TestRunBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"mkdir"},
		{"mkdir", "a", "b"},
		{"raw"},
		{"raw", "39", "1", "2", "3", "4", "5", "6", "7"}, // a number and 7 args
		{"i386"},
		{"i386", "mkdir"},
	} {
		if _, err := run(args); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := run([]string{"raw", "x"}); err == nil || errors.Is(err, errUsage) {
		t.Errorf("run(raw x) = %v, want an integer parse error", err)
	}
}

func TestRunCalls(t *testing.T) {
	r, err := run([]string{"getpid"})
	if err != nil || r.Errno != "" || r.Ret != int64(os.Getpid()) || r.Arch != "x86_64" {
		t.Fatalf("getpid: %+v %v, want ret %d", r, err, os.Getpid())
	}
	dir := filepath.Join(t.TempDir(), "d")
	if r, err := run([]string{"mkdir", dir}); err != nil || r.Errno != "" {
		t.Fatalf("mkdir: %+v %v", r, err)
	}
	if r, err := run([]string{"mkdir", dir}); err != nil || r.Errno != "EEXIST" || r.Ret != -1 {
		t.Fatalf("second mkdir: %+v %v, want EEXIST", r, err)
	}
	if r, err := run([]string{"raw", "999999"}); err != nil || r.Errno != "ENOSYS" {
		t.Fatalf("raw 999999: %+v %v, want ENOSYS", r, err)
	}
	if runtime.GOARCH != "amd64" {
		return
	}
	// The i386 entry: getpid is 20 there, and the same process answers,
	// unless this kernel has IA-32 emulation off; then the probe says so
	// instead of crashing. Whether it is off is asked of the kernel
	// independently: it runs a 32-bit program, or refuses with ENOEXEC.
	r, err = run([]string{"i386", "getpid"})
	if !kernelRuns32Bit(t) {
		if err != nil || r.Error != ErrNoIA32 || r.Arch != "i386" || r.Nr != 20 {
			t.Fatalf("i386 getpid with IA-32 emulation off: %+v %v, want error %q", r, err, ErrNoIA32)
		}
		if ErrNoIA32 != harness.NoIA32Error {
			t.Fatalf("probe and harness disagree on the IA-32 error: %q, %q", ErrNoIA32, harness.NoIA32Error)
		}
		t.Log("NOT RUN: i386 mkdir and rmdir through int $0x80; this kernel has IA-32 emulation off")
		return
	}
	if err != nil || r.Arch != "i386" || r.Nr != 20 || r.Ret != int64(os.Getpid()) || r.Error != "" {
		t.Fatalf("i386 getpid: %+v %v", r, err)
	}
	low := filepath.Join(t.TempDir(), "i386")
	if r, err := run([]string{"i386", "mkdir", low}); err != nil || r.Errno != "" {
		t.Fatalf("i386 mkdir: %+v %v", r, err)
	}
	if _, err := os.Stat(low); err != nil {
		t.Fatalf("i386 mkdir reported success but %s: %v", low, err)
	}
	if r, err := run([]string{"i386", strconv.Itoa(i386Numbers["rmdir"]), "0"}); err != nil || r.Errno != "EFAULT" {
		t.Fatalf("i386 rmdir(NULL): %+v %v, want EFAULT", r, err)
	}
}

func TestRunLoopBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"getpid"},
		{"bogus", "10"},
		{"getpid", "x"},
		{"getpid", "0"},
		{"getpid", "-5"},
		{"getpid", "100000001"},
		{"getpid", "10", "0"},
		{"getpid", "10", "1001"},
		{"getpid", "10", "2", "3"},
	} {
		if _, err := runLoop(args); !errors.Is(err, errUsage) {
			t.Errorf("runLoop(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestRunLoop(t *testing.T) {
	r, err := runLoop([]string{"getpid", "1000", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errno != "" || r.Ret != int64(os.Getpid()) || r.Nr != 39 || r.Iterations != 1000 {
		t.Fatalf("loop getpid: %+v, want ret %d, nr 39, 1000 iterations", r, os.Getpid())
	}
	if len(r.NsPerOp) != 3 {
		t.Fatalf("loop getpid: %d timings, want one per repeat (3)", len(r.NsPerOp))
	}
	for _, ns := range r.NsPerOp {
		if !(ns > 0) || ns < r.MinNs {
			t.Fatalf("loop getpid: timing %v not positive or below min %v (%+v)", ns, r.MinNs, r)
		}
	}
	if r.MedianNs < r.MinNs {
		t.Fatalf("loop getpid: median %v below min %v", r.MedianNs, r.MinNs)
	}
	if r.Seccomp == "" || r.SeccompFilters == "" {
		t.Fatalf("loop getpid: seccomp status not read: %+v", r)
	}

	// The query leaves the persona alone and returns it.
	before, _, _ := syscall.RawSyscall(syscall.SYS_PERSONALITY, 0xffffffff, 0, 0)
	r, err = runLoop([]string{"personality", "10"})
	if err != nil {
		t.Fatal(err)
	}
	after, _, _ := syscall.RawSyscall(syscall.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if r.Errno != "" || r.Ret != int64(before) || after != before || r.Arg0 != 0xffffffff || len(r.NsPerOp) != 1 {
		t.Fatalf("loop personality: %+v (persona %#x before, %#x after)", r, before, after)
	}
}

// socket and clone are timed on calls the kernel refuses at once, and
// report that refusal as the kernel's, not as the filter's.
func TestRunLoopKernelRefused(t *testing.T) {
	for _, call := range []string{"socket", "clone"} {
		r, err := runLoop([]string{call, "10", "2"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Errno != "" || r.KernelErrno != "EINVAL" || len(r.NsPerOp) != 2 {
			t.Fatalf("loop %s: %+v, want kernel_errno EINVAL and two timings", call, r)
		}
	}
	if _, err := runLoop([]string{"mkdir", "10"}); err == nil {
		t.Fatal("an unknown call must be an error")
	}
}

func TestLoopMedian(t *testing.T) {
	// Only the shape of the summary is checkable without a clock we
	// control: min is the smallest timing, median is between min and max.
	r, err := runLoop([]string{"getpid", "100", "4"})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := r.NsPerOp[0], r.NsPerOp[0]
	for _, v := range r.NsPerOp {
		lo, hi = min(lo, v), max(hi, v)
	}
	if r.MinNs != lo || r.MedianNs < lo || r.MedianNs > hi {
		t.Fatalf("min %v median %v for timings %v", r.MinNs, r.MedianNs, r.NsPerOp)
	}
}

// kernelRuns32Bit executes a minimal static i386 ELF program (exit(0)
// through int $0x80) and reports whether the kernel ran it. A kernel with
// IA-32 emulation off refuses it with ENOEXEC.
func kernelRuns32Bit(t *testing.T) bool {
	t.Helper()
	const base = 0x08048000
	code := []byte{0xb8, 0x01, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80} // mov eax,1; xor ebx,ebx; int 0x80
	const ehsize, phsize = 52, 32
	size := uint32(ehsize + phsize + len(code))
	le := binary.LittleEndian
	elf := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	elf = le.AppendUint16(elf, 2)                  // ET_EXEC
	elf = le.AppendUint16(elf, 3)                  // EM_386
	elf = le.AppendUint32(elf, 1)                  // EV_CURRENT
	elf = le.AppendUint32(elf, base+ehsize+phsize) // entry
	elf = le.AppendUint32(elf, ehsize)             // program headers
	elf = le.AppendUint32(elf, 0)                  // no section headers
	elf = le.AppendUint32(elf, 0)                  // flags
	elf = le.AppendUint16(elf, ehsize)
	elf = le.AppendUint16(elf, phsize)
	elf = le.AppendUint16(elf, 1)
	elf = le.AppendUint16(elf, 0)
	elf = le.AppendUint16(elf, 0)
	elf = le.AppendUint16(elf, 0)
	for _, v := range []uint32{1, 0, base, base, size, size, 5, 0x1000} { // PT_LOAD, R+X
		elf = le.AppendUint32(elf, v)
	}
	elf = append(elf, code...)
	path := filepath.Join(t.TempDir(), "exit32")
	if err := os.WriteFile(path, elf, 0o755); err != nil {
		t.Fatal(err)
	}
	err := exec.Command(path).Run()
	switch {
	case err == nil:
		return true
	case errors.Is(err, syscall.ENOEXEC):
		return false
	default:
		t.Fatalf("running a 32-bit program: %v", err)
		return false
	}
}

// TestSocket: socket goes through syscall.Socket, reports the entry it used,
// closes what it got, and reports the kernel's errno.
func TestSocket(t *testing.T) {
	r, err := run([]string{"socket", "1", "1"}) // AF_UNIX, SOCK_STREAM
	if err != nil || r.Errno != "" || r.Ret < 0 || r.Syscall != "socket" || r.Nr != sysSocketNr {
		t.Fatalf("socket(AF_UNIX) = %+v, %v", r, err)
	}
	if r, err := run([]string{"socket", "9999", "1"}); err != nil || r.Errno != "EAFNOSUPPORT" || r.Ret != -1 {
		t.Errorf("socket(9999) = %+v, %v; want EAFNOSUPPORT", r, err)
	}
	for _, args := range [][]string{{"socket"}, {"socket", "1"}, {"socket", "x", "1"}} {
		if _, err := run(args); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
