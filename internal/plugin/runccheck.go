package plugin

// The runc start check lives in internal/profiletool, which `profile lint` shares;
// these names keep check.go and its tests unchanged.

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
)

// RuncProblem is one syscall runc needs that a profile refuses.
type RuncProblem = profiletool.RuncProblem

// runcNeeds is profiletool's list in the shape this package's tests read.
var runcNeeds = func() []struct {
	names []string
	why   string
} {
	var out []struct {
		names []string
		why   string
	}
	for _, n := range profiletool.RuncNeeds() {
		out = append(out, struct {
			names []string
			why   string
		}{n.Names, n.Why})
	}
	return out
}()

// RuncStartProblems lists the syscalls runc needs that s refuses on this
// machine's architecture; see profiletool.RuncStartProblems.
func RuncStartProblems(s *specs.LinuxSeccomp) ([]RuncProblem, error) {
	return profiletool.RuncStartProblems(s)
}

// RuncDenyProblems lists deny-list entries that name a syscall runc needs.
func RuncDenyProblems(names []string) []RuncProblem { return profiletool.RuncDenyProblems(names) }

// FormatRuncProblems joins problems for a one-line warning.
func FormatRuncProblems(ps []RuncProblem) string { return profiletool.FormatRuncProblems(ps) }
