package profile

import (
	"maps"
	"slices"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// sortedNames gives what sorting gives, on the table walk (large sets of
// known names) and on the fallback (a name the table lacks, small sets).
func TestSortedNames(t *testing.T) {
	known := syscalls.Names()
	big := map[string]bool{}
	for _, n := range known[:200] {
		big[n] = true
	}
	withUnknown := maps.Clone(big)
	withUnknown["not_a_syscall"] = true
	small := map[string]bool{"write": true, "read": true, "zzz": true}
	for name, m := range map[string]map[string]bool{"known": big, "unknown": withUnknown, "small": small, "empty": {}} {
		if got, want := sortedNames(m), slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if !slices.IsSorted(known) {
		t.Fatal("syscalls.Names is not sorted")
	}
}
