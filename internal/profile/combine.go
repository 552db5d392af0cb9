package profile

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrIncompatible is returned when two profiles cannot be combined into one
// seccomp section at all (different notify listeners, no common architecture).
var ErrIncompatible = errors.New("profiles cannot be combined")

// Intersect returns a profile that allows a call only if both a and b allow it,
// giving every call the stricter of the two verdicts. Where that cannot be written
// exactly, the result is stricter still, and each such place is returned as a
// note. The result is never looser than either input: that is the product's core
// promise, and it is tested as a property over generated profiles.
//
// The result is exact for every syscall whose rules, on both sides, compare one
// and the same argument with single comparisons (==, !=, <, <=, >, >=, or
// MASKED_EQ with one common mask), unless more than maxEnumerated values must be
// listed one by one; see docs/policy.md.
func Intersect(a, b *Profile) (*Profile, []string, error) {
	out, ws, err := IntersectDetail(a, b)
	return out, noteStrings(ws), err
}

// IntersectDetail is Intersect with each place where the result is stricter than
// exact as a Widening.
//
// The result may be a or b itself, or share entries with them: models are
// never modified once built.
func IntersectDetail(a, b *Profile) (*Profile, []Widening, error) {
	// The common case on a node: a rule's deny list, or the floor, that the
	// container's profile already refuses. Then the result is a as it is,
	// found by looking at b's few entries instead of building a copy of
	// a's hundreds.
	if unchangedBy(a, b) {
		return a, nil, nil
	}
	if unchangedBy(b, a) {
		return b, nil, nil
	}
	return intersectGeneral(a, b)
}

// intersectGeneral is IntersectDetail without the shortcut.
func intersectGeneral(a, b *Profile) (*Profile, []Widening, error) {
	out := &Profile{
		Default:  Stricter(a.Default, b.Default),
		Flags:    intersectFlags(a.Flags, b.Flags),
		Syscalls: map[string]*Syscall{},
	}
	switch {
	case a.AnyArch && b.AnyArch:
		out.AnyArch = true
	case a.AnyArch:
		out.Arches = slices.Clone(b.Arches)
	case b.AnyArch:
		out.Arches = slices.Clone(a.Arches)
	default:
		for _, x := range a.Arches {
			if slices.Contains(b.Arches, x) {
				out.Arches = append(out.Arches, x)
			}
		}
		if len(out.Arches) == 0 {
			return nil, nil, fmt.Errorf("%w: no architecture in common (%v and %v)", ErrIncompatible, a.Arches, b.Arches)
		}
	}
	if err := mergeListener(out, a, b); err != nil {
		return nil, nil, err
	}
	var notes []Widening
	// A syscall one side names and the other allows by default is, once
	// normalized, its own intersection; models are never modified once
	// built, so such entries are shared rather than copied. When one side's
	// default is allow (a deny list, or a container without seccomp), most
	// of the other side's entries are of that kind: the result starts as a
	// copy of that side's map (one copy of the table instead of an insert
	// per syscall) and only the other entries are worked out.
	var base *Profile
	switch {
	case b.Default == Allow:
		base = a
	case a.Default == Allow:
		base = b
	}
	if base != nil {
		out.Syscalls = maps.Clone(base.Syscalls)
	}
	// shared reports whether x, named on one side only while the other side
	// allows it by default, is kept as it is.
	shared := func(x *Syscall) bool { return !x.conditional() || x.Fallback == out.Default }
	keep := func(name string, x *Syscall, from *Profile) {
		switch {
		case len(x.Rules) == 0 && x.Fallback == out.Default:
			delete(out.Syscalls, name) // behaves like the default
		case from != base:
			out.Syscalls[name] = x
		}
	}
	for name, x := range a.Syscalls {
		y, ok := b.Syscalls[name]
		if !ok && b.Default == Allow && shared(x) {
			// (Rules beside a fallback other than the default are
			// rewritten below, so that they can be written out.)
			keep(name, x, a)
			continue
		}
		if !ok {
			y = &Syscall{Fallback: b.Default}
		}
		if base != nil {
			delete(out.Syscalls, name) // worked out below
		}
		notes = intersectInto(out, name, x, y, notes)
	}
	for name, y := range b.Syscalls {
		if _, ok := a.Syscalls[name]; ok {
			continue
		}
		if a.Default == Allow && shared(y) {
			keep(name, y, b)
			continue
		}
		if base != nil {
			delete(out.Syscalls, name)
		}
		notes = intersectInto(out, name, &Syscall{Fallback: a.Default}, y, notes)
	}
	sortWidenings(notes)
	return out, notes, nil
}

// unchangedBy reports whether intersecting a with b gives exactly a (the
// same model the general path below would build, with no notes). It only
// answers true in the plain case: b allows by default, keeps a's
// architectures, flags and listener, and names only syscalls without
// argument rules on either side that a already answers at least as strictly.
func unchangedBy(a, b *Profile) bool {
	if b.Default != Allow || len(b.Syscalls) > len(a.Syscalls)+8 {
		return false
	}
	switch {
	case b.AnyArch:
	case a.AnyArch:
		return false
	default:
		for _, x := range a.Arches {
			if !slices.Contains(b.Arches, x) {
				return false
			}
		}
	}
	if !slices.Equal(intersectFlags(a.Flags, b.Flags), a.Flags) ||
		(b.ListenerPath != "" || b.ListenerMetadata != "") && (b.ListenerPath != a.ListenerPath || b.ListenerMetadata != a.ListenerMetadata) {
		return false
	}
	for name, y := range b.Syscalls {
		if y.conditional() {
			return false
		}
		was := a.Default
		if x, ok := a.Syscalls[name]; ok {
			if x.conditional() {
				return false
			}
			was = x.Fallback
		}
		if Stricter(was, y.Fallback) != was {
			return false
		}
	}
	// The general path rewrites (or drops) some of a's entries even against
	// an allow-all partner: rules beside a fallback other than the default,
	// and entries that behave like the default.
	for _, x := range a.Syscalls {
		if x.conditional() && x.Fallback != a.Default || !x.conditional() && x.Fallback == a.Default {
			return false
		}
	}
	return true
}

func intersectInto(out *Profile, name string, x, y *Syscall, notes []Widening) []Widening {
	sc, n := intersectSyscall(name, x, y, out.Default)
	out.put(name, sc)
	return append(notes, n...)
}

func sortWidenings(ws []Widening) {
	slices.SortFunc(ws, func(a, b Widening) int { return cmp.Compare(a.String(), b.String()) })
}

// noteStrings renders notes.
func noteStrings(ws []Widening) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// detail wraps free-text notes about syscall name.
func detail(name string, notes []string) []Widening {
	var out []Widening
	for _, n := range notes {
		out = append(out, Widening{Syscall: name, Arg: -1, Detail: n})
	}
	return out
}

// Audit returns the profile a container runs with when a rule is rolled out in
// audit mode: every call keeps the verdict it has under without, except that a
// call without allows and with would refuse is logged (SCMP_ACT_LOG) instead. So
// the result never refuses what without allowed, and never allows what without
// refused. It is exact where Intersect is (one argument compared on both
// sides); elsewhere more calls are logged than strictly needed, never fewer,
// and notes say where.
func Audit(without, with *Profile) (*Profile, []string) {
	out, ws := AuditDetail(without, with)
	return out, noteStrings(ws)
}

// AuditDetail is Audit with each place where the result logs more than exact as
// a Widening (architecture notes have no Syscall).
func AuditDetail(without, with *Profile) (*Profile, []Widening) {
	out := &Profile{
		Default:          auditVerdict(without.Default, with.Default),
		AnyArch:          without.AnyArch,
		Arches:           slices.Clone(without.Arches),
		Flags:            slices.Clone(without.Flags),
		ListenerPath:     without.ListenerPath,
		ListenerMetadata: without.ListenerMetadata,
		Syscalls:         map[string]*Syscall{},
	}
	var notes []Widening
	if !without.AnyArch && !with.AnyArch {
		for _, x := range without.Arches {
			if !slices.Contains(with.Arches, x) {
				notes = append(notes, Widening{Arg: -1,
					Detail: fmt.Sprintf("architecture %s would be refused by the rule; libseccomp cannot log a wrong architecture, so it is left as it was", x)})
			}
		}
	}
	each := func(name string) {
		x, y := without.lookup(name), with.lookup(name)
		if y.conditional() && !writtenExactly(y, with.Default) {
			// Enforced, the rule would run as ToSpec writes it: the
			// strictest verdict for every call. Audit mode previews that.
			y = &Syscall{Fallback: y.max()}
		}
		exact, single := auditSingleArg(x, y, out.Default)
		if exact != nil {
			out.put(name, exact) // disjoint, sorted and writable by construction
			return
		}
		sc := &Syscall{}
		switch {
		case !x.conditional() && !y.conditional():
			sc.Fallback = auditVerdict(x.Fallback, y.Fallback)
		case !y.conditional():
			sc.Fallback = auditVerdict(x.Fallback, y.Fallback)
			for _, r := range x.Rules {
				sc.Rules = append(sc.Rules, CondRule{Conds: r.Conds, Verdict: auditVerdict(r.Verdict, y.Fallback)})
			}
		case !x.conditional():
			sc.Fallback = auditVerdict(x.Fallback, y.Fallback)
			for _, r := range y.Rules {
				sc.Rules = append(sc.Rules, CondRule{Conds: r.Conds, Verdict: auditVerdict(x.Fallback, r.Verdict)})
			}
		default:
			var ws []Widening
			sc, ws = auditBoth(name, x, y, single)
			notes = append(notes, ws...)
		}
		sc.normalize()
		if !writtenExactly(sc, out.Default) && writtenExactly(x, out.Default) {
			// ToSpec would have to write sc stricter, refusing calls
			// without allows: in audit mode leaving them unlogged is the
			// lesser failure.
			notes = append(notes, Widening{Syscall: name, Arg: -1, Detail: fmt.Sprintf(
				"the logged result (rules %s beside %s) cannot be written for runc; the syscall is left as it was, so calls the rule would refuse are not logged",
				rulesString(sc.Rules), sc.Fallback)})
			sc = x.clone()
		}
		out.put(name, sc)
	}
	// Every syscall either side names; the order does not matter (notes
	// are sorted below), so no sorted list of names is built.
	for name := range without.Syscalls {
		each(name)
	}
	for name := range with.Syscalls {
		if _, ok := without.Syscalls[name]; !ok {
			each(name)
		}
	}
	sortWidenings(notes)
	return out, notes
}

// auditSingleArg is the exact audit transform of a syscall whose rules compare
// one argument (see singleArg), written beside def; nil when it cannot be
// written that way. single is the partition computed, or nil outside that case.
func auditSingleArg(x, y *Syscall, def Verdict) (sc *Syscall, single *partition) {
	if !x.conditional() && !y.conditional() {
		return nil, nil
	}
	dom, ok := singleArg(x, y)
	if !ok {
		return nil, nil
	}
	exact := dom.combine(x, y, auditVerdict)
	if x.Fallback == def && dom.of(x).equal(exact) {
		return x.clone(), &exact // the rule changes nothing here
	}
	sc, _ = exact.syscall(def)
	return sc, &exact
}

// auditBoth is the audit transform of a syscall with argument conditions on
// both sides that cannot be written exactly: without's rules are kept and every
// call the rule might refuse is logged. exact is the exact result where known,
// to say precisely which calls are logged needlessly.
func auditBoth(name string, x, y *Syscall, exact *partition) (*Syscall, []Widening) {
	worst := y.max()
	sc := &Syscall{Fallback: auditVerdict(x.Fallback, worst)}
	for _, r := range x.Rules {
		sc.Rules = append(sc.Rules, CondRule{Conds: r.Conds, Verdict: auditVerdict(r.Verdict, worst)})
	}
	if exact != nil {
		// sc compares only arguments x compares: the same domain.
		return sc, diff(name, *exact, exact.of(sc))
	}
	if sc.Fallback == x.Fallback && slices.EqualFunc(sc.Rules, x.Rules, func(a, b CondRule) bool { return a.Verdict == b.Verdict }) {
		return sc, nil
	}
	return sc, []Widening{{Syscall: name, Arg: -1, Got: Log, Exact: Allow, Detail: fmt.Sprintf(
		"rules on both sides compare different arguments or cannot be combined exactly (%s and %s); calls the container may make are logged wherever the rule might refuse them",
		rulesString(x.Rules), rulesString(y.Rules))}}
}

// listShort joins at most 8 items, saying how many more there are: a note is
// read by people, and RuntimeDefault alone has dozens of rules for a syscall.
func listShort(items []string, sep string) string {
	if len(items) <= 8 {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:8], sep) + fmt.Sprintf("%s(%d more)", sep, len(items)-8)
}

func rulesString(rules []CondRule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.condString() + " " + r.Verdict.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (s *Syscall) clone() *Syscall {
	return &Syscall{Rules: slices.Clone(s.Rules), Fallback: s.Fallback}
}

// auditVerdict is the audit transform of one call: without's verdict, except that
// an allowed call the rule would refuse is logged.
func auditVerdict(without, with Verdict) Verdict {
	if without.Level == LevelAllow && with.Level > LevelAllow {
		return Log
	}
	return without
}

func intersectSyscall(name string, x, y *Syscall, def Verdict) (*Syscall, []Widening) {
	fb := Stricter(x.Fallback, y.Fallback)
	out := &Syscall{Fallback: fb}
	if !x.conditional() && !y.conditional() {
		return out, nil
	}
	if sc, ws, ok := intersectSingleArg(name, x, y, def); ok {
		return sc, ws
	}
	switch {
	case !y.conditional():
		for _, r := range x.Rules {
			out.Rules = append(out.Rules, CondRule{Conds: r.Conds, Verdict: Stricter(r.Verdict, y.Fallback)})
		}
		return out, detail(name, out.normalize())
	case !x.conditional():
		for _, r := range y.Rules {
			out.Rules = append(out.Rules, CondRule{Conds: r.Conds, Verdict: Stricter(x.Fallback, r.Verdict)})
		}
		return out, detail(name, out.normalize())
	}
	return intersectConjunctions(name, x, y)
}

// intersectSingleArg intersects two syscalls whose rules all compare one
// argument (see singleArg) value by value. ok is false outside that case.
// Where the exact result cannot be written (too many values to list), the
// values concerned get a stricter verdict and are returned as widenings.
func intersectSingleArg(name string, x, y *Syscall, def Verdict) (*Syscall, []Widening, bool) {
	dom, ok := singleArg(x, y)
	if !ok {
		return nil, nil, false
	}
	exact := dom.combine(x, y, Stricter)
	// When one side already is the intersection, keep it as written: A ∩ A
	// stays A, and a rule the container already satisfies changes nothing.
	for _, s := range []*Syscall{x, y} {
		if s.Fallback == def && dom.of(s).equal(exact) {
			return s.clone(), nil, true
		}
	}
	if sc, ok := exact.syscall(def); ok {
		return sc, nil, true
	}
	if dom.masked {
		return nil, nil, false // classes no rule names cannot be listed
	}
	w := exact
	w.segs = slices.Clone(exact.segs)
	w.widen(def)
	sc, ok := w.syscall(def)
	if !ok {
		panic("profile: widened partition not writable") // widen's postcondition
	}
	return sc, diff(name, exact, w), true
}

// intersectConjunctions intersects syscalls whose rules compare several
// arguments: calls matching a rule on each side get a rule of their own (the
// conjunction), where it can be written; every other call falls through to one
// verdict, which must be at least as strict as anything such a call can
// deserve.
func intersectConjunctions(name string, x, y *Syscall) (*Syscall, []Widening) {
	out := &Syscall{Fallback: Stricter(x.Fallback, y.Fallback)}
	// What calls that no written rule matches can deserve, by verdict, for
	// the notes: calls matching one side's rule and none of the other's
	// (oneSide), and calls matching a rule on each side whose conjunction
	// cannot be written (both).
	type group struct {
		neither       bool // calls matching no rule on either side
		oneSide, both []string
	}
	cases := map[Verdict]*group{out.Fallback: {neither: true}}
	order := []Verdict{out.Fallback}
	at := func(v Verdict) *group {
		g, ok := cases[v]
		if !ok {
			g = &group{}
			cases[v] = g
			order = append(order, v)
		}
		return g
	}
	// A call matching a rule of x and none of y is only possible where that
	// rule is not inside one of y's rules, and the other way round.
	for _, r := range x.Rules {
		if !slices.ContainsFunc(y.Rules, func(q CondRule) bool { return implies(r.Conds, q.Conds) }) {
			g := at(Stricter(r.Verdict, y.Fallback))
			g.oneSide = append(g.oneSide, r.condString())
		}
	}
	for _, q := range y.Rules {
		if !slices.ContainsFunc(x.Rules, func(r CondRule) bool { return implies(q.Conds, r.Conds) }) {
			g := at(Stricter(x.Fallback, q.Verdict))
			g.oneSide = append(g.oneSide, q.condString())
		}
	}
	for _, r := range x.Rules {
		for _, q := range y.Rules {
			v := Stricter(r.Verdict, q.Verdict)
			conds, empty, ok := conjoin(r.Conds, q.Conds)
			switch {
			case empty:
			case ok:
				out.Rules = append(out.Rules, CondRule{Conds: conds, Verdict: v})
			default:
				g := at(v)
				g.both = append(g.both, r.condString()+" and "+q.condString())
			}
		}
	}
	for _, v := range order {
		out.Fallback = Stricter(out.Fallback, v)
	}
	var notes []Widening
	for _, v := range order {
		if v == out.Fallback {
			continue
		}
		var which []string
		if cases[v].neither {
			which = append(which, "matching no rule on either side")
		}
		if g := cases[v]; len(g.oneSide) > 0 {
			which = append(which, "matching one side's rule "+listShort(g.oneSide, ", ")+" and no rule of the other")
		}
		if g := cases[v]; len(g.both) > 0 {
			which = append(which, "matching both "+listShort(g.both, ", or both ")+" (not one comparison per argument)")
		}
		w := Widening{Syscall: name, Arg: -1, Got: out.Fallback, Exact: v}
		w.Detail = fmt.Sprintf("the two sides' rules compare different arguments or cannot be combined value by value; calls %s get %s; the exact result is %s",
			strings.Join(which, ", and calls "), out.Fallback, v)
		if w.Refuses() {
			w.Detail += " (refused, though neither side refuses them)"
		}
		notes = append(notes, w)
	}
	return out, append(notes, detail(name, out.normalize())...)
}

// put stores sc under name unless it behaves like the default.
func (p *Profile) put(name string, sc *Syscall) {
	sc.Rules = slices.DeleteFunc(sc.Rules, func(r CondRule) bool { return r.Verdict == sc.Fallback })
	if len(sc.Rules) == 0 && sc.Fallback == p.Default {
		return
	}
	p.Syscalls[name] = sc
}

// intersectFlags keeps every flag either side set, except that speculative-store-
// bypass mitigations stay on unless both sides turned them off.
func intersectFlags(a, b []specs.LinuxSeccompFlag) []specs.LinuxSeccompFlag {
	var out []specs.LinuxSeccompFlag
	for _, f := range sortedUnique(append(slices.Clone(a), b...)) {
		if f == specs.LinuxSeccompFlagSpecAllow && !(slices.Contains(a, f) && slices.Contains(b, f)) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func mergeListener(out, a, b *Profile) error {
	switch {
	case a.ListenerPath != "" && b.ListenerPath != "" &&
		(a.ListenerPath != b.ListenerPath || a.ListenerMetadata != b.ListenerMetadata):
		return fmt.Errorf("%w: different notify listeners (%s and %s)", ErrIncompatible, a.ListenerPath, b.ListenerPath)
	case a.ListenerPath != "":
		out.ListenerPath, out.ListenerMetadata = a.ListenerPath, a.ListenerMetadata
	default:
		out.ListenerPath, out.ListenerMetadata = b.ListenerPath, b.ListenerMetadata
	}
	return nil
}

// Deny is one entry of a rule's deny list.
type Deny struct {
	Name    string
	Verdict Verdict
}

// DenyList is the profile that refuses exactly the listed syscalls and allows
// everything else, on every architecture: intersecting with it removes them.
func DenyList(entries []Deny) *Profile {
	p := AllowAll()
	for _, e := range entries {
		prev := p.lookup(e.Name).Fallback
		p.Syscalls[e.Name] = &Syscall{Fallback: Stricter(prev, e.Verdict)}
	}
	p.muxDenied()
	return p
}

// muxDenied gives socketcall, unless an entry names it, the copies
// libseccomp makes of the socket calls' entries on x86 (see socketcall.go):
// the list is written for every architecture of the native family.
func (p *Profile) muxDenied() {
	if _, ok := p.Syscalls["socketcall"]; ok {
		return
	}
	sc := &Syscall{Fallback: p.Default}
	for name, n := range muxedCalls {
		if d, ok := p.Syscalls[name]; ok && d.Fallback != p.Default {
			sc.Rules = append(sc.Rules, CondRule{Conds: []Cond{{Index: 0, Op: specs.OpEqualTo, Value: n}}, Verdict: d.Fallback})
		}
	}
	if len(sc.Rules) > 0 {
		sc.sortRules()
		p.Syscalls["socketcall"] = sc
	}
}

// is32bit reports whether libseccomp compares only the low 32 bits of arguments
// on this architecture: its arch_def has ARCH_SIZE_32. That includes the
// 32-bit-pointer ABIs of 64-bit machines, x32 and MIPS n32 (libseccomp's
// arch-x32.c, arch-mips64n32.c; for x32 the oracle tests saw it).
func is32bit(a specs.Arch) bool {
	switch a {
	case specs.ArchX86, specs.ArchARM, specs.ArchMIPS, specs.ArchMIPSEL, specs.ArchPPC, specs.ArchS390, specs.ArchPARISC,
		specs.ArchX32, specs.ArchMIPS64N32, specs.ArchMIPSEL64N32:
		return true
	}
	return false
}

// Eval returns the verdict the model gives a call, the reference semantics the
// property tests hold the BPF that libseccomp generates to.
func (p *Profile) Eval(arch specs.Arch, name string, args [6]uint64) Verdict {
	if !p.AnyArch && !slices.Contains(p.Arches, arch) {
		return Verdict{Level: LevelKillThread} // libseccomp's default bad-architecture action
	}
	sc := p.lookup(name)
	narrow := is32bit(arch)
	for _, r := range sc.Rules {
		match := true
		for _, c := range r.Conds {
			x := args[c.Index]
			if narrow {
				x &= 0xffffffff
				c.Value &= 0xffffffff
				c.ValueTwo &= 0xffffffff
			}
			if !c.Holds(x) {
				match = false
				break
			}
		}
		if match {
			return r.Verdict
		}
	}
	return sc.Fallback
}
