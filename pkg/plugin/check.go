package plugin

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/engine"
	"github.com/nri-seccomp/nri-seccomp/pkg/policy"
)

// CheckSummary is what `check` reports for a valid policy.
type CheckSummary struct {
	Files    int
	Rules    int
	Profiles int
	Revision string
	// Warnings do not make the policy invalid, but the policy will not do
	// what its author wants (e.g. no container could start).
	Warnings []string
}

// String is the one-line summary `check` prints.
func (s CheckSummary) String() string {
	return fmt.Sprintf("policy OK: %d rules, %d profiles, %d files, revision %s, %d warnings",
		s.Rules, s.Profiles, s.Files, s.Revision, len(s.Warnings))
}

// CheckPolicy summarises a loaded policy and warns about profiles and deny
// lists that runc cannot start a container under. Rules in audit mode are
// not warned about: their refusals become SCMP_ACT_LOG, which runc survives.
func CheckPolicy(pol *policy.Policy) CheckSummary {
	s := CheckSummary{
		Files:    len(pol.Files),
		Rules:    len(pol.Rules),
		Profiles: len(pol.Profiles),
		Revision: pol.Revision,
	}

	// Every declared profile, and the built-ins enforce rules use; each
	// reported once, naming the enforce rules that would apply it.
	names := make([]string, 0, len(pol.Profiles))
	for name := range pol.Profiles {
		names = append(names, name)
	}
	usedBy := map[string][]string{}
	for _, r := range pol.Rules {
		if r.Profile == "" || r.Mode == policy.ModeAudit {
			continue
		}
		if !slices.Contains(names, r.Profile) {
			names = append(names, r.Profile)
		}
		usedBy[r.Profile] = append(usedBy[r.Profile], r.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		prof, ok := pol.Profile(name)
		if !ok {
			continue // the loader already refuses unknown names
		}
		problems, err := RuncStartProblems(prof)
		if err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("profile %q: cannot be evaluated: %v", name, err))
			continue
		}
		if len(problems) == 0 {
			continue
		}
		where := "not used by an enforce rule"
		if rules := usedBy[name]; len(rules) > 0 {
			where = "used by " + strings.Join(rules, ", ")
		}
		s.Warnings = append(s.Warnings, fmt.Sprintf("profile %q (%s): %s", name, where, FormatRuncProblems(problems)))
	}

	s.Warnings = append(s.Warnings, stricterThanExact(pol)...)

	for i, r := range pol.Rules {
		if r.Mode == policy.ModeAudit || len(r.Deny) == 0 {
			continue
		}
		deny := make([]string, len(r.Deny))
		for i, d := range r.Deny {
			deny[i] = d.Name
		}
		if problems := RuncDenyProblems(deny); len(problems) > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: rules[%d].deny: rule %q: %s", r.File, r.Line, i, r.Name, FormatRuncProblems(problems)))
		}
	}
	return s
}

// stricterThanExact warns where a tighten rule, on a container running a
// profile check knows of, would refuse more than the exact intersection:
// libseccomp cannot compile every exact result reliably (docs/policy.md, "The
// algebra"). check cannot know each container's profile; it tries
// runtime-default (what containers asking for RuntimeDefault run) and every
// profile an enforce-mode inject rule gives. Containers with no seccomp at
// all need no check: the intersection with nothing is always exact.
func stricterThanExact(pol *policy.Policy) []string {
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
	eng, err := engine.New(pol, engine.Options{CacheSize: -1})
	if err != nil {
		return []string{fmt.Sprintf("cannot evaluate rules against known profiles: %v", err)}
	}
	ws, err := eng.Widenings(bases)
	if err != nil {
		return []string{fmt.Sprintf("cannot evaluate rules against known profiles: %v", err)}
	}
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s:%d: rules[%d]: rule %q on a container running %s: the result is stricter than the exact intersection (it cannot be written in the shape libseccomp compiles reliably): %s",
			w.Rule.File, w.Rule.Line, w.Index, w.Rule.Name, w.Base, w.Widening))
	}
	return out
}
