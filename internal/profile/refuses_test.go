package profile

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Refuses: the calls that run (allow, log) or are handed elsewhere (notify,
// trace) are not refused; every other action, and an unknown one, is.
func TestRefuses(t *testing.T) {
	for _, tc := range []struct {
		a    specs.LinuxSeccompAction
		want bool
	}{
		{specs.ActAllow, false}, {specs.ActLog, false}, {specs.ActNotify, false}, {specs.ActTrace, false},
		{specs.ActErrno, true}, {specs.ActTrap, true}, {specs.ActKill, true}, {specs.ActKillThread, true},
		{specs.ActKillProcess, true}, {"SCMP_ACT_BOGUS", true}, {"", true},
	} {
		if got := Refuses(tc.a); got != tc.want {
			t.Errorf("Refuses(%q) = %v, want %v", tc.a, got, tc.want)
		}
	}
}
