package policy

import (
	"strings"
	"testing"
)

// The standard names parse, aliases parse to the same number, and the
// non-standard names golang.org/x/sys/unix prints are refused.
func TestParseErrnoStandardNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want uint
		err  string
	}{
		{"EOPNOTSUPP", 95, ""},
		{"ENOTSUP", 95, ""},
		{"EUCLEAN", 117, ""},
		{"EAGAIN", 11, ""},
		{"EWOULDBLOCK", 11, ""},
		{"EDEADLK", 35, ""},
		{"EDEADLOCK", 35, ""},
		{"EHWPOISON", 133, ""},
		{"E2BIG", 7, ""},
		{"EFSCORRUPTED", 0, `unknown errno "EFSCORRUPTED"`},
		{"EFTYPE", 0, `unknown errno "EFTYPE"`},
		{"ENOTSUPP", 0, `unknown errno "ENOTSUPP" (did you mean "ENOTSUP"?)`},
	} {
		got, err := parseErrno(tc.name, false)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseErrno(%s) = %d, %v; want %d", tc.name, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("parseErrno(%s) error = %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestErrnoNameCanonical(t *testing.T) {
	for n, want := range map[uint]string{1: "EPERM", 11: "EAGAIN", 35: "EDEADLK", 95: "EOPNOTSUPP", 117: "EUCLEAN", 133: "EHWPOISON", 41: "", 58: "", 134: "", 524: ""} {
		if got := ErrnoName(n); got != want {
			t.Errorf("ErrnoName(%d) = %q, want %q", n, got, want)
		}
	}
	for in, want := range map[string]string{"ENOTSUP": "EOPNOTSUPP", "EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK", "EPERM": "EPERM"} {
		if got, ok := CanonicalErrno(in); !ok || got != want {
			t.Errorf("CanonicalErrno(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := CanonicalErrno("EFSCORRUPTED"); ok {
		t.Errorf("CanonicalErrno(EFSCORRUPTED) = %q, want none", got)
	}
}
