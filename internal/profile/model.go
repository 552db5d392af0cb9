package profile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Cond is one argument comparison. ValueTwo is only meaningful for
// SCMP_CMP_MASKED_EQ (it is the mask's expected result) and zero otherwise.
type Cond struct {
	Index    uint
	Op       specs.LinuxSeccompOperator
	Value    uint64
	ValueTwo uint64
}

func (c Cond) String() string {
	if c.Op == specs.OpMaskedEqual {
		return fmt.Sprintf("arg%d&%#x==%#x", c.Index, c.Value, c.ValueTwo)
	}
	return fmt.Sprintf("arg%d%s%#x", c.Index, opSymbol[c.Op], c.Value)
}

var opSymbol = map[specs.LinuxSeccompOperator]string{
	specs.OpNotEqual: "!=", specs.OpLessThan: "<", specs.OpLessEqual: "<=", specs.OpEqualTo: "==",
	specs.OpGreaterEqual: ">=", specs.OpGreaterThan: ">", specs.OpMaskedEqual: "&",
}

// Holds reports whether argument value x satisfies c.
func (c Cond) Holds(x uint64) bool {
	switch c.Op {
	case specs.OpNotEqual:
		return x != c.Value
	case specs.OpLessThan:
		return x < c.Value
	case specs.OpLessEqual:
		return x <= c.Value
	case specs.OpEqualTo:
		return x == c.Value
	case specs.OpGreaterEqual:
		return x >= c.Value
	case specs.OpGreaterThan:
		return x > c.Value
	case specs.OpMaskedEqual:
		return x&c.Value == c.ValueTwo
	}
	return false
}

func cmpCond(a, b Cond) int {
	return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Op, b.Op),
		cmp.Compare(a.Value, b.Value), cmp.Compare(a.ValueTwo, b.ValueTwo))
}

// wide reports whether c uses the upper 32 bits. On 32-bit ABIs (x86, arm)
// libseccomp compares only the low word, so conclusions drawn from 64-bit values
// may not hold there; callers treat such conditions conservatively.
func (c Cond) wide() bool { return c.Value>>32 != 0 || c.ValueTwo>>32 != 0 }

// interval returns the set of values satisfying c as [lo, hi], for the ordered
// operators and equality.
func (c Cond) interval() (lo, hi uint64, ok bool) {
	switch c.Op {
	case specs.OpEqualTo:
		return c.Value, c.Value, true
	case specs.OpLessThan:
		if c.Value == 0 {
			return 1, 0, true // empty
		}
		return 0, c.Value - 1, true
	case specs.OpLessEqual:
		return 0, c.Value, true
	case specs.OpGreaterThan:
		if c.Value == maxU {
			return 1, 0, true
		}
		return c.Value + 1, maxU, true
	case specs.OpGreaterEqual:
		return c.Value, maxU, true
	}
	return 0, 0, false
}

// condsDisjoint reports whether no value satisfies both a and b (same index).
// It answers false when unsure: callers then assume an overlap, which only ever
// makes results stricter.
func condsDisjoint(a, b Cond) bool {
	if a.wide() || b.wide() {
		return false
	}
	if a.Op == specs.OpEqualTo {
		return !b.Holds(a.Value)
	}
	if b.Op == specs.OpEqualTo {
		return !a.Holds(b.Value)
	}
	if alo, ahi, ok := a.interval(); ok {
		if blo, bhi, ok := b.interval(); ok {
			return alo > ahi || blo > bhi || ahi < blo || bhi < alo
		}
	}
	if a.Op == specs.OpMaskedEqual && b.Op == specs.OpMaskedEqual {
		return (a.ValueTwo^b.ValueTwo)&a.Value&b.Value != 0 ||
			a.ValueTwo&^a.Value != 0 || b.ValueTwo&^b.Value != 0
	}
	return false
}

// unsatisfiable reports whether no value satisfies c.
func unsatisfiable(c Cond) bool {
	if lo, hi, ok := c.interval(); ok {
		return lo > hi
	}
	return c.Op == specs.OpMaskedEqual && c.ValueTwo&^c.Value != 0
}

// tautology reports whether every value satisfies c (libseccomp then treats the
// rule as unconditional).
func tautology(c Cond) bool {
	switch c.Op {
	case specs.OpMaskedEqual:
		return c.Value == 0 && c.ValueTwo == 0
	case specs.OpGreaterEqual:
		return c.Value == 0
	case specs.OpLessEqual:
		return c.Value == maxU
	}
	return false
}

// condImplies reports whether every value satisfying a satisfies b (same index),
// answering false when unsure.
func condImplies(a, b Cond) bool {
	if a == b {
		return true
	}
	if a.wide() || b.wide() {
		return false
	}
	if a.Op == specs.OpEqualTo {
		return b.Holds(a.Value)
	}
	if alo, ahi, ok := a.interval(); ok {
		if blo, bhi, ok := b.interval(); ok {
			return alo > ahi || (blo <= alo && ahi <= bhi)
		}
	}
	return false
}

// CondRule is a conjunction of conditions, at most one per argument index (runc turns
// a rule with two comparisons on one argument into an OR of single comparisons,
// so such a rule can never be written as one entry).
type CondRule struct {
	Conds   []Cond
	Verdict Verdict
}

func (r CondRule) condString() string {
	parts := make([]string, len(r.Conds))
	for i, c := range r.Conds {
		parts[i] = c.String()
	}
	return strings.Join(parts, " && ")
}

// disjoint reports whether no call can satisfy both conjunctions.
func disjoint(a, b []Cond) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Index == y.Index && condsDisjoint(x, y) {
				return true
			}
		}
	}
	return false
}

// conjoin returns the conjunction of a and b as one expressible rule. ok is false
// with empty=true when the conjunction is unsatisfiable, and false with
// empty=false when it cannot be written with one comparison per argument.
func conjoin(a, b []Cond) (out []Cond, empty, ok bool) {
	out = slices.Clone(a)
	for _, y := range b {
		i := slices.IndexFunc(out, func(x Cond) bool { return x.Index == y.Index })
		if i < 0 {
			out = append(out, y)
			continue
		}
		x := out[i]
		switch {
		case condsDisjoint(x, y):
			return nil, true, false
		case condImplies(x, y):
			// x is already the tighter one
		case condImplies(y, x):
			out[i] = y
		default:
			return nil, false, false
		}
	}
	slices.SortFunc(out, cmpCond)
	return out, false, true
}

// Syscall is the normalized behaviour of one syscall: rules whose verdict differs
// from Fallback, pairwise either disjoint or of equal verdict (so libseccomp's
// unspecified choice among overlapping rules cannot matter), and the verdict for
// calls no rule matches.
type Syscall struct {
	Rules    []CondRule
	Fallback Verdict
}

func (s *Syscall) conditional() bool { return len(s.Rules) > 0 }

// verdicts lists every verdict s can give.
func (s *Syscall) max() Verdict {
	v := s.Fallback
	for _, r := range s.Rules {
		v = Stricter(v, r.Verdict)
	}
	return v
}

// Profile is the normalized model of a seccomp section.
type Profile struct {
	Default Verdict
	// AnyArch marks a synthesized profile with no architecture restriction (the
	// identity of intersection); it is written out as the native family.
	AnyArch          bool
	Arches           []specs.Arch // sorted, includes the native architecture
	Flags            []specs.LinuxSeccompFlag
	ListenerPath     string
	ListenerMetadata string
	Syscalls         map[string]*Syscall
	// Inexact lists where the model is stricter than what the input section does
	// (conservative reading of ambiguous rules); empty when the model is exact.
	Inexact []string
}

// AllowAll is the profile of a container with no seccomp: the identity of
// intersection.
func AllowAll() *Profile {
	return &Profile{Default: Allow, AnyArch: true, Syscalls: map[string]*Syscall{}}
}

// lookup returns the behaviour of name, synthesizing it from the default.
func (p *Profile) lookup(name string) *Syscall {
	if s, ok := p.Syscalls[name]; ok {
		return s
	}
	return &Syscall{Fallback: p.Default}
}

// FromSpec builds the model of an OCI seccomp section as runc and libseccomp would
// load it on an architecture whose native token is native. Where libseccomp's
// behaviour is unspecified (overlapping rules with different actions for one
// syscall), the model takes the stricter reading and records it in Inexact.
func FromSpec(s *specs.LinuxSeccomp, native specs.Arch) (*Profile, error) {
	if err := Validate(s); err != nil {
		return nil, err
	}
	def, _ := VerdictOf(s.DefaultAction, s.DefaultErrnoRet)
	names := 0 // size hint: RuntimeDefault names ~370 syscalls
	for _, sc := range s.Syscalls {
		names += len(sc.Names)
	}
	p := &Profile{
		Default:          def,
		Flags:            sortedUnique(s.Flags),
		ListenerPath:     s.ListenerPath,
		ListenerMetadata: s.ListenerMetadata,
		Syscalls:         make(map[string]*Syscall, names),
	}
	// libseccomp's filter always contains the native architecture; runc adds
	// the listed ones beside it.
	p.Arches = sortedUnique(append(slices.Clone(s.Architectures), native))

	// The rules are collected in the model's own map, in entries from one
	// slab (a RuntimeDefault model has about 370, and FromSpec runs for
	// every new profile a container brings), then normalized in place.
	per := accs{m: p.Syscalls, slab: make([]Syscall, 0, names)}
	mux := muxesSocketcall(p.Arches)
	for _, sc := range s.Syscalls {
		v, _ := VerdictOf(sc.Action, sc.ErrnoRet)
		if v == def {
			continue // runc skips rules whose action is the default action
		}
		rules := splitArgs(sc.Args, v)
		if len(sc.Args) > 0 && len(rules) == 0 || slices.ContainsFunc(sc.Args, func(a specs.LinuxSeccompArg) bool {
			c := Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo}
			return unsatisfiable(c) || tautology(c)
		}) {
			p.Inexact = append(p.Inexact, fmt.Sprintf("%v: a rule has a comparison that is always or never true; libseccomp may compile the syscall's other rules wrongly", sc.Names))
		}
		for _, name := range sc.Names {
			p.Inexact = per.add(name, sc.Args, rules, v, p.Inexact)
			if !mux {
				continue
			}
			if _, ok := muxedCalls[name]; ok {
				per.addMuxed(name, sc.Args, v)
			}
		}
	}
	for name, sc := range p.Syscalls {
		p.Inexact = append(p.Inexact, finish(sc, name, def)...)
		if !sc.conditional() && sc.Fallback == def {
			delete(p.Syscalls, name)
		}
	}
	slices.Sort(p.Inexact)
	return p, nil
}

// unset marks, while FromSpec collects rules, an entry with no
// unconditional rule yet (its Fallback is not a verdict then).
var unset = Verdict{Level: ^Level(0)}

// accs collects the rules libseccomp receives for each syscall: an entry's
// Fallback is the unconditional rule's verdict (unset: none), its Rules the
// conditional rules, until finish normalizes it. Entries come from slab
// while it lasts (one allocation for all of them).
type accs struct {
	m    map[string]*Syscall
	slab []Syscall
}

// add records an OCI rule for name (rules as splitArgs returned them),
// appending to notes where the reading is stricter than libseccomp's.
func (per *accs) add(name string, args []specs.LinuxSeccompArg, rules []CondRule, v Verdict, notes []string) []string {
	sc := per.m[name]
	if sc == nil {
		if len(per.slab) < cap(per.slab) {
			per.slab = per.slab[:len(per.slab)+1]
			sc = &per.slab[len(per.slab)-1]
		} else {
			sc = &Syscall{}
		}
		sc.Fallback = unset
		per.m[name] = sc
	}
	if len(args) == 0 {
		if sc.Fallback != unset && sc.Fallback != v {
			notes = append(notes, fmt.Sprintf("%s: several unconditional rules; the strictest is assumed", name))
			v = Stricter(sc.Fallback, v)
		}
		sc.Fallback = v
		return notes
	}
	sc.Rules = append(sc.Rules, rules...)
	return notes
}

// finish turns the rules collected for name into its normalized behaviour
// in a profile whose default is def, returning notes where it is read more
// strictly than libseccomp compiles it.
func finish(sc *Syscall, name string, def Verdict) []string {
	var notes []string
	if sc.Fallback != unset {
		// libseccomp lets an unconditional rule override every conditional
		// rule of the same syscall, in either order (checked against its
		// generated filter), so conditional rules only count without one.
		sc.Rules = nil
	} else {
		sc.Fallback = def
		// A rule given twice is one rule to it (on x86 a socketcall rule
		// and a socket call's copy often coincide). The slice is this
		// entry's own (add appended to it).
		slices.SortFunc(sc.Rules, cmpRule)
		sc.Rules = slices.CompactFunc(sc.Rules, func(x, y CondRule) bool { return cmpRule(x, y) == 0 })
	}
	if len(sc.Rules) == 0 {
		return nil // unconditional: nothing to check or normalize
	}
	if !writable(sc.Rules) {
		notes = append(notes, fmt.Sprintf("%s: rules compare several arguments; libseccomp 2.5 compiles such rules wrongly on 32-bit architectures, so they are read more strictly", name))
	}
	for i := range sc.Rules {
		for j := i + 1; j < len(sc.Rules); j++ {
			if !disjoint(sc.Rules[i].Conds, sc.Rules[j].Conds) {
				notes = append(notes, fmt.Sprintf("%s: rules %s and %s overlap; libseccomp's result for such rules is unspecified, the strictest reading is assumed",
					name, sc.Rules[i].condString(), sc.Rules[j].condString()))
			}
		}
	}
	for _, n := range sc.normalize() {
		notes = append(notes, name+": "+n)
	}
	return notes
}

// splitArgs turns an OCI rule's arguments into conjunctions the way runc does:
// all comparisons in one rule when each argument index appears once, otherwise
// each comparison as a rule of its own. nil means unconditional.
func splitArgs(args []specs.LinuxSeccompArg, v Verdict) []CondRule {
	if len(args) == 0 {
		return nil
	}
	conds := make([]Cond, len(args))
	dup := repeatsIndex(args)
	for i, a := range args {
		c := Cond{Index: a.Index, Op: a.Op, Value: a.Value}
		if a.Op == specs.OpMaskedEqual {
			c.ValueTwo = a.ValueTwo
		}
		conds[i] = c
	}
	if dup {
		rules := []CondRule{}
		for _, c := range conds {
			if !unsatisfiable(c) {
				rules = append(rules, CondRule{Conds: []Cond{c}, Verdict: v})
			}
		}
		return rules
	}
	if slices.ContainsFunc(conds, unsatisfiable) {
		return []CondRule{} // matches nothing, but is still a conditional rule
	}
	slices.SortFunc(conds, cmpCond)
	return []CondRule{{Conds: conds, Verdict: v}}
}

// repeatsIndex reports whether two comparisons in args test the same
// argument (a rule has at most six: no map needed).
func repeatsIndex(args []specs.LinuxSeccompArg) bool {
	for i := range args {
		for j := range i {
			if args[i].Index == args[j].Index {
				return true
			}
		}
	}
	return false
}

// implies reports whether every call satisfying conjunction a satisfies b.
func implies(a, b []Cond) bool {
	for _, d := range b {
		if !slices.ContainsFunc(a, func(c Cond) bool { return c.Index == d.Index && condImplies(c, d) }) {
			return false
		}
	}
	return true
}

// normalize establishes the invariant of Syscall: conditional rules are pairwise
// provably disjoint and none equals the fallback. libseccomp compiles overlapping
// rules for one syscall unpredictably — the BPF it generated here for two
// overlapping rules of the same action matched calls neither rule matches — so
// nri-seccomp never writes overlapping rules. Where a call matches several rules,
// the model gives it the strictest of their verdicts; rules are split, dropped or
// merged accordingly, and where that cannot be done exactly the result is
// stricter and a note says so.
func (s *Syscall) normalize() []string {
	var notes []string
	s.Rules = slices.DeleteFunc(s.Rules, func(r CondRule) bool { return r.Verdict == s.Fallback })
	for {
		i, j, ok := s.overlapping()
		if !ok {
			break
		}
		a, b := s.Rules[i], s.Rules[j]
		switch {
		case implies(a.Conds, b.Conds):
			// a lies inside b, which is at least as strict: b decides.
			s.Rules = slices.Delete(s.Rules, i, i+1)
		case len(b.Conds) == 1 && complement(b.Conds[0]) != nil:
			// Carve b out of a: a keeps only the calls b does not match.
			conds, empty, ok := conjoin(a.Conds, []Cond{*complement(b.Conds[0])})
			switch {
			case empty:
				s.Rules = slices.Delete(s.Rules, i, i+1)
			case ok && !slices.Equal(conds, a.Conds):
				s.Rules[i].Conds = conds
			default:
				notes = append(notes, s.merge(i, j))
			}
		default:
			notes = append(notes, s.merge(i, j))
		}
	}
	notes = append(notes, s.shape()...)
	s.sortRules()
	return notes
}

// sortRules puts rules in their canonical order.
func (s *Syscall) sortRules() { slices.SortFunc(s.Rules, cmpRule) }

func cmpRule(a, b CondRule) int {
	return cmp.Or(slices.CompareFunc(a.Conds, b.Conds, cmpCond), cmpVerdict(a.Verdict, b.Verdict))
}

// writable reports whether rules have the one shape libseccomp 2.5 compiles
// correctly on every architecture: one comparison per rule, all on the same
// argument. (With rules on different arguments it silently dropped one for
// i386; see TestToSpecRoundTrip.)
func writable(rules []CondRule) bool {
	for _, r := range rules {
		if len(r.Conds) != 1 || r.Conds[0].Index != rules[0].Conds[0].Index {
			return false
		}
	}
	return true
}

// shape makes the rules writable: it keeps the single-comparison rules on the
// argument most rules compare, and resolves every other rule more strictly —
// dropped if it is looser than the fallback (its calls get the fallback), or
// else its verdict becomes the fallback for every call no stricter rule matches.
func (s *Syscall) shape() []string {
	if writable(s.Rules) {
		return nil
	}
	count := map[uint]int{}
	for _, r := range s.Rules {
		if len(r.Conds) == 1 {
			count[r.Conds[0].Index]++
		}
	}
	keep, best := uint(0), -1
	for idx, n := range count {
		if n > best || (n == best && idx < keep) {
			keep, best = idx, n
		}
	}
	var notes []string
	var odd []CondRule
	s.Rules = slices.DeleteFunc(s.Rules, func(r CondRule) bool {
		if len(r.Conds) == 1 && r.Conds[0].Index == keep {
			return false
		}
		odd = append(odd, r)
		return true
	})
	for _, r := range odd {
		if r.Verdict.Level < s.Fallback.Level {
			notes = append(notes, fmt.Sprintf("rule %s (%s) cannot be written with the others; its calls get %s", r.condString(), r.Verdict, s.Fallback))
			continue
		}
		notes = append(notes, fmt.Sprintf("rule %s (%s) cannot be written with the others; %s applies to every call no stricter rule matches", r.condString(), r.Verdict, r.Verdict))
		s.Fallback = Stricter(s.Fallback, r.Verdict)
	}
	s.Rules = slices.DeleteFunc(s.Rules, func(r CondRule) bool {
		return r.Verdict.Level <= s.Fallback.Level && r.Verdict != s.Fallback || r.Verdict == s.Fallback
	})
	return notes
}

// overlapping finds two rules that may both match a call, the first no stricter
// than the second.
func (s *Syscall) overlapping() (i, j int, ok bool) {
	for i = range s.Rules {
		for j = range s.Rules {
			if i != j && s.Rules[i].Verdict.Level <= s.Rules[j].Verdict.Level &&
				!disjoint(s.Rules[i].Conds, s.Rules[j].Conds) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// merge resolves two overlapping rules i and j (i no stricter than j) that cannot
// be separated exactly. If the stricter verdict is looser than the fallback, the
// looser rule is dropped: its calls fall to the fallback or to j, both at least as
// strict. Otherwise the stricter verdict becomes the fallback for every call not
// matched by another rule.
func (s *Syscall) merge(i, j int) string {
	a, b := s.Rules[i], s.Rules[j]
	if b.Verdict.Level <= s.Fallback.Level {
		s.Rules = slices.Delete(s.Rules, i, i+1)
		return fmt.Sprintf("overlapping rules %s (%s) and %s (%s): the first is dropped, its calls get %s or %s",
			a.condString(), a.Verdict, b.condString(), b.Verdict, b.Verdict, s.Fallback)
	}
	s.Fallback = b.Verdict
	// a, b and every rule now equal to the fallback go. A looser rule that may
	// overlap one of them goes too: its calls there must get at least the
	// fallback, and rules are not allowed to overlap.
	var removed [][]Cond
	for k, r := range s.Rules {
		if k == i || k == j || r.Verdict == s.Fallback {
			removed = append(removed, r.Conds)
		}
	}
	s.Rules = slices.DeleteFunc(s.Rules, func(r CondRule) bool {
		if r.Verdict.Level > s.Fallback.Level {
			return false
		}
		if r.Verdict == s.Fallback {
			return true
		}
		return slices.ContainsFunc(removed, func(c []Cond) bool { return !disjoint(r.Conds, c) })
	})
	return fmt.Sprintf("overlapping rules %s (%s) and %s (%s) cannot be separated: %s for every call not matched by a stricter rule",
		a.condString(), a.Verdict, b.condString(), b.Verdict, b.Verdict)
}

func cmpVerdict(a, b Verdict) int {
	return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.Ret, b.Ret))
}

func sortedUnique[T cmp.Ordered](in []T) []T {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// Equal reports whether two models give every call the same verdict.
func Equal(a, b *Profile) bool {
	if a.Default != b.Default || a.AnyArch != b.AnyArch || !slices.Equal(a.Arches, b.Arches) ||
		!slices.Equal(a.Flags, b.Flags) || a.ListenerPath != b.ListenerPath ||
		a.ListenerMetadata != b.ListenerMetadata || len(a.Syscalls) != len(b.Syscalls) {
		return false
	}
	for name, x := range a.Syscalls {
		y, ok := b.Syscalls[name]
		if ok && x == y {
			continue // shared entry (intersections share what they keep)
		}
		if !ok || x.Fallback != y.Fallback || !slices.EqualFunc(x.Rules, y.Rules, func(r, q CondRule) bool {
			return r.Verdict == q.Verdict && slices.Equal(r.Conds, q.Conds)
		}) {
			return false
		}
	}
	return true
}

// ToSpec writes the model as an OCI seccomp section that runc loads to the same
// behaviour, or, where that cannot be written (a syscall whose conditional rules
// sit beside a non-default fallback), to a stricter one; each such place is
// returned as a note.
//
// On x86 libseccomp copies the socket calls' rules to socketcall (see
// socketcall.go); where those copies would not give the model's socketcall,
// socketcall is written unconditionally, never looser, with a note.
func (p *Profile) ToSpec(native specs.Arch) (*specs.LinuxSeccomp, []string) {
	if sc, ok := p.Syscalls["socketcall"]; ok && sc.conditional() && muxesSocketcall(p.writtenArches(native)) {
		// Where the copies alone give the model's socketcall, socketcall
		// is left to them.
		q := *p
		q.Syscalls = maps.Clone(p.Syscalls)
		delete(q.Syscalls, "socketcall")
		if out, notes := q.toSpec(native, nil); len(notes) == 0 {
			if override, note := p.socketcallOverride(out); override == nil && note == "" {
				return out, nil
			}
		}
	}
	out, notes := p.toSpec(native, nil)
	override, note := p.socketcallOverride(out)
	if override != nil {
		out, notes = p.toSpec(native, override)
	}
	if note != "" {
		notes = append(notes, note)
	}
	if override != nil && slices.Contains(out.Architectures, specs.ArchX32) && !anchored(out) {
		out.Architectures = slices.DeleteFunc(out.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
		notes = append(notes, "architectures: x32 is left out (its calls are killed): libseccomp 2.5.4 drops the x86_64 and x32 rules of a filter listing x32 whose only unconditional rule is on socketcall")
	}
	return out, notes
}

// anchored reports whether s has an unconditional rule, not with the
// default action, on a call outside the socket family. libseccomp 2.5.4
// was seen dropping the x86_64 and x32 rules of a filter listing x32 with
// an unconditional socketcall rule and no such other rule.
func anchored(s *specs.LinuxSeccomp) bool {
	def, _ := VerdictOf(s.DefaultAction, s.DefaultErrnoRet)
	return slices.ContainsFunc(s.Syscalls, func(sc specs.LinuxSyscall) bool {
		v, _ := VerdictOf(sc.Action, sc.ErrnoRet)
		return len(sc.Args) == 0 && v != def && slices.ContainsFunc(sc.Names, func(n string) bool {
			_, sock := muxedCalls[n]
			return !sock && n != "socketcall"
		})
	})
}

// toSpec is ToSpec, writing socketcall as one unconditional rule with
// verdict override, first, when override is set.
func (p *Profile) toSpec(native specs.Arch, override *Verdict) (*specs.LinuxSeccomp, []string) {
	var notes []string
	out := &specs.LinuxSeccomp{
		DefaultAction:    p.Default.Action(),
		Flags:            slices.Clone(p.Flags),
		ListenerPath:     p.ListenerPath,
		ListenerMetadata: p.ListenerMetadata,
	}
	if p.Default.Level == LevelErrno || p.Default.Level == LevelTrace {
		// Written although NRI's conversion drops it (containerd/nri up to
		// 0.12.5): then runc falls back to EPERM, the same as the default.
		out.DefaultErrnoRet = p.Default.ErrnoRet()
	}
	out.Architectures = p.writtenArches(native)

	type key struct {
		v     Verdict
		conds string
	}
	groups := map[key]*specs.LinuxSyscall{}
	var uncond []verdictGroup
	add := func(name string, v Verdict, conds []Cond) {
		if v == p.Default {
			return
		}
		// Most names are unconditional with one of a few verdicts: those
		// groups are found without hashing a key.
		var g *specs.LinuxSyscall
		if len(conds) == 0 {
			if i := slices.IndexFunc(uncond, func(u verdictGroup) bool { return u.v == v }); i >= 0 {
				g = uncond[i].g
			}
		}
		k := key{v, condKey(conds)}
		if g == nil {
			g = groups[k]
		}
		if g == nil {
			g = &specs.LinuxSyscall{Action: v.Action(), ErrnoRet: v.ErrnoRet()}
			for _, c := range conds {
				g.Args = append(g.Args, specs.LinuxSeccompArg{Index: c.Index, Op: c.Op, Value: c.Value, ValueTwo: c.ValueTwo})
			}
			groups[k] = g
			if len(conds) == 0 {
				uncond = append(uncond, verdictGroup{v, g})
			}
		}
		g.Names = append(g.Names, name)
	}
	for _, name := range sortedNames(p.Syscalls) {
		sc := p.Syscalls[name]
		if name == "socketcall" && override != nil {
			continue
		}
		switch {
		case !sc.conditional():
			add(name, sc.Fallback, nil)
		case sc.Fallback == p.Default:
			for _, r := range sc.Rules {
				add(name, r.Verdict, r.Conds)
			}
		case len(sc.Rules) == 1 && len(sc.Rules[0].Conds) == 1 && complement(sc.Rules[0].Conds[0]) != nil:
			// One comparison: its complement carries the fallback.
			r := sc.Rules[0]
			add(name, r.Verdict, r.Conds)
			add(name, sc.Fallback, []Cond{*complement(r.Conds[0])})
		case gapsWritable(sc.Rules):
			// The fallback cannot be an unconditional rule (it would
			// override the others), so it is written on the gaps between
			// the rules' ranges.
			for _, r := range sc.Rules {
				add(name, r.Verdict, r.Conds)
			}
			for _, c := range gaps(sc.Rules) {
				add(name, sc.Fallback, []Cond{c})
			}
		case writableBeside(sc, p.Default):
			// Rules on one argument: the fallback's values are written as
			// rules of their own (see exact.go).
			dom, _ := singleArg(sc)
			rules, _ := dom.of(sc).write(p.Default)
			for _, r := range rules {
				add(name, r.Verdict, r.Conds)
			}
		default:
			v := sc.max()
			notes = append(notes, fmt.Sprintf("%s: conditional rules beside a %s fallback cannot be written for runc; %s for every call", name, sc.Fallback, v))
			add(name, v, nil)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(groups), func(a, b key) int {
		ga, gb := groups[a], groups[b]
		return cmp.Or(cmp.Compare(len(ga.Args), len(gb.Args)), cmpVerdict(a.v, b.v),
			cmp.Compare(ga.Names[0], gb.Names[0]), cmp.Compare(a.conds, b.conds))
	}) {
		out.Syscalls = append(out.Syscalls, *groups[k])
	}
	if override != nil {
		// First: libseccomp refuses conflicting copies before a later
		// unconditional rule could override them.
		out.Syscalls = append([]specs.LinuxSyscall{{Names: []string{"socketcall"}, Action: override.Action(), ErrnoRet: override.ErrnoRet()}}, out.Syscalls...)
	}
	return out, notes
}

// verdictGroup is the written rule holding the unconditional calls with
// one verdict.
type verdictGroup struct {
	v Verdict
	g *specs.LinuxSyscall
}

// writtenArches is the architecture list ToSpec writes.
func (p *Profile) writtenArches(native specs.Arch) []specs.Arch {
	if p.AnyArch {
		return ArchFamily(native)
	}
	// The native architecture first, as the runtimes write it.
	return append([]specs.Arch{native}, slices.DeleteFunc(slices.Clone(p.Arches), func(a specs.Arch) bool { return a == native })...)
}

// gaps returns comparisons covering exactly the argument values no rule's range
// covers, for rules that are single range comparisons on one argument.
// ok is false when a gap needs two comparisons (a range bounded on both sides
// wider than one value).
func gapsOf(rules []CondRule) (out []Cond, ok bool) {
	type iv struct{ lo, hi uint64 }
	var ivs []iv
	for _, r := range rules {
		if len(r.Conds) != 1 || r.Conds[0].wide() {
			return nil, false
		}
		lo, hi, isRange := r.Conds[0].interval()
		if !isRange {
			return nil, false
		}
		if lo <= hi {
			ivs = append(ivs, iv{lo, hi})
		}
	}
	slices.SortFunc(ivs, func(a, b iv) int { return cmp.Compare(a.lo, b.lo) })
	idx := rules[0].Conds[0].Index
	next := uint64(0) // the lowest value not yet covered
	done := false
	for _, v := range ivs {
		if done || v.hi < next {
			continue
		}
		if v.lo > next {
			switch {
			case next == 0:
				out = append(out, Cond{Index: idx, Op: specs.OpLessThan, Value: v.lo})
			case v.lo-1 == next:
				out = append(out, Cond{Index: idx, Op: specs.OpEqualTo, Value: next})
			default:
				return nil, false
			}
		}
		if v.hi == maxU {
			done = true
		} else {
			next = v.hi + 1
		}
	}
	if !done {
		if next == 0 {
			return nil, false // no rules: nothing to complement
		}
		out = append(out, Cond{Index: idx, Op: specs.OpGreaterEqual, Value: next})
	}
	return out, true
}

// writtenExactly reports whether ToSpec writes sc exactly in a profile whose
// default is def (the cases of its switch before the stricter fallback).
func writtenExactly(sc *Syscall, def Verdict) bool {
	return !sc.conditional() || sc.Fallback == def ||
		len(sc.Rules) == 1 && len(sc.Rules[0].Conds) == 1 && complement(sc.Rules[0].Conds[0]) != nil ||
		gapsWritable(sc.Rules) || writableBeside(sc, def)
}

// writableBeside reports whether sc's behaviour can be written as single
// comparisons on one argument beside a profile default def.
func writableBeside(sc *Syscall, def Verdict) bool {
	dom, ok := singleArg(sc)
	if !ok {
		return false
	}
	_, failed := dom.of(sc).write(def)
	return len(failed) == 0
}

func gapsWritable(rules []CondRule) bool { _, ok := gapsOf(rules); return ok }

func gaps(rules []CondRule) []Cond { g, _ := gapsOf(rules); return g }

// condKey is a compact, exact key for a conjunction (fmt.Sprint is far slower
// and ToSpec calls this once per syscall on the decision path).
func condKey(conds []Cond) string {
	if len(conds) == 0 {
		return ""
	}
	b := make([]byte, 0, 32*len(conds))
	for _, c := range conds {
		b = strconv.AppendUint(b, uint64(c.Index), 10)
		b = append(b, ' ')
		b = append(b, c.Op...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, c.Value, 16)
		b = append(b, ' ')
		b = strconv.AppendUint(b, c.ValueTwo, 16)
		b = append(b, ';')
	}
	return string(b)
}

// complement returns the comparison true exactly where c is false, if one exists.
func complement(c Cond) *Cond {
	ops := map[specs.LinuxSeccompOperator]specs.LinuxSeccompOperator{
		specs.OpEqualTo: specs.OpNotEqual, specs.OpNotEqual: specs.OpEqualTo,
		specs.OpLessThan: specs.OpGreaterEqual, specs.OpGreaterEqual: specs.OpLessThan,
		specs.OpLessEqual: specs.OpGreaterThan, specs.OpGreaterThan: specs.OpLessEqual,
	}
	op, ok := ops[c.Op]
	if !ok || c.wide() {
		return nil
	}
	return &Cond{Index: c.Index, Op: op, Value: c.Value}
}
