package policy

import "slices"

// Index narrows a policy's rules to those that may apply to a namespace, so
// that a decision for a new pod looks at a handful of rules instead of all of
// them: policies with thousands of rules are mostly per-namespace rules.
//
// Candidates is a superset of the rules that match, in rule order; Matches
// still decides. Rules without a namespace constraint, and namespace patterns
// other than exact names and "prefix*" globs, are candidates for every
// namespace.
type Index struct {
	always []int
	exact  map[string][]int
	prefix *trieNode // "prefix*" globs by their literal prefix
}

type trieNode struct {
	rules []int // rules with a prefix glob ending here
	next  map[byte]*trieNode
}

// NewIndex indexes rules by their namespace patterns; rule i of the slice is
// reported as i.
func NewIndex(rules []*Rule) *Index {
	x := &Index{exact: map[string][]int{}, prefix: &trieNode{}}
	for i, r := range rules {
		ns := r.m.namespaces
		if ns == nil || slices.ContainsFunc(ns, func(g *glob) bool { return !g.literal && !g.prefix }) {
			x.always = append(x.always, i)
			continue
		}
		for _, g := range ns {
			if g.literal {
				x.exact[g.pattern] = appendOnce(x.exact[g.pattern], i)
				continue
			}
			n := x.prefix
			for j := 0; j < len(g.pattern); j++ {
				c := g.pattern[j]
				if n.next == nil {
					n.next = map[byte]*trieNode{}
				}
				if n.next[c] == nil {
					n.next[c] = &trieNode{}
				}
				n = n.next[c]
			}
			n.rules = appendOnce(n.rules, i)
		}
	}
	return x
}

// appendOnce appends i unless it is already last (rules are added in order).
func appendOnce(s []int, i int) []int {
	if len(s) > 0 && s[len(s)-1] == i {
		return s
	}
	return append(s, i)
}

// Candidates appends to dst, in ascending order and without repeats, the
// indexes of the rules that may match a container in namespace ns.
func (x *Index) Candidates(ns string, dst []int) []int {
	start := len(dst)
	dst = append(dst, x.always...)
	dst = append(dst, x.exact[ns]...)
	n := x.prefix
	dst = append(dst, n.rules...)
	for i := 0; i < len(ns) && n.next != nil; i++ {
		if n = n.next[ns[i]]; n == nil {
			break
		}
		dst = append(dst, n.rules...)
	}
	c := dst[start:]
	slices.Sort(c)
	return dst[:start+len(slices.Compact(c))]
}
