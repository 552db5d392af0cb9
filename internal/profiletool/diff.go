package profiletool

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Relation says how two profiles compare.
type Relation string

// Relations between A and B.
const (
	Same         Relation = "same"          // every call gets the same verdict
	BStricter    Relation = "B is stricter" // B is never looser, and differs
	AStricter    Relation = "A is stricter" // A is never looser, and differs
	Incomparable Relation = "neither"       // each is looser somewhere
	Different    Relation = "different"     // neither is looser, but verdicts differ (errno values)
)

// DiffEntry is one syscall (or the default, Name "*") whose behaviour
// differs between A and B.
type DiffEntry struct {
	Name string
	A, B string // the behaviour on each side, spelt out
}

// DiffResult is the comparison of two profiles.
type DiffResult struct {
	// LooserInB: calls B lets through more loosely than A (B allows what A
	// refuses, or logs what A refuses...). LooserInA the other way round.
	// Changed: same strictness, different verdict (e.g. the errno).
	LooserInB, LooserInA, Changed []DiffEntry
	// ArchesOnlyA, ArchesOnlyB: architectures one side accepts and the other
	// kills.
	ArchesOnlyA, ArchesOnlyB []specs.Arch
	FlagsA, FlagsB           []specs.LinuxSeccompFlag
	Relation                 Relation
}

// BLooser reports whether some call gets a looser verdict under B than under
// A: the exit status of `profile diff`.
func (d *DiffResult) BLooser() bool { return len(d.LooserInB) > 0 || len(d.ArchesOnlyB) > 0 }

// Diff compares a and b call by call, on every architecture either lists.
// Argument-dependent syscalls are compared at every argument value where a
// rule of either side changes its answer, so the comparison is exact for the
// rule shapes nri-seccomp writes and runtimes ship.
func Diff(a, b *specs.LinuxSeccomp, native specs.Arch) (*DiffResult, error) {
	pa, err := profile.FromSpec(a, native)
	if err != nil {
		return nil, fmt.Errorf("A: %w", err)
	}
	pb, err := profile.FromSpec(b, native)
	if err != nil {
		return nil, fmt.Errorf("B: %w", err)
	}
	d := &DiffResult{FlagsA: pa.Flags, FlagsB: pb.Flags}
	archesA, archesB := arches(pa, native), arches(pb, native)
	for _, x := range archesA {
		if !slices.Contains(archesB, x) {
			d.ArchesOnlyA = append(d.ArchesOnlyA, x)
		}
	}
	for _, x := range archesB {
		if !slices.Contains(archesA, x) {
			d.ArchesOnlyB = append(d.ArchesOnlyB, x)
		}
	}
	var common []specs.Arch
	for _, x := range archesA {
		if slices.Contains(archesB, x) {
			common = append(common, x)
		}
	}

	names := map[string]bool{}
	for n := range pa.Syscalls {
		names[n] = true
	}
	for n := range pb.Syscalls {
		names[n] = true
	}
	// "*" stands for every syscall neither profile names.
	for _, n := range append([]string{"*"}, slices.Sorted(maps.Keys(names))...) {
		sa, sb := lookup(pa, n), lookup(pb, n)
		looserB, looserA, changed := compareSyscall(pa, pb, n, sa, sb, common)
		e := DiffEntry{Name: n, A: describe(sa), B: describe(sb)}
		if looserB {
			d.LooserInB = append(d.LooserInB, e)
		}
		if looserA {
			d.LooserInA = append(d.LooserInA, e)
		}
		if changed && !looserA && !looserB {
			d.Changed = append(d.Changed, e)
		}
	}
	bl := len(d.LooserInB) > 0 || len(d.ArchesOnlyB) > 0
	al := len(d.LooserInA) > 0 || len(d.ArchesOnlyA) > 0
	switch {
	case bl && al:
		d.Relation = Incomparable
	case bl:
		d.Relation = AStricter
	case al:
		d.Relation = BStricter
	case len(d.Changed) > 0:
		d.Relation = Different
	default:
		d.Relation = Same
	}
	return d, nil
}

func arches(p *profile.Profile, native specs.Arch) []specs.Arch {
	if p.AnyArch {
		return profile.ArchFamily(native)
	}
	return p.Arches
}

func lookup(p *profile.Profile, name string) *profile.Syscall {
	if sc, ok := p.Syscalls[name]; ok {
		return sc
	}
	return &profile.Syscall{Fallback: p.Default}
}

// compareSyscall evaluates both sides at every argument vector where a rule
// may change its answer.
func compareSyscall(pa, pb *profile.Profile, name string, sa, sb *profile.Syscall, arches []specs.Arch) (looserB, looserA, changed bool) {
	for _, args := range witnesses(sa, sb) {
		for _, arch := range arches {
			va, vb := pa.Eval(arch, name, args), pb.Eval(arch, name, args)
			switch {
			case vb.Level < va.Level:
				looserB = true
			case va.Level < vb.Level:
				looserA = true
			case va != vb:
				changed = true
			}
		}
	}
	return looserB, looserA, changed
}

// witnesses returns argument vectors covering every region the rules of
// either side distinguish: for each compared argument, the boundary values
// of each comparison and, for masks, each bit of the mask flipped.
func witnesses(sides ...*profile.Syscall) [][6]uint64 {
	vals := map[uint][]uint64{}
	for _, sc := range sides {
		for _, r := range sc.Rules {
			for _, c := range r.Conds {
				v := []uint64{c.Value, c.Value - 1, c.Value + 1, c.ValueTwo, 0, ^uint64(0)}
				if c.Op == specs.OpMaskedEqual {
					for bit := uint64(1); bit != 0; bit <<= 1 {
						if c.Value&bit != 0 {
							v = append(v, c.ValueTwo^bit)
						}
					}
				}
				vals[c.Index] = append(vals[c.Index], v...)
			}
		}
	}
	out := [][6]uint64{{}}
	for idx, vs := range vals {
		slices.Sort(vs)
		vs = slices.Compact(vs)
		if len(out)*len(vs) > 1<<16 {
			break // rules on many arguments at once: sample the first ones
		}
		var next [][6]uint64
		for _, base := range out {
			for _, v := range vs {
				w := base
				w[idx] = v
				next = append(next, w)
			}
		}
		out = next
	}
	return out
}

// Format writes the comparison as text.
func (d *DiffResult) Format(nameA, nameB string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "A: %s\nB: %s\n", nameA, nameB)
	switch d.Relation {
	case Same:
		b.WriteString("result: same behaviour for every call\n")
	case BStricter:
		b.WriteString("result: B is stricter than A (B refuses more, allows nothing A refuses)\n")
	case AStricter:
		b.WriteString("result: B is LOOSER than A (B lets through calls A refuses)\n")
	case Incomparable:
		b.WriteString("result: neither is stricter; B is LOOSER than A for some calls\n")
	case Different:
		b.WriteString("result: equally strict, different verdicts (e.g. errno values)\n")
	}
	section := func(title string, es []DiffEntry) {
		if len(es) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s: %s\n", title, plural(len(es), "syscall"))
		// Syscalls with the same behaviour on both sides are listed together.
		type pair struct{ a, b string }
		var order []pair
		names := map[pair][]string{}
		for _, e := range es {
			k := pair{e.A, e.B}
			if _, ok := names[k]; !ok {
				order = append(order, k)
			}
			name := e.Name
			if name == "*" {
				name = "(every syscall neither names)"
			}
			names[k] = append(names[k], name)
		}
		for _, k := range order {
			fmt.Fprintf(&b, "  A: %s\n  B: %s\n", k.a, k.b)
			wrap(&b, names[k], "    ", 100)
		}
	}
	archs := func(title string, as []specs.Arch) {
		if len(as) > 0 {
			parts := make([]string, len(as))
			for i, a := range as {
				parts[i] = archShort(a)
			}
			fmt.Fprintf(&b, "\n%s: %s\n", title, parts)
		}
	}
	archs("architectures only A accepts (B kills every call on them)", d.ArchesOnlyA)
	archs("architectures only B accepts (A kills every call on them)", d.ArchesOnlyB)
	section("A allows (or treats more loosely), B refuses", d.LooserInA)
	section("B allows (or treats more loosely), A refuses", d.LooserInB)
	section("same strictness, different verdict", d.Changed)
	if !slices.Equal(d.FlagsA, d.FlagsB) {
		fmt.Fprintf(&b, "\nflags: A %v, B %v\n", d.FlagsA, d.FlagsB)
	}
	return b.Bytes()
}
