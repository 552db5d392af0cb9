// Command syscall-probe issues one system call and prints what the kernel
// answered as a single JSON line, so end-to-end tests can tell inside a real
// container whether seccomp refused a call and with which errno.
//
// It is built static (CGO_ENABLED=0) and baked into the e2e busybox image.
// It always exits 0 after printing, so a refused call is data, not a failure;
// only a seccomp kill (SCMP_ACT_KILL_PROCESS) ends it without output, which
// the harness sees as exit status 159 (128 + SIGSYS).
//
// Usage:
//
//	syscall-probe mkdir <path>        mkdir(2) itself, not mkdirat(2)
//	syscall-probe mkdirat <path>
//	syscall-probe rmdir <path>
//	syscall-probe getpid
//	syscall-probe keyctl              keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0)
//	syscall-probe unshare             unshare(CLONE_NEWUTS)
//	syscall-probe raw <nr> [args...]  any native (x86_64) call, integer args
//	syscall-probe i386 <nr|name> [args...]
//	                                  the same through the 32-bit int $0x80 entry:
//	                                  seccomp sees it as AUDIT_ARCH_I386. name is one
//	                                  of getpid, mkdir <path>, rmdir <path>, keyctl.
//	syscall-probe socket <family> <type>
//	                                  socket(2) through Go's syscall package, as a
//	                                  Go program makes it: the direct call on
//	                                  amd64, socketcall(SYS_SOCKET, ...) on 386
//	                                  (built as syscall-probe-386 for the e2e
//	                                  image). Closes the socket it got.
//	syscall-probe loop <call>[,<call>...] <iterations> [repeats]
//	                                  time calls in a tight loop (benchmarks): call
//	                                  is getpid, personality (personality(0xffffffff),
//	                                  a query that changes nothing, and that
//	                                  RuntimeDefault checks by argument), socket or
//	                                  clone (checked by argument too; see loopCalls).
//	                                  Prints a loopResult line per call instead of
//	                                  a result line.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// result is the one line the probe prints.
type result struct {
	Syscall string `json:"syscall"`
	Arch    string `json:"arch"`
	Nr      int    `json:"nr"`
	Ret     int64  `json:"ret"`
	// Errno is the symbolic errno ("EPERM", "ENOSYS", ...) or "" on success.
	Errno string `json:"errno"`
	// Error carries a usage problem (bad arguments); the call was not made.
	Error string `json:"error,omitempty"`
}

// The i386 numbers of the calls the probe can make by name. The i386 table
// differs from x86_64 and is not in Go's syscall package for amd64 builds.
var i386Numbers = map[string]int{
	"getpid": 20,
	"mkdir":  39,
	"rmdir":  40,
	"keyctl": 288,
}

const (
	keyctlGetKeyringID = 0
	keySpecUserKeyring = -4
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "loop" {
		// Several calls, comma-separated, are timed one after the other
		// in one process, one line each: one exec instead of several.
		args := os.Args[2:]
		var calls []string
		if len(args) > 0 {
			calls = strings.Split(args[0], ",")
		}
		if len(calls) == 0 {
			calls = []string{""}
		}
		for _, c := range calls {
			res, err := runLoop(append([]string{c}, args[1:]...))
			if err != nil {
				emit(result{Error: err.Error()})
				os.Exit(2)
			}
			emitJSON(res)
		}
		return
	}
	res, err := run(os.Args[1:])
	if err != nil {
		res = result{Error: err.Error()}
		emit(res)
		os.Exit(2)
	}
	emit(res)
}

// emit prints r as the one JSON line the harness parses.
func emit(r result) { emitJSON(r) }

func emitJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}

var errUsage = errors.New("usage: syscall-probe mkdir|mkdirat|rmdir <path> | getpid | keyctl | unshare | raw <nr> [args] | i386 <nr|name> [args] | socket <family> <type> | loop getpid|personality|socket|clone[,...] <iterations> [repeats]")

func run(args []string) (result, error) {
	if len(args) == 0 {
		return result{}, errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "mkdir", "mkdirat", "rmdir":
		if len(rest) != 1 {
			return result{}, fmt.Errorf("%s needs exactly one path: %w", cmd, errUsage)
		}
		p, err := syscall.BytePtrFromString(rest[0])
		if err != nil {
			return result{}, err
		}
		ptr := uintptr(unsafe.Pointer(p))
		switch cmd {
		case "mkdir":
			return native(cmd, syscall.SYS_MKDIR, ptr, 0o755), nil
		case "mkdirat":
			return native(cmd, syscall.SYS_MKDIRAT, signed(unix.AT_FDCWD), ptr, 0o755), nil
		default:
			return native(cmd, syscall.SYS_RMDIR, ptr), nil
		}
	case "getpid":
		return native(cmd, syscall.SYS_GETPID), nil
	case "keyctl":
		return native(cmd, unix.SYS_KEYCTL, keyctlGetKeyringID, signed(keySpecUserKeyring), 0), nil
	case "unshare":
		return native(cmd, syscall.SYS_UNSHARE, syscall.CLONE_NEWUTS), nil
	case "raw":
		if len(rest) < 1 || len(rest) > 7 {
			return result{}, fmt.Errorf("raw needs a number and at most 6 args: %w", errUsage)
		}
		nums, err := ints(rest)
		if err != nil {
			return result{}, err
		}
		a := make([]uintptr, 6)
		for i, v := range nums[1:] {
			a[i] = uintptr(v)
		}
		return native("raw", uintptr(nums[0]), a...), nil
	case "i386":
		return i386(rest)
	case "socket":
		return goSocket(rest)
	}
	return result{}, fmt.Errorf("unknown call %q: %w", cmd, errUsage)
}

// goSocket creates a socket with syscall.Socket, so the probe makes the call
// the way every Go program does: on linux/386 the syscall package has no
// direct socket(2) and goes through socketcall(2), whose arguments seccomp
// cannot read.
func goSocket(args []string) (result, error) {
	if len(args) != 2 {
		return result{}, fmt.Errorf("socket needs a family and a type: %w", errUsage)
	}
	nums, err := ints(args)
	if err != nil {
		return result{}, err
	}
	res := result{Syscall: "socket", Arch: "x86_64", Nr: sysSocketNr}
	if runtime.GOARCH == "386" {
		res.Syscall, res.Arch = "socketcall", "i386"
	}
	fd, err := syscall.Socket(int(nums[0]), int(nums[1]), 0)
	if err != nil {
		var e syscall.Errno
		if !errors.As(err, &e) {
			return result{}, err
		}
		res.Ret, res.Errno = -1, errnoName(e)
		return res, nil
	}
	res.Ret = int64(fd)
	syscall.Close(fd)
	return res, nil
}

// native makes a call through the normal 64-bit entry. It uses RawSyscall6 so
// nothing else (no scheduler hooks) runs between the call and the result.
func native(name string, nr uintptr, a ...uintptr) result {
	var v [6]uintptr
	copy(v[:], a)
	r1, _, e := syscall.RawSyscall6(nr, v[0], v[1], v[2], v[3], v[4], v[5])
	res := result{Syscall: name, Arch: "x86_64", Nr: int(nr), Ret: int64(r1)}
	if e != 0 {
		res.Ret = -1
		res.Errno = unix.ErrnoName(e)
		if res.Errno == "" {
			res.Errno = "errno" + strconv.Itoa(int(e))
		}
	}
	return res
}

// ErrNoIA32 is the probe's answer on a kernel with IA-32 emulation off
// (ia32_emulation=0, or a hypervisor that runs 64-bit user code only):
// int $0x80 then faults before seccomp or any syscall code runs, so there is
// no 32-bit entry to filter. The harness reads it from the result's error.
const ErrNoIA32 = "ia32 emulation is off in this kernel: int $0x80 faults"

// int80Checked is int80 with the kernel's refusal of the 32-bit entry (a
// general protection fault, delivered as SIGSEGV) turned into ErrNoIA32
// instead of a crash.
func int80Checked(nr, a1, a2, a3, a4, a5 uintptr) (ret uintptr, ok bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = errors.New(ErrNoIA32)
		}
	}()
	ret, ok = int80(nr, a1, a2, a3, a4, a5)
	return ret, ok, nil
}

// i386 makes a call through int $0x80. Pointer arguments must be below 4 GiB
// because the 32-bit ABI truncates registers, so a path is copied into a page
// mapped with MAP_32BIT.
func i386(args []string) (result, error) {
	if len(args) < 1 || len(args) > 6 {
		return result{}, fmt.Errorf("i386 needs a number or name and at most 5 args: %w", errUsage)
	}
	name := args[0]
	nr, named := i386Numbers[name]
	var a [5]uintptr
	switch {
	case named && (name == "mkdir" || name == "rmdir"):
		if len(args) != 2 {
			return result{}, fmt.Errorf("i386 %s needs exactly one path: %w", name, errUsage)
		}
		p, err := lowString(args[1])
		if err != nil {
			return result{}, err
		}
		a[0] = p
		a[1] = 0o755
	case named && name == "keyctl":
		a[0] = keyctlGetKeyringID
		a[1] = signed(keySpecUserKeyring) & 0xffffffff
	case named:
	default:
		nums, err := ints(args)
		if err != nil {
			return result{}, err
		}
		nr = int(nums[0])
		for i, v := range nums[1:] {
			a[i] = uintptr(uint32(v))
		}
	}
	ret, ok, err := int80Checked(uintptr(nr), a[0], a[1], a[2], a[3], a[4])
	if err != nil {
		return result{Syscall: name, Arch: "i386", Nr: nr, Error: err.Error()}, nil
	}
	if !ok {
		return result{}, errors.New("i386 calls need an amd64 build")
	}
	r := int32(ret)
	res := result{Syscall: name, Arch: "i386", Nr: nr, Ret: int64(r)}
	if r < 0 && r >= -4095 {
		res.Ret = -1
		res.Errno = unix.ErrnoName(syscall.Errno(-r))
		if res.Errno == "" {
			res.Errno = "errno" + strconv.Itoa(int(-r))
		}
	}
	return res, nil
}

// lowString copies s, NUL-terminated, into memory addressable by 32-bit code.
func lowString(s string) (uintptr, error) {
	mem, err := syscall.Mmap(-1, 0, len(s)+1, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|mapLow)
	if err != nil {
		return 0, fmt.Errorf("mmap below 4 GiB: %w", err)
	}
	copy(mem, s)
	p := uintptr(unsafe.Pointer(&mem[0]))
	if uint64(p)>>32 != 0 {
		return 0, fmt.Errorf("mmap returned %#x, above 4 GiB", p)
	}
	return p, nil
}

// signed passes a negative constant (AT_FDCWD, KEY_SPEC_*) as a register value.
func signed(v int) uintptr { return uintptr(v) }

func ints(args []string) ([]int64, error) {
	out := make([]int64, len(args))
	for i, s := range args {
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("argument %d %q is not an integer: %w", i, s, err)
		}
		out[i] = v
	}
	return out, nil
}

// loopResult is the line `loop` prints: how long one call took, measured
// over Iterations calls, Repeats times.
type loopResult struct {
	Loop string `json:"loop"`
	Nr   int    `json:"nr"`
	Arg0 uint64 `json:"arg0"`
	// Ret and Errno are the first call's answer; when Errno is set (the
	// call was refused) nothing was timed. KernelErrno is set instead for
	// the calls made to fail in the kernel on purpose (see loopCalls): the
	// error the kernel gives once the filter has let the call through.
	Ret         int64  `json:"ret"`
	Errno       string `json:"errno"`
	KernelErrno string `json:"kernel_errno,omitempty"`
	Iterations  int    `json:"iterations"`
	// NsPerOp has one entry per repeat, in order; MinNs and MedianNs
	// summarise them.
	NsPerOp  []float64 `json:"ns_per_op"`
	MinNs    float64   `json:"min_ns"`
	MedianNs float64   `json:"median_ns"`
	// Seccomp and SeccompFilters are the "Seccomp:" and "Seccomp_filters:"
	// fields of /proc/self/status: the mode (0 none, 2 filter) and how many
	// filters the process runs under, so a caller can check what it timed.
	Seccomp        string `json:"seccomp"`
	SeccompFilters string `json:"seccomp_filters"`
}

// loopCall is a call `loop` can time: its number, first two arguments, and
// the error the kernel answers it with once past the filter (0: none).
type loopCall struct {
	nr         uintptr
	arg0, arg1 uintptr
	kernelErr  syscall.Errno
}

// loopCalls are chosen to cost the kernel almost nothing, so what is timed
// is the entry path and the seccomp filter. personality(0xffffffff) only
// reads the persona; RuntimeDefault allows personality for five argument
// values, so its filter has to compare the argument. socket and clone are
// the other calls RuntimeDefault checks by argument; they are made with
// arguments the filter lets through and the kernel then refuses at once
// (EINVAL), so no socket or process is made: socket(AF_UNIX, an invalid
// type), and clone(CLONE_THREAD without CLONE_SIGHAND). A refusal by the
// filter would be another errno (EPERM under every profile here). socket
// is added on amd64 only (sysnr_amd64.go): on 386 it is socketcall.
var loopCalls = map[string]loopCall{
	"getpid":      {nr: syscall.SYS_GETPID},
	"personality": {nr: syscall.SYS_PERSONALITY, arg0: 0xffffffff},
	"clone":       {nr: syscall.SYS_CLONE, arg0: syscall.CLONE_THREAD, kernelErr: syscall.EINVAL},
}

const (
	maxLoopIterations = 100_000_000
	maxLoopRepeats    = 1000
)

// runLoop times a raw system call in a tight loop. The call goes through
// RawSyscall on one locked OS thread: no libc or Go wrapper that could cache
// the answer (glibc once cached getpid), no scheduler hooks around it.
func runLoop(args []string) (loopResult, error) {
	if len(args) < 2 || len(args) > 3 {
		return loopResult{}, fmt.Errorf("loop needs a call, an iteration count and optionally a repeat count: %w", errUsage)
	}
	c, ok := loopCalls[args[0]]
	if !ok {
		return loopResult{}, fmt.Errorf("loop: unknown call %q (have getpid, personality, socket, clone): %w", args[0], errUsage)
	}
	iters, err := positive(args[1], maxLoopIterations)
	if err != nil {
		return loopResult{}, fmt.Errorf("loop iterations: %w", err)
	}
	repeats := 1
	if len(args) == 3 {
		if repeats, err = positive(args[2], maxLoopRepeats); err != nil {
			return loopResult{}, fmt.Errorf("loop repeats: %w", err)
		}
	}
	res := loopResult{Loop: args[0], Nr: int(c.nr), Arg0: uint64(c.arg0), Iterations: iters}
	res.Seccomp, res.SeccompFilters, err = seccompStatus()
	if err != nil {
		return loopResult{}, err
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r1, _, e := syscall.RawSyscall(c.nr, c.arg0, c.arg1, 0)
	res.Ret = int64(r1)
	switch {
	case e != 0 && e == c.kernelErr:
		res.Ret, res.KernelErrno = -1, errnoName(e)
	case e != 0:
		res.Ret, res.Errno = -1, errnoName(e)
		return res, nil
	case c.kernelErr != 0:
		// The kernel did something with the call: it must not be
		// repeated (a socket or a thread per iteration).
		return loopResult{}, fmt.Errorf("loop %s: the kernel accepted the call (ret %d), want %s", args[0], r1, errnoName(c.kernelErr))
	}
	for range repeats {
		start := time.Now()
		for range iters {
			syscall.RawSyscall(c.nr, c.arg0, c.arg1, 0)
		}
		res.NsPerOp = append(res.NsPerOp, float64(time.Since(start).Nanoseconds())/float64(iters))
	}
	sorted := slices.Sorted(slices.Values(res.NsPerOp))
	res.MinNs = sorted[0]
	res.MedianNs = sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		res.MedianNs = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	return res, nil
}

// positive parses a count between 1 and limit.
func positive(s string, limit int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer: %w", s, errUsage)
	}
	if n < 1 || n > limit {
		return 0, fmt.Errorf("%d is outside 1..%d: %w", n, limit, errUsage)
	}
	return n, nil
}

// seccompStatus reads the seccomp mode and filter count of this process.
func seccompStatus() (mode, filters string, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "", "", fmt.Errorf("read seccomp status: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		switch {
		case !ok:
		case k == "Seccomp":
			mode = strings.TrimSpace(v)
		case k == "Seccomp_filters":
			filters = strings.TrimSpace(v)
		}
	}
	if mode == "" {
		return "", "", errors.New("no Seccomp line in /proc/self/status (kernel without CONFIG_SECCOMP?)")
	}
	return mode, filters, nil
}

func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "errno" + strconv.Itoa(int(e))
}
