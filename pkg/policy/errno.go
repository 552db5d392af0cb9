package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxErrno is the largest value the kernel treats as an error return
// (MAX_ERRNO in include/linux/err.h); a larger "errno" would read as success.
const maxErrno = 4095

// errnoByName maps errno names to numbers for this platform. x/sys/unix only
// offers number -> name, with one name per number, so the table is built from
// that and the common aliases are added by hand.
var errnoByName = sync.OnceValue(func() map[string]uint {
	m := make(map[string]uint)
	for n := 1; n <= maxErrno; n++ {
		if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
			m[name] = uint(n)
		}
	}
	m["EWOULDBLOCK"] = uint(unix.EWOULDBLOCK)
	m["EDEADLOCK"] = uint(unix.EDEADLOCK)
	m["ENOTSUP"] = uint(unix.ENOTSUP)
	return m
})

// parseErrno accepts an errno name ("ENOSYS") or a number in 1..4095. Zero is
// refused: SCMP_ACT_ERRNO with 0 makes the call look successful without running
// it, which is not a denial.
func parseErrno(s string, isInt bool) (uint, error) {
	if isInt {
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil || n > maxErrno {
			return 0, fmt.Errorf("errno %s is out of range (1-%d)", s, maxErrno)
		}
		if n == 0 {
			return 0, fmt.Errorf("errno 0 would make the call appear to succeed; use a real error such as EPERM")
		}
		return uint(n), nil
	}
	if n, ok := errnoByName()[s]; ok {
		return n, nil
	}
	names := slices.Sorted(maps.Keys(errnoByName())) // sorted: ties resolve the same way every run
	msg := fmt.Sprintf("unknown errno %q", s)
	if sug := suggest(s, names); sug != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sug)
	} else {
		msg += " (use a name such as EPERM, EACCES or ENOSYS, or a number)"
	}
	return 0, fmt.Errorf("%s", msg)
}
