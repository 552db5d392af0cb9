//go:build cgo && linux

package profile_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// The socketcall model held to libseccomp: on x86 it copies the socket
// calls' rules to socketcall(2) (see socketcall.go). Generated profiles over
// socket calls are compiled; the model must give every probed socketcall
// call number what the filter gives, and every section ToSpec writes from
// them must compile (no EEXIST) and be no looser than its inputs.

var (
	sockNames  = []string{"socket", "bind", "setsockopt", "recvmmsg", "accept", "socketcall"}
	sockValues = []uint64{0, 1, 2, 10, 16, 17, 40}
	sockArches = [][]specs.Arch{
		{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		{specs.ArchX86_64, specs.ArchX86},
		{specs.ArchX86_64},
	}
)

func genSocketProfile(r *rand.Rand) *specs.LinuxSeccomp {
	s := &specs.LinuxSeccomp{Architectures: slices.Clone(sockArches[r.IntN(len(sockArches))])}
	s.DefaultAction, s.DefaultErrnoRet = genVerdict(r)
	// A rule on a call outside the socket family: libseccomp 2.5.4 drops
	// the x86_64 and x32 rules of a filter whose only other rule is an
	// unconditional socketcall (measured; real profiles always have more).
	other := specs.LinuxSyscall{Names: []string{"uname"}, Action: specs.ActAllow}
	if s.DefaultAction == specs.ActAllow {
		other.Action = specs.ActLog
	}
	s.Syscalls = append(s.Syscalls, other)
	for range r.IntN(5) {
		sc := specs.LinuxSyscall{Names: []string{sockNames[r.IntN(len(sockNames))]}}
		sc.Action, sc.ErrnoRet = genVerdict(r)
		// Mostly arg0 comparisons, as real socket rules; sometimes arg1,
		// which libseccomp keeps on the copy.
		for range r.IntN(3) {
			a := specs.LinuxSeccompArg{Op: intervalOps[r.IntN(len(intervalOps))], Value: sockValues[r.IntN(len(sockValues))]}
			if r.IntN(4) == 0 {
				a.Index = 1
			}
			sc.Args = append(sc.Args, a)
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

// genCompilingSocketProfile draws profiles until libseccomp compiles one:
// runc starts no container with the others.
func genCompilingSocketProfile(t *testing.T, r *rand.Rand) *specs.LinuxSeccomp {
	for {
		if s := genSocketProfile(r); compilesWithin(t, s, 10*time.Second) == nil {
			return s
		}
	}
}

// socketCalls are the probes: every socketcall call number 0-21 on x86 with
// the values of the second register (a pointer, compared by copies of
// arg1 rules), and the socket calls themselves on x86_64 and x86.
func socketCalls() []call {
	var out []call
	for n := range uint64(22) {
		for _, y := range sockValues {
			out = append(out, call{specs.ArchX86, "socketcall", [6]uint64{n, y}})
		}
	}
	for _, arch := range []specs.Arch{specs.ArchX86_64, specs.ArchX86} {
		for _, name := range []string{"socket", "bind", "setsockopt", "recvmmsg"} {
			for _, x := range sockValues {
				for _, y := range []uint64{0, 17} {
					out = append(out, call{arch, name, [6]uint64{x, y}})
				}
			}
		}
	}
	return out
}

// x86Direct are the i386 numbers of the direct socket calls: libseccomp
// names them by its negative multiplexing numbers instead.
var x86Direct = map[string]int{"socket": 359, "bind": 361, "setsockopt": 366, "recvmmsg": 337}

// x32Numbers are the x32 numbers of the socket calls the tests probe.
var x32Numbers = map[string]int{"socket": 41 | 0x40000000}

// evalSock is oracle.eval knowing the direct socket calls on x86.
func evalSock(t *testing.T, o oracle, c call) profile.Verdict {
	t.Helper()
	nr, ok := x86Direct[c.name]
	if c.arch == specs.ArchX32 {
		nr, ok = x32Numbers[c.name]
	}
	if !ok || c.arch != specs.ArchX86 && c.arch != specs.ArchX32 {
		return o.eval(t, c)
	}
	ret, err := o.p.Run(c.arch, nr, c.args)
	if err != nil {
		t.Fatalf("bpf vm: %v", err)
	}
	return verdictOfRet(ret)
}

// truthSock is truth knowing the direct socket calls on x86.
func truthSock(t *testing.T, o oracle, m *profile.Profile, c call) profile.Verdict {
	if len(m.Inexact) == 0 {
		return evalSock(t, o, c)
	}
	return m.Eval(c.arch, c.name, c.args)
}

func TestSocketcallModelMatchesLibseccomp(t *testing.T) {
	r := seed(t)
	all := socketCalls()
	exact := 0
	for range 150 {
		s := genCompilingSocketProfile(t, r)
		m, o := model(t, s), compile(t, s)
		for _, c := range all {
			want, got := evalSock(t, o, c), m.Eval(c.arch, c.name, c.args)
			if len(m.Inexact) == 0 && got != want {
				t.Fatalf("%s: model says %s, libseccomp %s (inexact: %v)\nprofile %s", c, got, want, m.Inexact, dump(s))
			}
		}
		if len(m.Inexact) == 0 {
			exact++
		}
	}
	t.Logf("%d of 150 profiles read exactly", exact)
	if exact < 50 {
		t.Fatalf("only %d of 150 generated socket profiles read exactly", exact)
	}
}

// loosened reports whether the result may give got where the input gives
// want on socketcall because runc skips a rule with the default action, as
// ToSpec's note says: a log becomes allow, kill-process kill-thread.
func loosened(c call, notes []string, got, want profile.Verdict) bool {
	noted := func(s string) bool {
		return slices.ContainsFunc(notes, func(n string) bool { return strings.HasPrefix(n, "socketcall: on x86 ") && strings.Contains(n, s) })
	}
	return c.name == "socketcall" && (want.Level == profile.LevelLog && got.Level == profile.LevelAllow && noted("not logged") ||
		want.Level == profile.LevelKillProcess && got.Level == profile.LevelKillThread && noted("only the calling thread"))
}

// Every section written from intersections and audits of generated socket
// profiles compiles, and the intersection is never looser than its inputs.
func TestSocketcallWrittenCompiles(t *testing.T) {
	r := seed(t)
	all := socketCalls()
	overridden, tinies := 0, 0
	for range 150 {
		a, b := genCompilingSocketProfile(t, r), genCompilingSocketProfile(t, r)
		ma, mb := model(t, a), model(t, b)
		i, _, err := profile.Intersect(ma, mb)
		if errors.Is(err, profile.ErrIncompatible) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, notes := toSpec(t, i)
		if out.Syscalls != nil && slices.Equal(out.Syscalls[0].Names, []string{"socketcall"}) && len(out.Syscalls[0].Args) == 0 {
			overridden++
		}
		if err := compilesWithin(t, out, 10*time.Second); err != nil {
			t.Fatalf("written intersection does not compile: %v\na %s\nb %s\nout %s", err, dump(a), dump(b), dump(out))
		}
		oa, ob, oi := compile(t, a), compile(t, b), compile(t, out)
		tiny := !slices.ContainsFunc(out.Syscalls, func(sc specs.LinuxSyscall) bool { return slices.Contains(sc.Names, "uname") })
		if tiny {
			tinies++
		}
		for _, c := range all {
			if !slices.Contains(i.Arches, c.arch) || tiny {
				// libseccomp 2.5.4 drops rules (x86_64, x32 and x86
				// ones, and the copies of accept) of a filter with
				// socket calls only (see genSocketProfile): a bug of its
				// own, left to the report. Such a result compiles
				// (checked above); its verdicts are not checked.
				continue
			}
			va, vb, vi := truthSock(t, oa, ma, c), truthSock(t, ob, mb, c), evalSock(t, oi, c)
			if (vi.Level < va.Level || vi.Level < vb.Level) && !loosened(c, notes, vi, profile.Stricter(va, vb)) {
				t.Fatalf("%s: intersection gives %s, looser than %s / %s (notes %v)\na %s\nb %s\nout %s", c, vi, va, vb, notes, dump(a), dump(b), dump(out))
			}
		}
		audit, _ := profile.Audit(ma, i)
		aout, _ := toSpec(t, audit)
		if err := compilesWithin(t, aout, 10*time.Second); err != nil {
			t.Fatalf("written audit does not compile: %v\nwithout %s\nwith %s\nout %s", err, dump(a), dump(out), dump(aout))
		}
	}
	t.Logf("%d of 150 written intersections override socketcall; %d with socket calls only (verdicts not checked)", overridden, tinies)
}

// Two tightening profiles refusing different socket families, with no
// other rule: the written section needs socketcall unconditionally (the
// copies conflict), and libseccomp would then drop the x86_64 rules were x32
// listed; ToSpec leaves x32 out, so every x86_64 verdict stays exact.
func TestSocketcallOverrideKeepsX86_64Rules(t *testing.T) {
	a := refusing(t, "socket", specs.ActKillProcess, arg0(specs.OpEqualTo, 17))
	b := refusing(t, "socket", specs.ActErrno, arg0(specs.OpEqualTo, 40))
	got, _, err := profile.Intersect(a, b)
	if err != nil {
		t.Fatal(err)
	}
	out, notes := toSpec(t, got)
	if slices.Contains(out.Architectures, specs.ArchX32) || len(notes) != 2 {
		t.Errorf("architectures %v, notes %v: want x32 left out and said so", out.Architectures, notes)
	}
	o := compile(t, out)
	for _, c := range []struct {
		c    call
		want profile.Verdict
	}{
		{call{specs.ArchX86_64, "socket", [6]uint64{2}}, allow},
		{call{specs.ArchX86_64, "socket", [6]uint64{17}}, kill},
		{call{specs.ArchX86_64, "socket", [6]uint64{40}}, eperm},
		{call{specs.ArchX86, "socket", [6]uint64{40}}, eperm},
		{call{specs.ArchX86, "socketcall", [6]uint64{1, 0x1000}}, kill},
		{call{specs.ArchX86, "socketcall", [6]uint64{2, 0x1000}}, kill},
		{call{specs.ArchX32, "socket", [6]uint64{2}}, profile.Verdict{Level: profile.LevelKillThread}},
	} {
		if v := evalSock(t, o, c.c); v != c.want {
			t.Errorf("%s: %s, want %s", c.c, v, c.want)
		}
	}
}
