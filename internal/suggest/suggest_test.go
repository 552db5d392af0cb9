package suggest

import "testing"

// The policy package's tests cover the distance thresholds in depth; these
// pin the cases the profile reader relies on.
func TestClosest(t *testing.T) {
	caps := []string{"CAP_SYS_BOOT", "CAP_SYS_ADMIN", "CAP_CHOWN"}
	keys := []string{"defaultAction", "defaultErrnoRet", "syscalls"}
	tests := []struct {
		word  string
		cands []string
		want  string
	}{
		{"CAP_SYS_BOOOT", caps, "CAP_SYS_BOOT"},
		{"DEFAULTACTION", keys, "defaultAction"},
		{"sycalls", keys, "syscalls"},
		{"wholly different", keys, ""},
	}
	for _, tc := range tests {
		if got := Closest(tc.word, tc.cands); got != tc.want {
			t.Errorf("Closest(%q) = %q; want %q", tc.word, got, tc.want)
		}
	}
	if got := DidYouMean("sycalls", keys); got != ` (did you mean "syscalls"?)` {
		t.Errorf("DidYouMean = %q", got)
	}
}
