package learn

import (
	"slices"
	"strings"
)

// Family is a tight group of syscalls that do the same thing through
// different interfaces, in the spirit of systemd's @sync or @signal groups
// but much narrower: a program that was seen making one member can make the
// others without gaining a power it did not show. With ProfileOptions.
// Families, a recording that saw any member (or, for a derived family,
// every name of Needs) also allows Members.
//
// The point is coverage, not size: a recording sees the one variant its
// exercise happened to reach (redis' AOF fdatasync, not the fsync of its RDB
// snapshot; nginx' read and write, not the sendfile of a large file), and
// the sibling the next code path uses would be refused. Every family is
// listed in the record's output when it adds a name.
type Family struct {
	Name string
	// Members are equivalent: any one seen allows all of them. Empty for a
	// derived family.
	Members []string
	// Needs, for a derived family: when every one of them was seen, Adds
	// are allowed (calls whose effect those already have).
	Needs, Adds []string
	Why         string
}

// Families are the groups `record --families` applies. Kept narrow on
// purpose: no group adds a power (a new kind of object, privilege or
// namespace) that its seen members lack.
var Families = []Family{
	{Name: "sync", Members: []string{"fdatasync", "fsync"},
		Why: "flush a file to disk (fdatasync skips metadata not needed to read the data back)"},
	{Name: "wait", Members: []string{"wait4", "waitid"},
		Why: "wait for a child process to change state"},
	{Name: "signal", Members: []string{"kill", "tgkill", "tkill"},
		Why: "send a signal to a process or one of its threads (the same permission check)"},
	{Name: "unlink", Members: []string{"rmdir", "unlink", "unlinkat"},
		Why: "remove a directory entry (unlinkat removes files, and directories with AT_REMOVEDIR)"},
	{Name: "rename", Members: []string{"rename", "renameat", "renameat2"},
		Why: "rename a directory entry, by path or relative to a directory descriptor"},
	{Name: "dup", Members: []string{"dup", "dup2", "dup3"},
		Why: "duplicate a file descriptor"},
	{Name: "pipe", Members: []string{"pipe", "pipe2"},
		Why: "create a pipe"},
	{Name: "remap", Needs: []string{"mmap", "munmap"}, Adds: []string{"mremap"},
		Why: "move or resize a mapping: what mmap, a copy and munmap do"},
	{Name: "copy", Needs: []string{"read", "write"}, Adds: []string{"copy_file_range", "sendfile"},
		Why: "copy between descriptors inside the kernel: what read and write do"},
}

// Widening is what one family added to a recorded profile.
type Widening struct {
	Family string `json:"family"`
	// Because are the seen syscalls that brought the family in.
	Because []string `json:"because"`
	Added   []string `json:"added"`
	Why     string   `json:"why"`
}

func (w Widening) String() string {
	return "family " + w.Family + ": " + strings.Join(w.Because, " ") + " seen, so " +
		strings.Join(w.Added, " ") + " allowed too (" + w.Why + ")"
}

// familyWidening returns what fams add to seen, for the syscalls known on arch
// (known reports whether a name is a syscall there). Names already seen
// are not added. Families are applied once, to what was seen, not to each
// other's additions: a widening never widens further.
func familyWidening(fams []Family, seen map[string]bool, known func(string) bool) []Widening {
	var out []Widening
	for _, f := range fams {
		var because, from []string
		if len(f.Members) > 0 {
			for _, m := range f.Members {
				if seen[m] {
					because = append(because, m)
				}
			}
			if len(because) == 0 {
				continue
			}
			from = f.Members
		} else {
			if !allSeen(f.Needs, seen) {
				continue
			}
			because, from = slices.Clone(f.Needs), f.Adds
		}
		var added []string
		for _, m := range from {
			if !seen[m] && known(m) {
				added = append(added, m)
			}
		}
		if len(added) > 0 {
			out = append(out, Widening{Family: f.Name, Because: because, Added: added, Why: f.Why})
		}
	}
	return out
}

func allSeen(names []string, seen map[string]bool) bool {
	for _, n := range names {
		if !seen[n] {
			return false
		}
	}
	return len(names) > 0
}
