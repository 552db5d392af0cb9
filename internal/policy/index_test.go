package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The index may only ever drop rules that cannot match: over generated
// policies and namespaces, every rule that matches is a candidate, and the
// candidates come in rule order without repeats.
func TestIndexNeverDropsAMatchingRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	// Patterns use pieces the loader accepts in namespace patterns; the
	// namespaces looked up also use ones no namespace may have.
	valid := []string{"a", "b", "ab", "team-a", "team-b"}
	odd := append(slices.Clone(valid), "x/y", "-", "team-", "")
	gen := func(pieces []string) string {
		var b strings.Builder
		for range 1 + rng.IntN(2) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	word := func() string { return gen(valid) }
	pattern := func() string {
		switch rng.IntN(6) {
		case 0:
			return word() + "*"
		case 1:
			return word() + "?" + word()
		case 2:
			return "*" + word()
		case 3:
			return "[ab]" + word()
		default:
			return word()
		}
	}
	parsed := 0
	for iter := range 300 {
		var src strings.Builder
		src.WriteString("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n")
		nrules := 1 + rng.IntN(12)
		for i := range nrules {
			fmt.Fprintf(&src, "- name: r%d\n  action: tighten\n  deny: [keyctl]\n", i)
			if rng.IntN(4) == 0 {
				src.WriteString("  match: {}\n")
				continue
			}
			var pats []string
			for range 1 + rng.IntN(3) {
				pats = append(pats, fmt.Sprintf("%q", pattern()))
			}
			fmt.Fprintf(&src, "  match: {namespaces: [%s]}\n", strings.Join(pats, ", "))
		}
		pol, err := Parse([]byte(src.String()), "gen.yaml", Options{})
		if err != nil {
			// Generated names can be invalid namespaces ("x/y", "-"): the
			// loader refuses those, which its own tests cover.
			continue
		}
		parsed++
		x := NewIndex(pol.Rules)
		for range 50 {
			ns := gen(odd)
			if rng.IntN(8) == 0 {
				ns = ""
			}
			got := x.Candidates(ns, []int{-1}) // dst is appended to, not replaced
			if got[0] != -1 {
				t.Fatalf("Candidates overwrote dst: %v", got)
			}
			got = got[1:]
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatalf("candidates %v not ascending and unique", got)
			}
			for i, r := range pol.Rules {
				if r.Matches(MatchInput{Namespace: ns}) && !slices.Contains(got, i) {
					t.Fatalf("iteration %d: rule %d matches namespace %q but is not a candidate %v\npolicy:\n%s", iter, i, ns, got, src.String())
				}
			}
		}
	}
	if parsed < 100 {
		t.Fatalf("only %d of 300 generated policies parsed: the generator no longer tests the index", parsed)
	}
}

func TestIndexNarrows(t *testing.T) {
	pol, err := Parse([]byte(`apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- {name: prod, match: {namespaces: [prod]}, action: tighten, deny: [keyctl]}
- {name: team, match: {namespaces: ["team-*"]}, action: tighten, deny: [keyctl]}
- {name: teama, match: {namespaces: ["team-a*", prod]}, action: tighten, deny: [keyctl]}
- {name: all, match: {}, action: tighten, deny: [keyctl]}
- {name: odd, match: {namespaces: ["?rod"]}, action: tighten, deny: [keyctl]}
`), "p.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(pol.Rules)
	for ns, want := range map[string][]int{
		"prod":    {0, 2, 3, 4},
		"team-ab": {1, 2, 3, 4},
		"team-b":  {1, 3, 4},
		"dev":     {3, 4},
		"":        {3, 4},
	} {
		if got := x.Candidates(ns, nil); !slices.Equal(got, want) {
			t.Errorf("Candidates(%q) = %v, want %v", ns, got, want)
		}
	}
}
