// Package errnos is the kernel's errno table: one canonical name per number,
// the aliases a policy may also use, and the lookups both ways. It is a leaf
// package so that every package that prints or reads an errno (internal/profile,
// internal/policy, internal/audit) uses the same names without importing each other.
package errnos

import (
	"maps"
	"slices"
	"sync"
)

// Max is the largest value the kernel treats as an error return
// (MAX_ERRNO in include/linux/err.h); a larger "errno" would read as success.
const Max = 4095

// names are the kernel's errno names, one per number, as
// include/uapi/asm-generic/errno-base.h and errno.h define them (x86_64,
// arm64, riscv64 and every architecture without its own asm/errno.h). These
// are the names auditctl and strace print and accept. golang.org/x/sys/unix
// is no source for them: its number -> name table gives glibc's ENOTSUP for
// 95, the kernel-internal EFSCORRUPTED for 117 and a non-errno EFTYPE for 134,
// and auditctl refuses all three.
var names = map[uint]string{
	1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
	9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
	16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
	23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
	30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK",
	36: "ENAMETOOLONG", 37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 42: "ENOMSG",
	43: "EIDRM", 44: "ECHRNG", 45: "EL2NSYNC", 46: "EL3HLT", 47: "EL3RST", 48: "ELNRNG",
	49: "EUNATCH", 50: "ENOCSI", 51: "EL2HLT", 52: "EBADE", 53: "EBADR", 54: "EXFULL", 55: "ENOANO",
	56: "EBADRQC", 57: "EBADSLT", 59: "EBFONT", 60: "ENOSTR", 61: "ENODATA", 62: "ETIME", 63: "ENOSR",
	64: "ENONET", 65: "ENOPKG", 66: "EREMOTE", 67: "ENOLINK", 68: "EADV", 69: "ESRMNT", 70: "ECOMM",
	71: "EPROTO", 72: "EMULTIHOP", 73: "EDOTDOT", 74: "EBADMSG", 75: "EOVERFLOW", 76: "ENOTUNIQ",
	77: "EBADFD", 78: "EREMCHG", 79: "ELIBACC", 80: "ELIBBAD", 81: "ELIBSCN", 82: "ELIBMAX",
	83: "ELIBEXEC", 84: "EILSEQ", 85: "ERESTART", 86: "ESTRPIPE", 87: "EUSERS", 88: "ENOTSOCK",
	89: "EDESTADDRREQ", 90: "EMSGSIZE", 91: "EPROTOTYPE", 92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT",
	94: "ESOCKTNOSUPPORT", 95: "EOPNOTSUPP", 96: "EPFNOSUPPORT", 97: "EAFNOSUPPORT", 98: "EADDRINUSE",
	99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH", 102: "ENETRESET", 103: "ECONNABORTED",
	104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN", 107: "ENOTCONN", 108: "ESHUTDOWN",
	109: "ETOOMANYREFS", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 112: "EHOSTDOWN", 113: "EHOSTUNREACH",
	114: "EALREADY", 115: "EINPROGRESS", 116: "ESTALE", 117: "EUCLEAN", 118: "ENOTNAM",
	119: "ENAVAIL", 120: "EISNAM", 121: "EREMOTEIO", 122: "EDQUOT", 123: "ENOMEDIUM",
	124: "EMEDIUMTYPE", 125: "ECANCELED", 126: "ENOKEY", 127: "EKEYEXPIRED", 128: "EKEYREVOKED",
	129: "EKEYREJECTED", 130: "EOWNERDEAD", 131: "ENOTRECOVERABLE", 132: "ERFKILL", 133: "EHWPOISON",
}

// aliases are the second names of numbers above: the kernel's
// EWOULDBLOCK and EDEADLOCK, and glibc's ENOTSUP (the kernel's own ENOTSUPP,
// 524, is internal and never reaches user space). A policy may use them; what
// nri-seccomp writes uses the canonical name.
var aliases = map[string]string{
	"EWOULDBLOCK": "EAGAIN",
	"EDEADLOCK":   "EDEADLK",
	"ENOTSUP":     "EOPNOTSUPP",
}

// byName maps every accepted name, aliases included, to its number.
var byName = sync.OnceValue(func() map[string]uint {
	m := make(map[string]uint, len(names)+len(aliases))
	for n, name := range names {
		m[name] = n
	}
	for alias, name := range aliases {
		m[alias] = m[name]
	}
	return m
})

// Name returns the canonical name of an errno number (EOPNOTSUPP for 95,
// EAGAIN for 11), or "" when the number has no name.
func Name(n uint) string { return names[n] }

// Number returns the number of an errno name or alias (ENOTSUP -> 95), and
// false for a name that is neither.
func Number(name string) (uint, bool) {
	n, ok := byName()[name]
	return n, ok
}

// Canonical returns the canonical name for an errno name or alias
// (ENOTSUP -> EOPNOTSUPP), and false for a name that is neither.
func Canonical(name string) (string, bool) {
	n, ok := byName()[name]
	if !ok {
		return "", false
	}
	return names[n], true
}

// Accepted returns every accepted name, aliases included, sorted (so that
// anything choosing among them, such as a suggestion, is deterministic).
func Accepted() []string { return slices.Sorted(maps.Keys(byName())) }
