// Package syscalls maps Linux syscall names to numbers and back for the
// architectures nri-seccomp handles, and answers whether a name is a syscall
// libseccomp could know at all.
//
// The tables in zsyscalls.go are generated (see hack/gensyscalls) from
// golang.org/x/sys/unix, so they follow the kernel headers x/sys was built
// from; regenerate after bumping x/sys.
//
// Architectures are named by their OCI / libseccomp tokens
// ("SCMP_ARCH_X86_64", ...), the spelling profiles use. Numbers are the
// values the kernel passes to a seccomp filter in seccomp_data.nr: for x32
// that includes __X32_SYSCALL_BIT (0x40000000), so Number("SCMP_ARCH_X32",
// "read") is 0x40000000. An x32 task's audit record carries
// AUDIT_ARCH_X86_64, so a decoder that sees that bit in the number must look
// it up with SCMP_ARCH_X32, not SCMP_ARCH_X86_64.
package syscalls

//go:generate go run ../../hack/gensyscalls -o zsyscalls.go

import (
	"slices"
	"strings"
	"sync"

	"github.com/nri-seccomp/nri-seccomp/internal/suggest"
)

// archTable is one architecture's table, as generated.
type archTable struct {
	token   string
	audit   uint32 // 0: the ABI reports another architecture's audit value
	numbers map[string]int
	names   map[int]string
}

func init() {
	// The generator guarantees that numbers are unique per architecture, so
	// the reverse map loses nothing.
	for i := range archTables {
		t := &archTables[i]
		t.names = make(map[int]string, len(t.numbers))
		for n, nr := range t.numbers {
			t.names[nr] = n
		}
	}
}

func lookup(arch string) *archTable {
	for i := range archTables {
		if archTables[i].token == arch {
			return &archTables[i]
		}
	}
	return nil
}

// Known reports whether name is a syscall name on any architecture libseccomp
// supports, including ones with no number on the architectures of this
// package (s390_runtime_instr, riscv_flush_icache, ...). Profiles written for
// another architecture, like Docker's default, therefore validate; a typo
// does not. Names are case-sensitive, as in libseccomp.
func Known(name string) bool {
	_, ok := knownSet()[name]
	return ok
}

// knownSet is knownNames as a set, built on first use: every profile a
// container brings checks each of its names (hundreds), where a binary
// search over ~2500 names cost a dozen string comparisons each.
var knownSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, len(knownNames))
	for _, n := range knownNames {
		m[n] = struct{}{}
	}
	return m
})

// Names returns every name Known accepts, sorted. The slice is shared:
// callers must not modify it. (Walking it is a cheaper way to list a large
// set of syscall names in order than sorting them.)
func Names() []string { return knownNames }

// Number returns the syscall number of name on arch. It is false for an
// unknown architecture and for a name the architecture does not have (for
// example "socketcall" on SCMP_ARCH_X86_64 or "open" on SCMP_ARCH_AARCH64).
func Number(arch, name string) (int, bool) {
	t := lookup(arch)
	if t == nil {
		return 0, false
	}
	nr, ok := t.numbers[name]
	return nr, ok
}

// Name returns the syscall name of number nr on arch, false if arch is
// unknown or has no syscall with that number.
func Name(arch string, nr int) (string, bool) {
	t := lookup(arch)
	if t == nil {
		return "", false
	}
	n, ok := t.names[nr]
	return n, ok
}

// ArchFromAudit maps an AUDIT_ARCH_* value, as found in the arch= field of a
// kernel seccomp audit record, to an OCI architecture token. x32 shares
// AUDIT_ARCH_X86_64 with x86_64 and is never returned; see the package
// documentation.
func ArchFromAudit(auditArch uint32) (string, bool) {
	for _, t := range archTables {
		if t.audit != 0 && t.audit == auditArch {
			return t.token, true
		}
	}
	return "", false
}

// Arches returns the OCI architecture tokens this package has numbers for,
// sorted.
func Arches() []string {
	out := make([]string, 0, len(archTables))
	for _, t := range archTables {
		out = append(out, t.token)
	}
	slices.Sort(out)
	return out
}

// Suggest returns the known syscall name closest to name, for "did you mean"
// messages, or "" if nothing is close. Close means at most two edits
// (insertions, deletions, substitutions or swaps of neighbours), and at most
// one for names of four letters or fewer, where two edits reach too many
// unrelated names. Case is ignored for the comparison, so "MKDIR" suggests
// "mkdir". Ties go to the lexically first name, so the answer is stable.
func Suggest(name string) string {
	want := strings.ToLower(name)
	if want == "" {
		return ""
	}
	limit := 2
	if len(want) <= 4 {
		limit = 1
	}
	return suggest.Nearest(want, knownNames, limit)
}
