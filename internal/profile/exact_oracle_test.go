//go:build cgo && linux

package profile_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Property tests of the exact path (rules comparing one argument on both
// sides), held to libseccomp's BPF: over generated single-argument inputs,
// the intersection equals the true intersection on every probed call unless a
// note says where it is stricter, and then exactly there.

// chooser is where a generator takes its choices from: a seeded PRNG in the
// property tests, the fuzzer's bytes in FuzzIntersect.
type chooser interface{ IntN(n int) int }

// byteChooser draws choices from fuzz input; when the bytes run out every
// choice is 0.
type byteChooser struct{ data []byte }

func (b *byteChooser) IntN(n int) int {
	if len(b.data) == 0 {
		return 0
	}
	x := int(b.data[0])
	b.data = b.data[1:]
	return x % n
}

var (
	singleNames = []string{"personality", "uname", "getpid"}
	// Values near the ends of the 32-bit range as well as small ones; never
	// wide (libseccomp compares the low word on x86, see Cond.wide).
	singleValues = []uint64{0, 1, 2, 3, 8, 17, 40, 0x63, 0xff, 0x100, 0x20000, 0x7fffffff, 0xfffffffe, 0xffffffff}
	singleMasks  = []uint64{0x7e020000, 0xff, 0x3, 0x80000001}
	intervalOps  = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan,
		specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual}
)

// shape fixes what both profiles of a pair compare: one argument index, and
// either ordered comparisons or MASKED_EQ with one mask.
type shape struct {
	idx  uint
	mask uint64 // 0: ordered comparisons
}

func genShape(c chooser) shape {
	s := shape{idx: uint(c.IntN(2))}
	if c.IntN(3) == 0 {
		s.mask = singleMasks[c.IntN(len(singleMasks))]
	}
	return s
}

func genSingleArg1(c chooser, sh shape) *specs.LinuxSeccomp {
	s := &specs.LinuxSeccomp{Architectures: slices.Clone(genArches)}
	s.DefaultAction, s.DefaultErrnoRet = genVerdict(c)
	for range c.IntN(5) {
		sc := specs.LinuxSyscall{Names: []string{singleNames[c.IntN(len(singleNames))]}}
		sc.Action, sc.ErrnoRet = genVerdict(c)
		// Usually one comparison; sometimes two on the same argument,
		// which runc turns into two rules (an OR).
		for range 1 + c.IntN(4)/3 {
			a := specs.LinuxSeccompArg{Index: sh.idx}
			if sh.mask != 0 {
				a.Op, a.Value = specs.OpMaskedEqual, sh.mask
				a.ValueTwo = singleValues[c.IntN(len(singleValues))] & sh.mask
			} else {
				a.Op, a.Value = intervalOps[c.IntN(len(intervalOps))], singleValues[c.IntN(len(singleValues))]
			}
			sc.Args = append(sc.Args, a)
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

func genSingleArg(t *testing.T, c chooser, sh shape) (*specs.LinuxSeccomp, bool) {
	for range 50 {
		s := genSingleArg1(c, sh)
		if err := compilesWithin(t, s, 10*time.Second); err == nil {
			return s, true
		}
	}
	return nil, false
}

// probes lists argument values around every constant of the inputs: each
// constant, ±1, 0, the maximum, the 32-bit edges, and for masks the class
// values with other bits set.
func probes(profiles ...*specs.LinuxSeccomp) []uint64 {
	out := []uint64{0, 1, 0xffffffff, 1 << 32, 1<<32 + 1, ^uint64(0)}
	for _, p := range profiles {
		for _, sc := range p.Syscalls {
			for _, a := range sc.Args {
				for _, v := range []uint64{a.Value, a.ValueTwo} {
					out = append(out, v, v-1, v+1, v|1<<32, v^0x80)
				}
				if a.Op == specs.OpMaskedEqual {
					out = append(out, a.ValueTwo|^a.Value, a.ValueTwo|(^a.Value&0xffff), a.Value, a.Value&(a.Value-1))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// singleCalls probes every syscall of the universe on every architecture
// with each probe value as arg0, paired with another probe value as arg1
// (the inputs compare one of the two).
func singleCalls(profiles ...*specs.LinuxSeccomp) []call {
	var out []call
	ps := probes(profiles...)
	for _, arch := range genArches {
		for _, n := range singleNames {
			for k, x := range ps {
				for _, y := range []uint64{x, ps[(k*7+3)%len(ps)]} {
					out = append(out, call{arch: arch, name: n, args: [6]uint64{x, y}})
				}
			}
		}
	}
	return out
}

// covered reports whether a widening names call c with got and exact.
func covered(ws []profile.Widening, c call, got, exact profile.Verdict) bool {
	for _, w := range ws {
		if w.Syscall != c.name || w.Got.Level != got.Level || w.Exact.Level != exact.Level || w.Arg < 0 {
			continue
		}
		x := c.args[w.Arg]
		if c.arch == specs.ArchX86 || c.arch == specs.ArchX32 {
			x &= 0xffffffff // libseccomp compares the low word there
		}
		if w.Mask != 0 {
			x &= w.Mask
		}
		for _, r := range w.Values {
			if r.Lo <= x && x <= r.Hi {
				return true
			}
		}
	}
	return false
}

// checkPair intersects a and b and holds the result to the oracle: never
// looser; and, when single (both compare one argument the same way), equal to
// the true intersection on every probe except where a widening names the call
// with the verdicts it gets and would get.
// inputsExact says whether both inputs were read exactly; exact whether the
// result also has no notes.
func checkPair(t *testing.T, a, b *specs.LinuxSeccomp, single bool) (inputsExact, exact bool) {
	t.Helper()
	ma, mb := model(t, a), model(t, b)
	i, ws, err := profile.IntersectDetail(ma, mb)
	if err != nil {
		t.Fatalf("Intersect: %v", err)
	}
	out, wnotes := toSpec(t, i)
	if single && len(wnotes) > 0 && len(ma.Inexact)+len(mb.Inexact) == 0 {
		t.Fatalf("the intersection of single-argument profiles cannot be written: %v\na %s\nb %s", wnotes, dump(a), dump(b))
	}
	oa, ob, oi := compile(t, a), compile(t, b), compile(t, out)
	inputsExact = len(ma.Inexact)+len(mb.Inexact) == 0
	for _, c := range singleCalls(a, b) {
		va, vb, vi := truth(t, oa, ma, c), truth(t, ob, mb, c), oi.eval(t, c)
		want := profile.Stricter(va, vb)
		if vi.Level < want.Level {
			t.Fatalf("%s: intersection gives %s, looser than %s / %s\na %s\nb %s\nout %s", c, vi, va, vb, dump(a), dump(b), dump(out))
		}
		if single && inputsExact && vi != want && !covered(ws, c, vi, want) {
			t.Fatalf("%s: intersection gives %s, exactly %s, and no note says so (notes %v)\na %s\nb %s\nout %s", c, vi, want, ws, dump(a), dump(b), dump(out))
		}
	}
	return inputsExact, inputsExact && len(ws) == 0
}

func TestIntersectSingleArgExact(t *testing.T) {
	r := seed(t)
	exact, n := 0, 0
	for range 250 {
		sh := genShape(r)
		a, okA := genSingleArg(t, r, sh)
		b, okB := genSingleArg(t, r, sh)
		if !okA || !okB {
			continue
		}
		in, ex := checkPair(t, a, b, true)
		if in {
			n++
		}
		if ex {
			exact++
		}
	}
	// Inputs with overlapping rules are read more strictly (Inexact) and
	// only held to "never looser"; of the others, nearly all must come out
	// exact (the rest list too many values to write).
	t.Logf("%d of %d single-argument intersections of exactly read inputs exact without notes", exact, n)
	if exact < n*9/10 || n < 50 {
		t.Fatalf("only %d of %d single-argument intersections were exact: the exact path regressed", exact, n)
	}
}

// Audit over single-argument inputs: exact (auditVerdict per call) unless a
// note says otherwise, and never refusing what without allows.
func TestAuditSingleArgExact(t *testing.T) {
	r := seed(t)
	exact, n := 0, 0
	for range 200 {
		sh := genShape(r)
		a, okA := genSingleArg(t, r, sh)
		b, okB := genSingleArg(t, r, sh)
		if !okA || !okB {
			continue
		}
		ma, mb := model(t, a), model(t, b)
		if len(ma.Inexact)+len(mb.Inexact) == 0 {
			n++
		}
		with, _, err := profile.Intersect(ma, mb)
		if err != nil {
			t.Fatal(err)
		}
		res, notes := profile.Audit(ma, with)
		out, wnotes := toSpec(t, res)
		withSpec, _ := toSpec(t, with)
		oa, ow, or := compile(t, a), compile(t, withSpec), compile(t, out)
		ok := len(notes)+len(wnotes)+len(ma.Inexact) == 0
		if ok && len(mb.Inexact) == 0 {
			exact++
		}
		for _, c := range singleCalls(a, b) {
			va, vw, vr := truth(t, oa, ma, c), ow.eval(t, c), or.eval(t, c)
			if len(wnotes) == 0 && vr.Level.Denies() && !va.Level.Denies() {
				t.Fatalf("%s: audit refuses (%s) what the input allows (%s)\na %s\nb %s\nout %s", c, vr, va, dump(a), dump(b), dump(out))
			}
			if want := auditOf(va, vw); ok && vr != want {
				t.Fatalf("%s: audit gives %s, exactly %s (input %s, rule %s)\na %s\nb %s\nout %s", c, vr, want, va, vw, dump(a), dump(b), dump(out))
			}
		}
	}
	t.Logf("%d of %d single-argument audits of exactly read inputs exact", exact, n)
	if exact < n*9/10 || n < 50 {
		t.Fatalf("only %d of %d single-argument audits were exact", exact, n)
	}
}

func auditOf(without, with profile.Verdict) profile.Verdict {
	if without.Level == profile.LevelAllow && with.Level > profile.LevelAllow {
		return profile.Log
	}
	return without
}

// FuzzIntersect draws two profiles from the fuzzer's bytes, both comparing
// one argument the same way or (when the choice after them says so) the second
// of another shape. The intersection must never be looser than either input, and for
// single-argument inputs must be exact wherever no note says otherwise.
func FuzzIntersect(f *testing.F) {
	// Seeds besides testdata/fuzz/FuzzIntersect: a few reproducible
	// random inputs.
	for i := range 8 {
		r := rand.New(rand.NewPCG(uint64(i), 13))
		b := make([]byte, 64)
		for k := range b {
			b[k] = byte(r.IntN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &byteChooser{data: data}
		sh := genShape(c)
		a, b := genSingleArg1(c, sh), genSingleArg1(c, sh)
		single := c.IntN(2) == 0
		if !single {
			// Rules on different arguments or of mixed kinds: the
			// general case, where only "never looser" is promised.
			b = genSingleArg1(c, genShape(c))
		}
		for _, s := range []*specs.LinuxSeccomp{a, b} {
			if err := compilesWithin(t, s, 10*time.Second); err != nil {
				return // libseccomp refuses it: runc would not start such a container
			}
		}
		_, _ = checkPair(t, a, b, single)
	})
}
