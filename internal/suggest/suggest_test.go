package suggest

import (
	"strings"
	"testing"
)

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

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"abc", "acb", 1},
		{"abc", "ab", 1},
		{"ab", "abc", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b, 100); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
	// No bound (0) gives the same exact answers.
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b, 0); got != tt.want {
			t.Errorf("Distance(%q, %q, 0) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
	// With a bound, the answer is capped at the bound.
	if got := Distance("kitten", "sitting", 2); got != 2 {
		t.Errorf("distance with bound 2 = %d; want 2", got)
	}
}

// Hint formats a suggestion and nothing for none; Nearest keeps to its
// limit and ignores case.
func TestHintAndNearest(t *testing.T) {
	if got := Hint("mkdir"); got != ` (did you mean "mkdir"?)` {
		t.Errorf("Hint = %q", got)
	}
	if got := Hint(""); got != "" {
		t.Errorf(`Hint("") = %q`, got)
	}
	cands := []string{"mkdir", "mkdirat", "rmdir"}
	for _, tc := range []struct {
		word  string
		limit int
		want  string
	}{
		{"MKDIR", 0, "mkdir"}, {"mkdr", 1, "mkdir"}, {"mkdr", 0, ""}, {"mkdirt", 1, "mkdir"},
		{"xxxxx", 2, ""}, {strings.Repeat("m", 65), 100, ""},
	} {
		if got := Nearest(tc.word, cands, tc.limit); got != tc.want {
			t.Errorf("Nearest(%q, %d) = %q, want %q", tc.word, tc.limit, got, tc.want)
		}
	}
}
