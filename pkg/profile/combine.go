package profile

import (
	"errors"
	"fmt"
	"maps"
	"slices"

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
func Intersect(a, b *Profile) (*Profile, []string, error) {
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
	var notes []string
	for name, x := range a.Syscalls {
		y, ok := b.Syscalls[name]
		if !ok && b.Default == Allow {
			// The other side allows the syscall outright, so x (already
			// normalized) is the intersection. Models are never modified
			// once built, so the entry is shared rather than copied.
			if !(len(x.Rules) == 0 && x.Fallback == out.Default) {
				out.Syscalls[name] = x
			}
			continue
		}
		if !ok {
			y = &Syscall{Fallback: b.Default}
		}
		notes = intersectInto(out, name, x, y, notes)
	}
	for name, y := range b.Syscalls {
		if _, ok := a.Syscalls[name]; ok {
			continue
		}
		if a.Default == Allow {
			if !(len(y.Rules) == 0 && y.Fallback == out.Default) {
				out.Syscalls[name] = y
			}
			continue
		}
		notes = intersectInto(out, name, &Syscall{Fallback: a.Default}, y, notes)
	}
	slices.Sort(notes)
	return out, notes, nil
}

func intersectInto(out *Profile, name string, x, y *Syscall, notes []string) []string {
	sc, n := intersectSyscall(x, y)
	for _, s := range n {
		notes = append(notes, name+": "+s)
	}
	out.put(name, sc)
	return notes
}

// Audit returns the profile a container runs with when a rule is rolled out in
// audit mode: every call keeps the verdict it has under without, except that a
// call without allows and with would refuse is logged (SCMP_ACT_LOG) instead. So
// the result never refuses what without allowed, and never allows what without
// refused. Where the exact set cannot be written, more calls are logged than
// strictly needed, never fewer; notes say where.
func Audit(without, with *Profile) (*Profile, []string) {
	out := &Profile{
		Default:          auditVerdict(without.Default, with.Default),
		AnyArch:          without.AnyArch,
		Arches:           slices.Clone(without.Arches),
		Flags:            slices.Clone(without.Flags),
		ListenerPath:     without.ListenerPath,
		ListenerMetadata: without.ListenerMetadata,
		Syscalls:         map[string]*Syscall{},
	}
	var notes []string
	if !without.AnyArch && !with.AnyArch {
		for _, x := range without.Arches {
			if !slices.Contains(with.Arches, x) {
				notes = append(notes, fmt.Sprintf("architecture %s would be refused by the rule; libseccomp cannot log a wrong architecture, so it is left as it was", x))
			}
		}
	}
	for _, name := range unionNames(without, with) {
		x, y := without.lookup(name), with.lookup(name)
		sc := &Syscall{}
		switch {
		case !y.conditional():
			sc.Fallback = auditVerdict(x.Fallback, y.Fallback)
			for _, r := range x.Rules {
				sc.Rules = append(sc.Rules, Rule{Conds: r.Conds, Verdict: auditVerdict(r.Verdict, y.Fallback)})
			}
		case !x.conditional():
			sc.Fallback = auditVerdict(x.Fallback, y.Fallback)
			for _, r := range y.Rules {
				sc.Rules = append(sc.Rules, Rule{Conds: r.Conds, Verdict: auditVerdict(x.Fallback, r.Verdict)})
			}
		default:
			// Both conditional: keep without's structure and log wherever the
			// rule might refuse.
			worst := y.max()
			sc.Fallback = auditVerdict(x.Fallback, worst)
			approx := sc.Fallback != auditVerdict(x.Fallback, y.Fallback)
			for _, r := range x.Rules {
				v := auditVerdict(r.Verdict, worst)
				approx = approx || v != r.Verdict
				sc.Rules = append(sc.Rules, Rule{Conds: r.Conds, Verdict: v})
			}
			if approx {
				notes = append(notes, name+": argument conditions on both sides; every call the rule might refuse is logged")
			}
		}
		sc.normalize()
		out.put(name, sc)
	}
	return out, notes
}

// auditVerdict is the audit transform of one call: without's verdict, except that
// an allowed call the rule would refuse is logged.
func auditVerdict(without, with Verdict) Verdict {
	if without.Level == LevelAllow && with.Level > LevelAllow {
		return Log
	}
	return without
}

func intersectSyscall(x, y *Syscall) (*Syscall, []string) {
	fb := Stricter(x.Fallback, y.Fallback)
	out := &Syscall{Fallback: fb}
	switch {
	case !x.conditional() && !y.conditional():
		return out, nil
	case !y.conditional():
		for _, r := range x.Rules {
			out.Rules = append(out.Rules, Rule{Conds: r.Conds, Verdict: Stricter(r.Verdict, y.Fallback)})
		}
		return out, out.normalize()
	case !x.conditional():
		for _, r := range y.Rules {
			out.Rules = append(out.Rules, Rule{Conds: r.Conds, Verdict: Stricter(x.Fallback, r.Verdict)})
		}
		return out, out.normalize()
	}
	// Both sides have argument conditions. Calls matching a rule on each side
	// get a rule of their own (the conjunction), where it can be written; every
	// other call falls through to one verdict, which must be at least as strict
	// as anything such a call can deserve.
	// A call matching a rule of x and none of y is only possible where that
	// rule is not inside one of y's rules, and the other way round.
	possible := []Verdict{fb}
	for _, r := range x.Rules {
		if !slices.ContainsFunc(y.Rules, func(q Rule) bool { return implies(r.Conds, q.Conds) }) {
			possible = append(possible, Stricter(r.Verdict, y.Fallback))
		}
	}
	for _, q := range y.Rules {
		if !slices.ContainsFunc(x.Rules, func(r Rule) bool { return implies(q.Conds, r.Conds) }) {
			possible = append(possible, Stricter(x.Fallback, q.Verdict))
		}
	}
	for _, r := range x.Rules {
		for _, q := range y.Rules {
			v := Stricter(r.Verdict, q.Verdict)
			conds, empty, ok := conjoin(r.Conds, q.Conds)
			switch {
			case empty:
			case ok:
				out.Rules = append(out.Rules, Rule{Conds: conds, Verdict: v})
			default:
				possible = append(possible, v)
			}
		}
	}
	for _, v := range possible {
		out.Fallback = Stricter(out.Fallback, v)
	}
	var notes []string
	for _, v := range possible {
		if v != out.Fallback {
			notes = append(notes, fmt.Sprintf("argument conditions on both sides cannot be intersected exactly; calls matching neither side's rule get %s", out.Fallback))
			break
		}
	}
	return out, append(notes, out.normalize()...)
}

// put stores sc under name unless it behaves like the default.
func (p *Profile) put(name string, sc *Syscall) {
	sc.Rules = slices.DeleteFunc(sc.Rules, func(r Rule) bool { return r.Verdict == sc.Fallback })
	if len(sc.Rules) == 0 && sc.Fallback == p.Default {
		return
	}
	p.Syscalls[name] = sc
}

func unionNames(a, b *Profile) []string {
	names := slices.Collect(maps.Keys(a.Syscalls))
	for n := range b.Syscalls {
		if _, ok := a.Syscalls[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
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
	return p
}

// is32bit reports whether libseccomp compares only the low 32 bits of arguments
// on this architecture.
func is32bit(a specs.Arch) bool {
	switch a {
	case specs.ArchX86, specs.ArchARM, specs.ArchMIPS, specs.ArchMIPSEL, specs.ArchPPC, specs.ArchS390, specs.ArchPARISC:
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
