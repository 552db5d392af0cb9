package dryrun

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
)

// CheckSummary is what `check` reports for a valid policy.
type CheckSummary struct {
	Files    int
	Rules    int
	Profiles int
	Revision string
	// Warnings do not make the policy invalid, but the policy will not do
	// what its author wants (no container could start, a rule can never
	// apply). Each names the file and line of the rule it is about where
	// there is one, and the field, in the form of load problems.
	Warnings []policy.Problem
}

// String is the one-line summary `check` prints.
func (s CheckSummary) String() string {
	return fmt.Sprintf("policy OK: %d rules, %d profiles, %d files, revision %s, %d warnings",
		s.Rules, s.Profiles, s.Files, s.Revision, len(s.Warnings))
}

// checkPass is one kind of warning `check` looks for. Passes run in the order
// of checkPasses, and their warnings are reported in that order.
type checkPass func(pol *policy.Policy) []policy.Problem

// checkPasses are the warnings of `check`. A new kind of warning is a new
// pass here; nothing else changes.
var checkPasses = []checkPass{
	runcProfileWarnings,
	runcDenyWarnings,
	deadRuleWarnings,
	stricterThanExact,
}

// CheckPolicy summarises a loaded policy and runs every warning pass on it.
func CheckPolicy(pol *policy.Policy) CheckSummary {
	s := CheckSummary{
		Files:    len(pol.Files),
		Rules:    len(pol.Rules),
		Profiles: len(pol.Profiles),
		Revision: pol.Revision,
	}
	for _, pass := range checkPasses {
		s.Warnings = append(s.Warnings, pass(pol)...)
	}
	return s
}

// runcProfileWarnings warns about every declared profile, and every built-in
// an enforce rule uses, that runc cannot start a container under; each once,
// naming the enforce rules that would apply it. Rules in audit mode are not
// warned about: their refusals become SCMP_ACT_LOG, which runc survives.
func runcProfileWarnings(pol *policy.Policy) []policy.Problem {
	var out []policy.Problem
	names := make([]string, 0, len(pol.Profiles))
	for name := range pol.Profiles {
		names = append(names, name)
	}
	paths := pol.RulePaths()
	usedBy := map[string][]int{} // profile -> indexes of enforce rules
	for i, r := range pol.Rules {
		if r.Profile == "" || r.Mode == policy.ModeAudit {
			continue
		}
		if !slices.Contains(names, r.Profile) {
			names = append(names, r.Profile)
		}
		usedBy[r.Profile] = append(usedBy[r.Profile], i)
	}
	slices.Sort(names)
	for _, name := range names {
		prof, ok := pol.Profile(name)
		if !ok {
			continue // the loader already refuses unknown names
		}
		// Point at the first enforce rule that uses the profile: that is
		// where a container would fail. A profile no rule uses has no line.
		w := policy.Problem{Field: "profiles." + name}
		where := "not used by an enforce rule"
		if rules := usedBy[name]; len(rules) > 0 {
			first := pol.Rules[rules[0]]
			w.File, w.Line, w.Field = first.File, first.Line, paths[rules[0]]+".profile"
			ruleNames := make([]string, len(rules))
			for i, ri := range rules {
				ruleNames[i] = pol.Rules[ri].Name
			}
			where = "used by " + strings.Join(ruleNames, ", ")
		}
		problems, err := runc.StartProblems(prof)
		switch {
		case err != nil:
			w.Message = fmt.Sprintf("profile %q: cannot be evaluated: %v", name, err)
		case len(problems) == 0:
			continue
		default:
			w.Message = fmt.Sprintf("profile %q (%s): %s", name, where, runc.FormatProblems(problems))
		}
		out = append(out, w)
	}
	return out
}

// runcDenyWarnings warns about enforce rules whose deny list alone stops
// runc from starting any container.
func runcDenyWarnings(pol *policy.Policy) []policy.Problem {
	var out []policy.Problem
	paths := pol.RulePaths()
	for i, r := range pol.Rules {
		if r.Mode == policy.ModeAudit || len(r.Deny) == 0 {
			continue
		}
		deny := make([]string, len(r.Deny))
		for j, d := range r.Deny {
			deny[j] = d.Name
		}
		if problems := runc.DenyProblems(deny); len(problems) > 0 {
			out = append(out, policy.Problem{File: r.File, Line: r.Line, Field: paths[i] + ".deny",
				Message: fmt.Sprintf("rule %q: %s", r.Name, runc.FormatProblems(problems))})
		}
	}
	return out
}

// deadRuleWarnings warns about rules that can never do anything on this
// node (policy.DeadRules).
func deadRuleWarnings(pol *policy.Policy) []policy.Problem {
	return pol.DeadRules(profile.Native)
}

// stricterThanExact warns where a tighten rule, on a container running a
// profile check knows of, would refuse more than the exact intersection:
// libseccomp cannot compile every exact result reliably (docs/policy.md, "The
// algebra"). check cannot know each container's profile; it tries
// runtime-default (what containers asking for RuntimeDefault run) and every
// profile an enforce-mode inject rule gives. Containers with no seccomp at
// all need no check: the intersection with nothing is always exact.
func stricterThanExact(pol *policy.Policy) []policy.Problem {
	bases := map[string]*specs.LinuxSeccomp{}
	if p, ok := pol.Profile("runtime-default"); ok {
		bases["runtime-default"] = p
	}
	for _, r := range pol.Rules {
		if r.Action == policy.ActionInject && r.Mode != policy.ModeAudit && r.Profile != "" {
			if p, ok := pol.Profile(r.Profile); ok {
				bases[r.Profile] = p
			}
		}
	}
	cannot := func(err error) []policy.Problem {
		return []policy.Problem{{Message: fmt.Sprintf("cannot evaluate rules against known profiles: %v", err)}}
	}
	eng, err := engine.New(pol, engine.Options{CacheSize: -1})
	if err != nil {
		return cannot(err)
	}
	ws, err := eng.Widenings(bases)
	if err != nil {
		return cannot(err)
	}
	paths := pol.RulePaths()
	var out []policy.Problem
	for _, w := range ws {
		out = append(out, policy.Problem{File: w.Rule.File, Line: w.Rule.Line, Field: paths[w.Index],
			Message: fmt.Sprintf("rule %q on a container running %s: the result is stricter than the exact intersection (it cannot be written in the shape libseccomp compiles reliably): %s",
				w.Rule.Name, w.Base, w.Widening)})
	}
	return out
}
