package profile

import (
	"maps"
	"slices"

	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// Seams to the generated syscall tables, so every name in a profile is checked
// against the syscalls libseccomp knows on some architecture.
var (
	syscallKnown   = syscalls.Known
	syscallSuggest = syscalls.Suggest
)

// sortedNames returns m's keys in order. For a large profile it walks the
// sorted table of known names instead of sorting (sorting RuntimeDefault's
// ~370 names was most of the cost of writing a profile out); any name
// missing from the table makes it sort after all.
func sortedNames[V any](m map[string]V) []string {
	if len(m) < 64 {
		return slices.Sorted(maps.Keys(m))
	}
	out := make([]string, 0, len(m))
	for _, n := range syscalls.Names() {
		if _, ok := m[n]; ok {
			out = append(out, n)
		}
	}
	if len(out) == len(m) {
		return out
	}
	return slices.Sorted(maps.Keys(m))
}
