package profile

import "testing"

// Verdict.String names errnos as the kernel does (the names a policy accepts
// and auditctl prints), not as golang.org/x/sys/unix does (ENOTSUP for 95,
// EFSCORRUPTED for 117), and falls back to the number for a nameless one.
func TestVerdictStringErrnoNames(t *testing.T) {
	for _, tc := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{Level: LevelErrno, Ret: 95}, "SCMP_ACT_ERRNO(EOPNOTSUPP)"},
		{Verdict{Level: LevelErrno, Ret: 117}, "SCMP_ACT_ERRNO(EUCLEAN)"},
		{Verdict{Level: LevelErrno, Ret: 11}, "SCMP_ACT_ERRNO(EAGAIN)"},
		{EPERM, "SCMP_ACT_ERRNO(EPERM)"},
		{Verdict{Level: LevelTrace, Ret: 38}, "SCMP_ACT_TRACE(ENOSYS)"},
		{Verdict{Level: LevelErrno, Ret: 524}, "SCMP_ACT_ERRNO(524)"},
		{Verdict{Level: LevelErrno, Ret: 134}, "SCMP_ACT_ERRNO(134)"},
		{Allow, "SCMP_ACT_ALLOW"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("Verdict{%d, %d}.String() = %q, want %q", tc.v.Level, tc.v.Ret, got, tc.want)
		}
	}
}
