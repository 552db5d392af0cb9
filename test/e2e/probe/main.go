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
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
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
	res, err := run(os.Args[1:])
	if err != nil {
		res = result{Error: err.Error()}
		emit(res)
		os.Exit(2)
	}
	emit(res)
}

// emit prints r as the one JSON line the harness parses.
func emit(r result) {
	b, err := json.Marshal(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}

var errUsage = errors.New("usage: syscall-probe mkdir|mkdirat|rmdir <path> | getpid | keyctl | unshare | raw <nr> [args] | i386 <nr|name> [args]")

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
	}
	return result{}, fmt.Errorf("unknown call %q: %w", cmd, errUsage)
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
	ret, ok := int80(uintptr(nr), a[0], a[1], a[2], a[3], a[4])
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
	if p>>32 != 0 {
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
