package policy

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// DeadRules finds rules that load but can never do anything on a node whose
// native architecture is native: rules after an exempt rule that matches
// every container they match, inject rules limited to containers that
// already have seccomp, and deny lists naming only syscalls the node's
// architectures do not have. Such a policy is valid, and the daemon runs it,
// but it does not do what its author wrote, so `check` warns.
//
// Subsumption is decided only where it is exact (an empty match, identical
// globs, a literal or a longer prefix under a prefix glob, a superset of
// selector requirements); where it is not decidable the rule is assumed live.
// Problems name the rule's file and line.
func (p *Policy) DeadRules(native specs.Arch) []Problem {
	var out []Problem
	paths := rulePaths(p.Rules)
	family := tabledArches(native)
	for j, r := range p.Rules {
		if r.Action == ActionInject && r.m.profileTypes != nil && !slices.Contains(r.m.profileTypes, "Unconfined") {
			out = append(out, Problem{File: r.File, Line: r.Line, Field: paths[j] + ".match.profileTypes",
				Message: fmt.Sprintf("inject rule %q can never apply: inject only applies to containers without seccomp, whose profile type is Unconfined, and the rule matches only [%s]; use tighten",
					r.Name, strings.Join(r.m.profileTypes, " "))})
			continue // not also "shadowed": it applies to no container at all
		}
		if pr, dead := shadowedByExempt(p.Rules[:j], r); dead {
			out = append(out, Problem{File: r.File, Line: r.Line, Field: paths[j] + ".match",
				Message: fmt.Sprintf("rule %q can never apply: the earlier exempt rule %q (%s:%d) matches every container it matches, and exempt stops evaluation",
					r.Name, pr.Name, pr.File, pr.Line)})
			continue // its other problems do not matter
		}
		if len(r.Deny) > 0 && len(family) > 0 && !denyExistsOn(r.Deny, family) {
			out = append(out, Problem{File: r.File, Line: r.Line, Field: paths[j] + ".deny",
				Message: fmt.Sprintf("rule %q: the deny list refuses nothing on this node: none of its syscalls exists on %s",
					r.Name, strings.Join(family, ", "))})
		}
	}
	return out
}

// rulePaths returns each rule's field path within its own file ("rules[2]"),
// the form load problems use.
func rulePaths(rules []*Rule) []string {
	out := make([]string, len(rules))
	n := map[string]int{}
	for i, r := range rules {
		out[i] = index("rules", n[r.File])
		n[r.File]++
	}
	return out
}

// shadowedByExempt returns the first earlier exempt rule that matches every
// container r matches.
func shadowedByExempt(earlier []*Rule, r *Rule) (*Rule, bool) {
	for _, e := range earlier {
		if e.Action == ActionExempt && covers(&e.m, &r.m, r.Action) {
			return e, true
		}
	}
	return nil, false
}

// covers reports whether a matches every container b matches, when that is
// decidable; false otherwise. bAction narrows what b can apply to: an inject
// rule only ever applies to containers of profile type Unconfined.
func covers(a, b *matcher, bAction Action) bool {
	return globsCover(a.namespaces, b.namespaces) &&
		selectorCovers(a, b) &&
		annotationsCover(a.annotations, b.annotations) &&
		globsCover(a.containers, b.containers) &&
		globsCover(a.images, b.images) &&
		profileTypesCover(a.profileTypes, effectiveProfileTypes(b.profileTypes, bAction))
}

// globsCover: nil places no constraint; otherwise each of b's globs must be
// covered by one of a's.
func globsCover(a, b []*glob) bool {
	if a == nil {
		return true
	}
	if b == nil {
		return false
	}
	for _, g := range b {
		if !slices.ContainsFunc(a, func(h *glob) bool { return globCovers(h, g) }) {
			return false
		}
	}
	return true
}

// globCovers decides "every string b matches, a matches" for the shapes where
// it is exact; a and b are of the same flavour (same field).
func globCovers(a, b *glob) bool {
	switch {
	case a.source == b.source:
		return true
	case b.literal:
		return a.match(b.pattern)
	case a.prefix && b.prefix:
		return strings.HasPrefix(b.pattern, a.pattern)
	}
	return false
}

// selectorCovers: b's selector includes every requirement of a's, so b's
// pods are a subset of a's.
func selectorCovers(a, b *matcher) bool {
	if a.selector == nil {
		return true
	}
	if b.selector == nil {
		return false
	}
	ra, _ := a.selector.Requirements()
	rb, _ := b.selector.Requirements()
	have := make(map[string]bool, len(rb))
	for _, r := range rb {
		have[r.String()] = true
	}
	for _, r := range ra {
		if !have[r.String()] {
			return false
		}
	}
	return true
}

func annotationsCover(a, b []annotationMatch) bool {
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y annotationMatch) bool { return y.key == x.key && globCovers(x.value, y.value) }) {
			return false
		}
	}
	return true
}

// effectiveProfileTypes is the set of profile types a rule can apply to: all
// three when its match does not say, only Unconfined for inject.
func effectiveProfileTypes(listed []string, action Action) []string {
	types := listed
	if types == nil {
		types = profileTypes
	}
	if action == ActionInject {
		if slices.Contains(types, "Unconfined") {
			return []string{"Unconfined"}
		}
		return []string{}
	}
	return types
}

func profileTypesCover(a, b []string) bool {
	if a == nil {
		return true
	}
	for _, t := range b {
		if !slices.Contains(a, t) {
			return false
		}
	}
	return true
}

// tabledArches are the architectures a container on this node can call
// syscalls through and internal/syscalls has numbers for.
func tabledArches(native specs.Arch) []string {
	known := syscalls.Arches()
	var out []string
	for _, a := range profile.ArchFamily(native) {
		if slices.Contains(known, string(a)) {
			out = append(out, string(a))
		}
	}
	return out
}

func denyExistsOn(deny []DenyEntry, arches []string) bool {
	for _, d := range deny {
		for _, a := range arches {
			if _, ok := syscalls.Number(a, d.Name); ok {
				return true
			}
		}
	}
	return false
}

// RulePaths returns each rule's field path within its own file ("rules[2]"),
// the form load problems use, so that warnings about loaded rules read like
// them.
func (p *Policy) RulePaths() []string { return rulePaths(p.Rules) }
