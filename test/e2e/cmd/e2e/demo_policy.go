package main

import (
	"slices"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
)

// demoRules is the demo's policy as the loader reads it, to name the rule
// behind a refusal the demo shows.
type demoRules struct{ p *policy.Policy }

func loadPolicy(path string) (demoRules, error) {
	builtins, err := engine.Builtins()
	if err != nil {
		return demoRules{}, err
	}
	p, err := policy.Load(path, policy.Options{Builtins: builtins})
	if err != nil {
		return demoRules{}, err
	}
	return demoRules{p}, nil
}

// denyingRule names the first of the applied rules whose deny list names
// the syscall ("" when none does: a profile refused it).
func (d demoRules) denyingRule(applied []string, syscall string) string {
	for _, r := range d.p.Rules {
		if !slices.Contains(applied, r.Name) {
			continue
		}
		if slices.ContainsFunc(r.Deny, func(e policy.DenyEntry) bool { return e.Name == syscall }) {
			return r.Name
		}
	}
	return ""
}
