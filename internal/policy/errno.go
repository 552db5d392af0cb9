package policy

import (
	"fmt"
	"strconv"

	"github.com/nri-seccomp/nri-seccomp/internal/errnos"
)

// The errno table lives in internal/errnos, a leaf package: internal/profile
// prints errno names too and cannot import this package (policy imports
// profile).

// ErrnoName returns the canonical name of an errno number (EOPNOTSUPP for
// 95, EAGAIN for 11), or "" when the number has no name.
func ErrnoName(n uint) string { return errnos.Name(n) }

// CanonicalErrno returns the canonical name for an errno name or alias
// (ENOTSUP -> EOPNOTSUPP), and false for a name that is neither.
func CanonicalErrno(name string) (string, bool) { return errnos.Canonical(name) }

// parseErrno accepts an errno name ("ENOSYS") or a number in 1..4095. Zero is
// refused: SCMP_ACT_ERRNO with 0 makes the call look successful without running
// it, which is not a denial.
func parseErrno(s string, isInt bool) (uint, error) {
	if isInt {
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil || n > errnos.Max {
			return 0, fmt.Errorf("errno %s is out of range (1-%d)", s, errnos.Max)
		}
		if n == 0 {
			return 0, fmt.Errorf("errno 0 would make the call appear to succeed; use a real error such as EPERM")
		}
		return uint(n), nil
	}
	if n, ok := errnos.Number(s); ok {
		return n, nil
	}
	names := errnos.Accepted() // sorted: ties resolve the same way every run
	msg := fmt.Sprintf("unknown errno %q", s)
	if sug := suggest(s, names); sug != "" {
		msg += hintFor(sug)
	} else {
		msg += " (use a name such as EPERM, EACCES or ENOSYS, or a number)"
	}
	return 0, fmt.Errorf("%s", msg)
}
