package profile

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This file computes the exact result of combining two syscalls whose rules all
// compare one and the same argument, and writes it in the one shape libseccomp
// compiles reliably (single comparisons on that argument, pairwise disjoint).
//
// The idea: such rules cut the argument's 64-bit value domain into intervals
// (or, for MASKED_EQ with one common mask, into the classes of x&mask) on which
// each side's verdict is constant. Combining is then done interval by interval,
// and the result is written back with prefix intervals as <=, suffix intervals
// as >=, single values as ==, and small middle intervals as one == per value.

// maxEnumerated bounds how many == rules one syscall may get for middle
// intervals, so that the filter stays far below the kernel's 4096
// instructions (RuntimeDefault compiles to ~1250 with three architectures;
// each == rule costs a few instructions per architecture).
const maxEnumerated = 64

const maxU = ^uint64(0)

// seg is a run of argument values [lo, hi] with one verdict. In masked mode
// lo == hi is a class: the value of x&mask.
type seg struct {
	lo, hi uint64
	v      Verdict
}

// partition is the exact per-value behaviour of one syscall on one argument.
type partition struct {
	idx    uint
	masked bool
	mask   uint64
	// segs covers [0, max] in order, adjacent ones differing in verdict
	// (interval mode), or lists the classes some rule names (masked mode).
	segs []seg
	// other is the verdict of the classes no rule names (masked mode only);
	// hasOther is false when the named classes are all there are.
	other    Verdict
	hasOther bool
}

// singleArg reports whether every rule of every given syscall is one
// comparison on the same argument, all of one kind: ordered comparisons,
// == and != (interval mode), or MASKED_EQ with one common mask. Comparisons
// using the upper 32 bits are left out: on 32-bit ABIs libseccomp compares
// only the low word, and the interval reasoning would not hold there.
func singleArg(scs ...*Syscall) (p partition, ok bool) {
	first := true
	for _, s := range scs {
		for _, r := range s.Rules {
			if len(r.Conds) != 1 || r.Conds[0].wide() {
				return p, false
			}
			c := r.Conds[0]
			m := c.Op == specs.OpMaskedEqual
			if m && (c.Value == 0 || c.ValueTwo&^c.Value != 0) {
				return p, false // always or never true: read conservatively elsewhere
			}
			if first {
				p = partition{idx: c.Index, masked: m}
				if m {
					p.mask = c.Value
				}
				first = false
				continue
			}
			if c.Index != p.idx || m != p.masked || (m && c.Value != p.mask) {
				return p, false
			}
		}
	}
	return p, !first
}

// evalArg is the verdict s gives a call whose compared argument is x.
func (s *Syscall) evalArg(x uint64) Verdict {
	for _, r := range s.Rules {
		if r.Conds[0].Holds(x) {
			return r.Verdict
		}
	}
	return s.Fallback
}

// breakpoints appends the values at which c's truth can change.
func breakpoints(out []uint64, c Cond) []uint64 {
	switch c.Op {
	case specs.OpEqualTo, specs.OpNotEqual:
		return append(out, c.Value, c.Value+1) // c is never wide: no overflow
	case specs.OpLessThan, specs.OpGreaterEqual:
		return append(out, c.Value)
	case specs.OpLessEqual, specs.OpGreaterThan:
		return append(out, c.Value+1)
	}
	return out
}

// combine returns the partition of f(x's verdict, y's verdict) over the domain
// p (as returned by singleArg for x and y).
func (p partition) combine(x, y *Syscall, f func(a, b Verdict) Verdict) partition {
	p.segs = nil
	if p.masked {
		classes := []uint64{}
		for _, s := range []*Syscall{x, y} {
			for _, r := range s.Rules {
				classes = append(classes, r.Conds[0].ValueTwo)
			}
		}
		slices.Sort(classes)
		classes = slices.Compact(classes)
		for _, c := range classes {
			p.segs = append(p.segs, seg{c, c, f(x.evalArg(c), y.evalArg(c))})
		}
		// A class no rule names gets both fallbacks.
		p.other = f(x.Fallback, y.Fallback)
		k := bits.OnesCount64(p.mask)
		p.hasOther = k >= 63 || uint64(len(classes)) < uint64(1)<<k
		if p.hasOther {
			// Canonical form: a class named with the verdict every
			// unnamed class gets need not be named.
			p.segs = slices.DeleteFunc(p.segs, func(s seg) bool { return s.v == p.other })
		}
		return p
	}
	pts := []uint64{0}
	for _, s := range []*Syscall{x, y} {
		for _, r := range s.Rules {
			pts = breakpoints(pts, r.Conds[0])
		}
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	for i, lo := range pts {
		hi := maxU
		if i+1 < len(pts) {
			hi = pts[i+1] - 1
		}
		p.segs = append(p.segs, seg{lo, hi, f(x.evalArg(lo), y.evalArg(lo))})
	}
	p.coalesce()
	return p
}

// of returns the partition of s alone over domain p.
func (p partition) of(s *Syscall) partition {
	return p.combine(s, &Syscall{Fallback: s.Fallback}, func(a, _ Verdict) Verdict { return a })
}

func (p *partition) coalesce() {
	if p.masked {
		return
	}
	out := p.segs[:1]
	for _, s := range p.segs[1:] {
		if last := &out[len(out)-1]; last.v == s.v {
			last.hi = s.hi
			continue
		}
		out = append(out, s)
	}
	p.segs = out
}

func (p partition) equal(q partition) bool {
	return slices.Equal(p.segs, q.segs) && p.other == q.other && p.hasOther == q.hasOther
}

// at is the verdict p gives argument value x.
func (p partition) at(x uint64) Verdict {
	if p.masked {
		for _, s := range p.segs {
			if x&p.mask == s.lo {
				return s.v
			}
		}
		return p.other
	}
	i, _ := slices.BinarySearchFunc(p.segs, x, func(s seg, x uint64) int {
		switch {
		case s.hi < x:
			return -1
		case s.lo > x:
			return 1
		}
		return 0
	})
	return p.segs[i].v
}

// uniform reports whether every value gets the same verdict, and which.
func (p partition) uniform() (Verdict, bool) {
	if p.masked {
		v := p.other
		if !p.hasOther {
			v = p.segs[0].v
		}
		for _, s := range p.segs {
			if s.v != v {
				return v, false
			}
		}
		return v, true
	}
	return p.segs[0].v, len(p.segs) == 1
}

// write expresses p as rules beside fallback fb, one comparison each on p's
// argument, pairwise disjoint. failed lists the segments (by index) that
// cannot be written: middle intervals too wide to enumerate, or, in masked
// mode, every segment when the unnamed classes need a verdict other than fb.
func (p partition) write(fb Verdict) (rules []CondRule, failed []int) {
	rule := func(op specs.LinuxSeccompOperator, v uint64, verdict Verdict) CondRule {
		return CondRule{Conds: []Cond{{Index: p.idx, Op: op, Value: v}}, Verdict: verdict}
	}
	if p.masked {
		if p.hasOther && p.other != fb {
			for i := range p.segs {
				failed = append(failed, i)
			}
			return nil, failed
		}
		for _, s := range p.segs {
			if s.v != fb {
				rules = append(rules, CondRule{Conds: []Cond{{Index: p.idx, Op: specs.OpMaskedEqual, Value: p.mask, ValueTwo: s.lo}}, Verdict: s.v})
			}
		}
		return rules, nil
	}
	// One value with the fallback amid a single other verdict: != says it in
	// one rule (RuntimeDefault-style "allow unless AF_VSOCK").
	if len(p.segs) == 3 && p.segs[1].lo == p.segs[1].hi && p.segs[1].v == fb && p.segs[0].v == p.segs[2].v {
		return []CondRule{rule(specs.OpNotEqual, p.segs[1].lo, p.segs[0].v)}, nil
	}
	budget := maxEnumerated
	for i, s := range p.segs {
		switch {
		case s.v == fb:
		case s.lo == s.hi && s.lo>>32 == 0:
			rules = append(rules, rule(specs.OpEqualTo, s.lo, s.v))
		case s.lo == 0 && s.hi>>32 == 0:
			rules = append(rules, rule(specs.OpLessEqual, s.hi, s.v))
		case s.hi == maxU && s.lo>>32 == 0:
			rules = append(rules, rule(specs.OpGreaterEqual, s.lo, s.v))
		case s.hi == maxU && (s.lo-1)>>32 == 0:
			rules = append(rules, rule(specs.OpGreaterThan, s.lo-1, s.v))
		case s.hi>>32 == 0 && s.hi-s.lo < uint64(budget):
			for x := s.lo; x <= s.hi; x++ {
				rules = append(rules, rule(specs.OpEqualTo, x, s.v))
			}
			budget -= int(s.hi - s.lo + 1)
		default:
			failed = append(failed, i)
		}
	}
	return rules, failed
}

// widen makes p writable beside fallback fb by making verdicts stricter, never
// looser (interval mode only). A middle interval too wide to enumerate either
// takes the fallback, when that is at least as strict, or else it and every
// value on one side of it (the side with fewer intervals) take the strictest
// verdict among them: a prefix or suffix can always be written.
func (p *partition) widen(fb Verdict) {
	for {
		_, failed := p.write(fb)
		if len(failed) == 0 {
			return
		}
		i := failed[0]
		if s := &p.segs[i]; fb.Level >= s.v.Level {
			s.v = fb
		} else {
			lo, hi := i, len(p.segs)-1
			if i < len(p.segs)-1-i {
				lo, hi = 0, i
			}
			v := p.segs[lo].v
			for _, t := range p.segs[lo : hi+1] {
				if t.v.Level > v.Level {
					v = t.v
				}
			}
			for k := lo; k <= hi; k++ {
				p.segs[k].v = v
			}
		}
		p.coalesce()
	}
}

// syscall writes p as a Syscall beside the profile default def. ok is false
// when it cannot be written exactly (see write).
func (p partition) syscall(def Verdict) (*Syscall, bool) {
	if v, ok := p.uniform(); ok {
		return &Syscall{Fallback: v}, true
	}
	rules, failed := p.write(def)
	if len(failed) > 0 {
		return nil, false
	}
	sc := &Syscall{Rules: rules, Fallback: def}
	// The rules are disjoint and differ from def by construction:
	// normalize would only sort them, at a quadratic cost.
	sc.sortRules()
	return sc, true
}

// ValueRange is an inclusive range of argument values.
type ValueRange struct{ Lo, Hi uint64 }

func (r ValueRange) String() string {
	if r.Lo == r.Hi {
		return fmt.Sprintf("%#x", r.Lo)
	}
	return fmt.Sprintf("%#x-%#x", r.Lo, r.Hi)
}

// Widening is one place where a combined profile is stricter than the exact
// combination of its inputs: which calls, what they get and what they would
// get exactly.
type Widening struct {
	Syscall string // "" for a note about the whole profile
	// Arg is the argument the values are of; -1 when the calls are described
	// by Detail instead.
	Arg int
	// Mask is set when Values are classes of arg&Mask (MASKED_EQ).
	Mask   uint64
	Values []ValueRange
	// Detail is the whole description (after "syscall: ") when Arg < 0:
	// the calls are not a set of values of one argument.
	Detail string
	Got    Verdict
	Exact  Verdict
}

// Refuses reports whether the widening refuses calls the exact result lets
// run: calls that neither input refuses.
func (w Widening) Refuses() bool { return w.Got.Level.Denies() && !w.Exact.Level.Denies() }

func (w Widening) String() string {
	var b strings.Builder
	if w.Syscall != "" {
		b.WriteString(w.Syscall)
		b.WriteString(": ")
	}
	if w.Arg < 0 {
		// Detail is the whole sentence.
		b.WriteString(w.Detail)
		return b.String()
	}
	{
		n := len(w.Values)
		shown := w.Values[:min(n, 8)]
		parts := make([]string, len(shown))
		for i, r := range shown {
			parts[i] = r.String()
		}
		list := strings.Join(parts, ", ")
		if n > len(shown) {
			list += fmt.Sprintf(" and %d more ranges", n-len(shown))
		}
		if w.Mask != 0 {
			fmt.Fprintf(&b, "calls with arg%d&%#x in {%s}", w.Arg, w.Mask, list)
		} else {
			fmt.Fprintf(&b, "calls with arg%d in {%s}", w.Arg, list)
		}
	}
	fmt.Fprintf(&b, " get %s; the exact result is %s", w.Got, w.Exact)
	if w.Refuses() {
		b.WriteString(" (refused, though the exact result lets them run)")
	}
	return b.String()
}

// diff lists where got differs from exact (partitions of one domain), grouped
// by the pair of verdicts.
func diff(name string, exact, got partition) []Widening {
	type pair struct{ got, exact Verdict }
	groups := map[pair]*Widening{}
	var order []pair
	add := func(lo, hi uint64, g, e Verdict) {
		k := pair{g, e}
		w := groups[k]
		if w == nil {
			w = &Widening{Syscall: name, Arg: int(exact.idx), Got: g, Exact: e}
			if exact.masked {
				w.Mask = exact.mask
			}
			groups[k] = w
			order = append(order, k)
		}
		if n := len(w.Values); n > 0 && w.Values[n-1].Hi+1 == lo && !exact.masked {
			w.Values[n-1].Hi = hi
			return
		}
		w.Values = append(w.Values, ValueRange{lo, hi})
	}
	var out []Widening
	if exact.masked {
		for _, s := range exact.segs {
			if g := got.at(s.lo); g != s.v {
				add(s.lo, s.lo, g, s.v)
			}
		}
		for _, s := range got.segs {
			if !slices.ContainsFunc(exact.segs, func(e seg) bool { return e.lo == s.lo }) && s.v != exact.other {
				add(s.lo, s.lo, s.v, exact.other)
			}
		}
		if exact.hasOther && got.other != exact.other {
			out = append(out, Widening{Syscall: name, Arg: -1, Got: got.other, Exact: exact.other,
				Detail: fmt.Sprintf("calls with arg%d&%#x in a class no rule names get %s; the exact result is %s", exact.idx, exact.mask, got.other, exact.other)})
		}
	} else {
		// Every boundary of either partition, so each piece has one
		// verdict in both.
		var los []uint64
		for _, p := range []partition{exact, got} {
			for _, s := range p.segs {
				los = append(los, s.lo)
			}
		}
		slices.Sort(los)
		los = slices.Compact(los)
		for i, lo := range los {
			hi := maxU
			if i+1 < len(los) {
				hi = los[i+1] - 1
			}
			if g, e := got.at(lo), exact.at(lo); g != e {
				add(lo, hi, g, e)
			}
		}
	}
	for _, k := range order {
		out = append(out, *groups[k])
	}
	slices.SortFunc(out, func(a, b Widening) int { return cmp.Compare(a.String(), b.String()) })
	return out
}
