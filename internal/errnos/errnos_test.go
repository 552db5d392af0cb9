package errnos

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The table covers every number x/sys knows on this platform (1..133), and
// differs from its names only where x/sys prints a non-kernel name.
func TestTableAgainstXSys(t *testing.T) {
	differ := map[string]string{"ENOTSUP": "EOPNOTSUPP", "EFSCORRUPTED": "EUCLEAN"}
	for n := uint(1); n <= 133; n++ {
		x := unix.ErrnoName(syscall.Errno(n))
		ours := Name(n)
		if x == ours {
			continue
		}
		if differ[x] != ours {
			t.Errorf("errno %d: x/sys says %q, table %q", n, x, ours)
		}
	}
	if len(names) != 131 { // 1..133 without 41 and 58, which Linux leaves unused
		t.Errorf("table has %d names, want 131", len(names))
	}
}

// Every alias resolves to the number of its canonical name, and Canonical
// gives the canonical name back for both.
func TestAliases(t *testing.T) {
	for alias, want := range map[string]uint{"ENOTSUP": 95, "EWOULDBLOCK": 11, "EDEADLOCK": 35, "EOPNOTSUPP": 95} {
		n, ok := Number(alias)
		if !ok || n != want {
			t.Errorf("Number(%s) = %d, %v; want %d", alias, n, ok, want)
		}
		if c, ok := Canonical(alias); !ok || c != Name(want) {
			t.Errorf("Canonical(%s) = %q, %v; want %q", alias, c, ok, Name(want))
		}
	}
	for _, bad := range []string{"EFSCORRUPTED", "EFTYPE", "ENOTSUPP", "eperm", ""} {
		if n, ok := Number(bad); ok {
			t.Errorf("Number(%q) = %d, want none", bad, n)
		}
	}
	if got := len(Accepted()); got != 131+3 {
		t.Errorf("Accepted() has %d names, want 134 (131 numbers + 3 aliases)", got)
	}
}
