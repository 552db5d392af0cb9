//go:build cgo && linux

package profile_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
)

// These tests hold the profile algebra to what the kernel would do: every profile
// is compiled to BPF by libseccomp exactly as runc loads it, and run on synthetic
// calls. The model is only trusted where it agrees with that oracle.

var (
	genNames  = []string{"read", "write", "getpid", "personality", "mkdir", "keyctl", "chmod", "uname"}
	genArches = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	genValues = []uint64{0, 1, 2, 3, 8, 0xff}
	argValues = []uint64{0, 1, 2, 3, 4, 7, 8, 9, 0xff, 0x100}
	genOps    = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan,
		specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
)

func genVerdict(r chooser) (specs.LinuxSeccompAction, *uint) {
	switch r.IntN(8) {
	case 0, 1:
		return specs.ActAllow, nil
	case 2:
		return specs.ActLog, nil
	case 3:
		return specs.ActErrno, nil
	case 4:
		e := uint(unix.ENOSYS)
		return specs.ActErrno, &e
	case 5:
		return specs.ActKillProcess, nil
	case 6:
		return specs.ActTrap, nil
	default:
		return specs.ActKillThread, nil
	}
}

// genProfile draws a random OCI section over a small universe, so that random
// calls hit its rules often. simple limits rules to at most one comparison per
// argument and no overlap tricks, the shape real profiles have.
func genProfile(t *testing.T, r *rand.Rand) *specs.LinuxSeccomp {
	var err error
	for range 1000 {
		// runc cannot load some combinations at all (libseccomp refuses
		// conflicting rules with EEXIST): such a container never starts, so
		// there is nothing to tighten.
		s := genProfile1(r)
		if err = compilesWithin(t, s, 10*time.Second); err == nil {
			return s
		}
	}
	panic(fmt.Sprintf("1000 generated profiles in a row do not compile; last error: %v", err))
}

// compilesWithin compiles a generated input with libseccomp, giving up after d:
// libseccomp 2.5.4 was seen looping forever inside seccomp_rule_add_array on
// a generated profile (runc would hang on it the same way). Such a profile is
// treated like the ones libseccomp refuses, and logged; the stuck C call
// cannot be interrupted and keeps a thread busy until the test binary exits.
func compilesWithin(t *testing.T, s *specs.LinuxSeccomp, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		_, err := seccompbpf.Compile(s)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Logf("libseccomp did not finish compiling this profile within %s (left running): %s", d, dump(s))
		return fmt.Errorf("libseccomp hung")
	}
}

func genProfile1(r *rand.Rand) *specs.LinuxSeccomp {
	s := &specs.LinuxSeccomp{}
	s.DefaultAction, s.DefaultErrnoRet = genVerdict(r)
	for _, a := range genArches {
		if r.IntN(3) > 0 {
			s.Architectures = append(s.Architectures, a)
		}
	}
	for range r.IntN(7) {
		sc := specs.LinuxSyscall{}
		sc.Action, sc.ErrnoRet = genVerdict(r)
		for range 1 + r.IntN(2) {
			sc.Names = append(sc.Names, genNames[r.IntN(len(genNames))])
		}
		for range r.IntN(3) {
			a := specs.LinuxSeccompArg{Index: uint(r.IntN(2)), Op: genOps[r.IntN(len(genOps))], Value: genValues[r.IntN(len(genValues))]}
			if a.Op == specs.OpMaskedEqual {
				a.ValueTwo = genValues[r.IntN(len(genValues))] & a.Value
			}
			sc.Args = append(sc.Args, a)
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

func verdictOfRet(ret uint32) profile.Verdict {
	data := uint(ret & seccompbpf.RetData)
	switch ret & seccompbpf.RetActionFull {
	case seccompbpf.RetKillProcess:
		return profile.Verdict{Level: profile.LevelKillProcess}
	case seccompbpf.RetKillThread:
		return profile.Verdict{Level: profile.LevelKillThread}
	case seccompbpf.RetTrap:
		return profile.Verdict{Level: profile.LevelTrap}
	case seccompbpf.RetErrno:
		return profile.Verdict{Level: profile.LevelErrno, Ret: data}
	case seccompbpf.RetTrace:
		return profile.Verdict{Level: profile.LevelTrace, Ret: data}
	case seccompbpf.RetUserNotif:
		return profile.Verdict{Level: profile.LevelNotify}
	case seccompbpf.RetLog:
		return profile.Verdict{Level: profile.LevelLog}
	case seccompbpf.RetAllow:
		return profile.Verdict{Level: profile.LevelAllow}
	}
	panic(fmt.Sprintf("unknown seccomp return %#x", ret))
}

// truth is what an input profile does to a call: libseccomp's verdict where the
// model reads the profile exactly. Where it does not (rules libseccomp compiles
// unpredictably, flagged in Inexact), the only promise is relative to the profile
// as written, which the model encodes.
func truth(t *testing.T, o oracle, m *profile.Profile, c call) profile.Verdict {
	if len(m.Inexact) == 0 {
		return o.eval(t, c)
	}
	return m.Eval(c.arch, c.name, c.args)
}

type call struct {
	arch specs.Arch
	name string
	args [6]uint64
}

func (c call) String() string {
	return fmt.Sprintf("%s on %s args %#x,%#x", c.name, c.arch, c.args[0], c.args[1])
}

// calls enumerates every call of the universe: 3 arches x 8 names x 100 argument pairs.
func calls() []call {
	var out []call
	for _, a := range genArches {
		for _, n := range genNames {
			for _, x := range argValues {
				for _, y := range argValues {
					out = append(out, call{a, n, [6]uint64{x, y}})
				}
			}
		}
	}
	return out
}

// oracle is a compiled profile evaluated per call.
type oracle struct{ p *seccompbpf.Program }

func compile(t *testing.T, s *specs.LinuxSeccomp) oracle {
	t.Helper()
	p, err := seccompbpf.Compile(s)
	if err != nil {
		t.Fatalf("libseccomp cannot compile %s: %v", dump(s), err)
	}
	return oracle{p}
}

func (o oracle) eval(t *testing.T, c call) profile.Verdict {
	t.Helper()
	nr, ok := seccompbpf.Number(c.arch, c.name)
	if !ok {
		t.Fatalf("libseccomp does not know %s on %s", c.name, c.arch)
	}
	ret, err := o.p.Run(c.arch, nr, c.args)
	if err != nil {
		t.Fatalf("bpf vm: %v", err)
	}
	return verdictOfRet(ret)
}

func dump(s *specs.LinuxSeccomp) string {
	b, _ := jsonMarshal(s)
	return string(b)
}

func model(t *testing.T, s *specs.LinuxSeccomp) *profile.Profile {
	t.Helper()
	p, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatalf("FromSpec(%s): %v", dump(s), err)
	}
	return p
}

func toSpec(t *testing.T, p *profile.Profile) (*specs.LinuxSeccomp, []string) {
	t.Helper()
	s, notes := p.ToSpec(specs.ArchX86_64)
	if err := profile.Validate(s); err != nil {
		t.Fatalf("ToSpec wrote an invalid profile: %v\n%s", err, dump(s))
	}
	return s, notes
}

const iterations = 300

func seed(t *testing.T) *rand.Rand {
	s := uint64(rand.Int64())
	t.Logf("seed %d (reproduce with the same seed in rand.NewPCG)", s)
	return rand.New(rand.NewPCG(s, 7))
}

// The model's interpreter agrees with libseccomp on every profile it reads exactly,
// and is never looser where it had to guess.
func TestModelMatchesLibseccomp(t *testing.T) {
	r := seed(t)
	all := calls()
	exact := 0
	for range iterations {
		s := genProfile(t, r)
		m := model(t, s)
		o := compile(t, s)
		for _, c := range all {
			want := o.eval(t, c)
			got := m.Eval(c.arch, c.name, c.args)
			if len(m.Inexact) == 0 && got != want {
				t.Fatalf("%s: model says %s, libseccomp %s\nprofile %s", c, got, want, dump(s))
			}
		}
		if len(m.Inexact) == 0 {
			exact++
		}
	}
	t.Logf("%d of %d profiles read exactly", exact, iterations)
	if exact < iterations/3 {
		t.Fatalf("only %d of %d generated profiles were read exactly: the generator or the model regressed", exact, iterations)
	}
}

// Writing a model back out gives a section libseccomp evaluates to the same
// verdicts (or stricter ones, where ToSpec says so).
func TestToSpecRoundTrip(t *testing.T) {
	r := seed(t)
	all := calls()
	for range iterations {
		s := genProfile(t, r)
		m := model(t, s)
		out, notes := toSpec(t, m)
		o := compile(t, out)
		for _, c := range all {
			want := m.Eval(c.arch, c.name, c.args)
			got := o.eval(t, c)
			if got.Level < want.Level || (len(notes) == 0 && got != want) {
				t.Fatalf("%s: written profile gives %s, model %s (notes %v)\nin  %s\nout %s", c, got, want, notes, dump(s), dump(out))
			}
		}
	}
}

// The core promise: the intersection is never looser than either input, for every
// call tried; exact where no note says otherwise; commutative and idempotent in
// effect.
func TestIntersectNeverLooser(t *testing.T) {
	r := seed(t)
	all := calls()
	approx := 0
	for range iterations {
		a, b := genProfile(t, r), genProfile(t, r)
		ma, mb := model(t, a), model(t, b)
		i, notes, err := profile.Intersect(ma, mb)
		if err != nil {
			t.Fatalf("Intersect: %v", err)
		}
		out, wnotes := toSpec(t, i)
		j, notesBA, _ := profile.Intersect(mb, ma)
		outBA, wnotesBA := toSpec(t, j)
		oa, ob, oi, oba := compile(t, a), compile(t, b), compile(t, out), compile(t, outBA)
		exact := len(notes)+len(wnotes)+len(ma.Inexact)+len(mb.Inexact) == 0
		if !exact {
			approx++
		}
		for _, c := range all {
			va, vb, vi := truth(t, oa, ma, c), truth(t, ob, mb, c), oi.eval(t, c)
			if !i.AnyArch && !slices.Contains(i.Arches, c.arch) {
				// A wrong architecture is killed by libseccomp's bad-arch
				// action (kill-thread); runc offers no way to choose it.
				if !vi.Level.Denies() {
					t.Fatalf("%s: architecture left out but allowed: %s", c, vi)
				}
				continue
			}
			if vi.Level < va.Level || vi.Level < vb.Level {
				t.Fatalf("%s: intersection gives %s, looser than %s / %s\na %s\nb %s\nout %s", c, vi, va, vb, dump(a), dump(b), dump(out))
			}
			if exact && vi.Level != profile.Stricter(va, vb).Level {
				t.Fatalf("%s: exact intersection gives %s, want %s\na %s\nb %s\nout %s", c, vi, profile.Stricter(va, vb), dump(a), dump(b), dump(out))
			}
			if exact && len(notesBA)+len(wnotesBA) == 0 && oba.eval(t, c).Level != vi.Level {
				t.Fatalf("%s: intersection is not commutative: %s vs %s", c, vi, oba.eval(t, c))
			}
		}
	}
	t.Logf("%d of %d intersections approximate", approx, iterations)
}

func TestIntersectIdempotent(t *testing.T) {
	r := seed(t)
	all := calls()
	for range iterations {
		a := genProfile(t, r)
		ma := model(t, a)
		i, inotes, err := profile.Intersect(ma, ma)
		if err != nil {
			t.Fatal(err)
		}
		if len(ma.Inexact) == 0 && len(inotes) > 0 {
			t.Fatalf("A ∩ A of an exact profile is approximate: %v\na %s", inotes, dump(a))
		}
		if len(ma.Inexact) == 0 && !profile.Equal(i, ma) {
			out, _ := toSpec(t, i)
			t.Fatalf("A ∩ A differs from A\na   %s\nout %s", dump(a), dump(out))
		}
		out, _ := toSpec(t, i)
		oa, oi := compile(t, a), compile(t, out)
		for _, c := range all {
			if va, vi := truth(t, oa, ma, c), oi.eval(t, c); vi.Level < va.Level || (len(ma.Inexact) == 0 && vi != va) {
				t.Fatalf("%s: A ∩ A gives %s, A %s", c, vi, va)
			}
		}
	}
}

// Audit mode: the container keeps what it had, except that calls the rule would
// refuse and the container was allowed to make are logged. It never refuses what
// the input allowed, and never allows what the input refused.
func TestAuditNeverDeniesWhatInputAllowed(t *testing.T) {
	r := seed(t)
	all := calls()
	for range iterations {
		a, b := genProfile(t, r), genProfile(t, r)
		ma, mb := model(t, a), model(t, b)
		with, _, err := profile.Intersect(ma, mb)
		if err != nil {
			t.Fatal(err)
		}
		res, notes := profile.Audit(ma, with)
		out, wnotes := toSpec(t, res)
		withSpec, _ := toSpec(t, with)
		oa, ow, or := compile(t, a), compile(t, withSpec), compile(t, out)
		exact := len(notes)+len(wnotes)+len(ma.Inexact)+len(mb.Inexact) == 0
		for _, c := range all {
			va, vw, vr := truth(t, oa, ma, c), ow.eval(t, c), or.eval(t, c)
			if !with.AnyArch && !slices.Contains(with.Arches, c.arch) {
				continue // a wrong architecture cannot be logged; Audit notes it
			}
			if exact && vr.Level.Denies() != va.Level.Denies() && c.arch == specs.ArchX86_64 {
				t.Fatalf("%s: audit result %s, input %s: refusal changed\na %s\nb %s\nout %s", c, vr, va, dump(a), dump(b), dump(out))
			}
			if exact && va.Level == profile.LevelAllow && vw.Level.Denies() && vr.Level != profile.LevelLog {
				t.Fatalf("%s: rule would refuse, input allows; want SCMP_ACT_LOG, got %s", c, vr)
			}
			// Unlogged only where a note says so (a result that cannot be
			// written is left as it was rather than refusing calls).
			if len(notes) == 0 && va.Level == profile.LevelAllow && vw.Level.Denies() && vr.Level == profile.LevelAllow {
				t.Fatalf("%s: a call the rule would refuse is neither refused nor logged\na %s\nb %s\nout %s", c, dump(a), dump(b), dump(out))
			}
			if len(wnotes) == 0 && !va.Level.Denies() && vr.Level.Denies() && c.arch == specs.ArchX86_64 {
				t.Fatalf("%s: audit refuses (%s) what the input allows (%s)\na %s\nb %s\nout %s", c, vr, va, dump(a), dump(b), dump(out))
			}
			if exact && va.Level == profile.LevelAllow && !vw.Level.Denies() && vw.Level != profile.LevelLog && vr.Level != profile.LevelAllow {
				t.Fatalf("%s: exact audit logs %s although the rule allows it", c, vr)
			}
			if exact && va.Level != profile.LevelAllow && vr != va && c.arch == specs.ArchX86_64 {
				t.Fatalf("%s: audit changed a non-allow verdict %s to %s", c, va, vr)
			}
			if vr.Level < va.Level && c.arch == specs.ArchX86_64 {
				t.Fatalf("%s: audit changed a non-allow verdict %s to %s", c, va, vr)
			}
		}
	}
}
