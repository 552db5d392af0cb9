package profile_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// Examples of exact intersections and audit transforms, runnable without cgo:
// the expected verdicts are written out by hand from the inputs.

func runtimeDefaultModel(t *testing.T) *profile.Profile {
	t.Helper()
	data, ok := policies.Profile("runtime-default")
	if !ok {
		t.Fatal("no built-in runtime-default")
	}
	s, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return fromSpec(t, s)
}

func fromSpec(t *testing.T, s *specs.LinuxSeccomp) *profile.Profile {
	t.Helper()
	p, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatalf("FromSpec: %v", err)
	}
	if len(p.Inexact) > 0 {
		t.Fatalf("input read inexactly: %v", p.Inexact)
	}
	return p
}

// refusing is an allow-all profile with one conditional refusal.
func refusing(t *testing.T, name string, action specs.LinuxSeccompAction, args ...specs.LinuxSeccompArg) *profile.Profile {
	t.Helper()
	return fromSpec(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{name}, Action: action, Args: args}},
	})
}

// isSocketcallNote reports whether note is one of ToSpec's notes on writing
// socketcall unconditionally (and leaving x32 out where libseccomp would
// drop rules otherwise); checkSocketcall checks what it wrote.
func isSocketcallNote(note string) bool {
	return strings.HasPrefix(note, "socketcall: on x86 ") || strings.HasPrefix(note, "architectures: x32 is left out")
}

// checkSocketcall checks that p is written with socketcall giving v for
// every call number on x86, as the first rule (libseccomp refuses the
// socket calls' conflicting copies unless it comes first), with a note.
func checkSocketcall(t *testing.T, p *profile.Profile, v profile.Verdict) {
	t.Helper()
	spec, notes := p.ToSpec(specs.ArchX86_64)
	if !slices.ContainsFunc(notes, isSocketcallNote) {
		t.Errorf("no socketcall note in %v", notes)
	}
	first := spec.Syscalls[0]
	if got, _ := profile.VerdictOf(first.Action, first.ErrnoRet); !slices.Equal(first.Names, []string{"socketcall"}) || len(first.Args) > 0 || got != v {
		t.Errorf("first rule %+v, want socketcall unconditionally %s", first, v)
	}
	back := fromSpec(t, spec)
	for n := range uint64(22) {
		if got := back.Eval(specs.ArchX86, "socketcall", [6]uint64{n, 17}); got != v {
			t.Errorf("socketcall(%d) on x86: %s, want %s", n, got, v)
		}
	}
}

func arg0(op specs.LinuxSeccompOperator, v uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: 0, Op: op, Value: v}
}

var (
	kill   = profile.Verdict{Level: profile.LevelKillProcess}
	allow  = profile.Allow
	eperm  = profile.EPERM
	logged = profile.Log
	enosys = profile.Verdict{Level: profile.LevelErrno, Ret: uint(unix.ENOSYS)}
)

// want maps an argument-0 value to the verdict expected for it; every value
// is checked on every architecture of the result (32-bit x86 included), and
// again after writing the result out and reading it back.
type want map[uint64]profile.Verdict

func checkVerdicts(t *testing.T, p *profile.Profile, name string, w want) {
	t.Helper()
	spec, notes := p.ToSpec(specs.ArchX86_64)
	if notes = slices.DeleteFunc(notes, isSocketcallNote); len(notes) > 0 {
		t.Errorf("ToSpec notes: %v", notes)
	}
	back := fromSpec(t, spec)
	for _, arch := range []specs.Arch{specs.ArchX86_64, specs.ArchX86} {
		for _, x := range slices.Sorted(func(yield func(uint64) bool) {
			for k := range w {
				if !yield(k) {
					return
				}
			}
		}) {
			args := [6]uint64{x}
			expect, ok := w[x]
			if arch == specs.ArchX86 {
				// libseccomp compares the low 32 bits on x86.
				if !p.AnyArch && !slices.Contains(p.Arches, arch) {
					continue
				}
				if expect, ok = w[x&0xffffffff]; !ok {
					continue
				}
			}
			if got := p.Eval(arch, name, args); got != expect {
				t.Errorf("%s on %s, arg0=%#x: model gives %s, want %s", name, arch, x, got, expect)
			}
			if got := back.Eval(arch, name, args); got != expect {
				t.Errorf("%s on %s, arg0=%#x: written profile gives %s, want %s", name, arch, x, got, expect)
			}
		}
	}
}

// A RuntimeDefault container tightened with a profile that refuses only
// socket(AF_PACKET): every other socket call keeps RuntimeDefault's verdict.
// (Before, every socket() call failed: an outage.)
func TestIntersectRuntimeDefaultSocket(t *testing.T) {
	rd := runtimeDefaultModel(t)
	for _, v := range []profile.Verdict{eperm, kill} {
		t.Run(v.String(), func(t *testing.T) {
			rule := refusing(t, "socket", v.Action(), arg0(specs.OpEqualTo, 17))
			for _, order := range [][2]*profile.Profile{{rd, rule}, {rule, rd}} {
				got, notes, err := profile.Intersect(order[0], order[1])
				if err != nil {
					t.Fatal(err)
				}
				if len(notes) > 0 {
					t.Errorf("notes: %v", notes)
				}
				checkVerdicts(t, got, "socket", want{
					0: allow, 1: allow, 2: allow, 16: allow, 17: v, 18: allow, 37: allow,
					38: eperm, 39: allow, 40: eperm, 41: allow, 45: allow, 46: eperm,
					0xffffffff: eperm, 1 << 32: eperm, 1<<32 + 2: eperm, ^uint64(0): eperm,
				})
				// On x86 the rule alone refuses socketcall(SYS_SOCKET) for
				// every family (libseccomp's copy of it), and RuntimeDefault's
				// socket rules copy to conflicting ones: only an unconditional
				// socketcall, at least as strict, can be written.
				sv := v
				if v == eperm {
					sv = enosys // EPERM is the default: runc would skip the rule
				}
				checkSocketcall(t, got, sv)
				// Everything else is RuntimeDefault's.
				for _, name := range []string{"personality", "clone", "read", "mount"} {
					for _, x := range []uint64{0, 8, 0x20000, 0x20000000, 0x7e020000} {
						args := [6]uint64{x}
						if g, w := got.Eval(specs.ArchX86_64, name, args), rd.Eval(specs.ArchX86_64, name, args); g != w {
							t.Errorf("%s(%#x): %s, RuntimeDefault gives %s", name, x, g, w)
						}
					}
				}
			}
		})
	}
}

func TestIntersectRuntimeDefaultPersonality(t *testing.T) {
	rd := runtimeDefaultModel(t)
	rule := refusing(t, "personality", specs.ActErrno, arg0(specs.OpEqualTo, 8))
	got, notes, err := profile.Intersect(rd, rule)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Errorf("notes: %v", notes)
	}
	checkVerdicts(t, got, "personality", want{
		0: allow, 1: eperm, 8: eperm, 0x20000: allow, 0x20008: allow, 0x20009: eperm,
		0xffffffff: allow, 1 << 32: eperm, 1<<32 + 8: eperm, ^uint64(0): eperm,
	})
}

// clone: RuntimeDefault allows it when no namespace flag is set
// (arg0 & 0x7e020000 == 0). A rule refusing CLONE_NEWUSER alone (same mask)
// leaves RuntimeDefault's clone as it is; RuntimeDefault ∩ RuntimeDefault is
// RuntimeDefault.
func TestIntersectRuntimeDefaultClone(t *testing.T) {
	rd := runtimeDefaultModel(t)
	rule := refusing(t, "clone", specs.ActErrno, specs.LinuxSeccompArg{Index: 0, Op: specs.OpMaskedEqual, Value: 0x7e020000, ValueTwo: 0x10000000})
	got, notes, err := profile.Intersect(rd, rule)
	if err != nil || len(notes) > 0 {
		t.Fatalf("Intersect: %v, notes %v", err, notes)
	}
	checkVerdicts(t, got, "clone", want{0: allow, 0x11: allow, 0x10000000: eperm, 0x20000: eperm, 0x7e020000: eperm, 0x80000000: allow})
	same, notes, err := profile.Intersect(rd, rd)
	if err != nil || len(notes) > 0 || !profile.Equal(same, rd) {
		t.Fatalf("RuntimeDefault ∩ RuntimeDefault differs from RuntimeDefault (err %v, notes %v)", err, notes)
	}
}

// Audit mode over RuntimeDefault: only what the rule adds is logged; clone,
// personality and other socket calls are neither logged nor refused.
func TestAuditRuntimeDefault(t *testing.T) {
	rd := runtimeDefaultModel(t)
	rule := refusing(t, "socket", specs.ActErrno, arg0(specs.OpEqualTo, 17))
	with, _, err := profile.Intersect(rd, rule)
	if err != nil {
		t.Fatal(err)
	}
	got, notes := profile.Audit(rd, with)
	if len(notes) > 0 {
		t.Errorf("notes: %v", notes)
	}
	checkVerdicts(t, got, "socket", want{0: allow, 16: allow, 17: logged, 18: allow, 38: eperm, 39: allow, 40: eperm, 46: eperm, 1 << 32: eperm})
	// Audit refuses nothing: socketcall, which cannot be written per call
	// number on x86, is logged whole.
	checkSocketcall(t, got, logged)
	checkVerdicts(t, got, "personality", want{0: allow, 8: allow, 1: eperm, 0xffffffff: allow})
	checkVerdicts(t, got, "clone", want{0: allow, 0x10000000: eperm})
	// A rule that changes nothing: the audit result is the input itself.
	same, notes := profile.Audit(rd, rd)
	if len(notes) > 0 || !profile.Equal(same, rd) {
		t.Fatalf("Audit(RuntimeDefault, RuntimeDefault) differs from RuntimeDefault (notes %v)", notes)
	}
}

// Where the exact result would need more than 64 values listed one by one,
// those values get the stricter verdict and the note names them.
func TestIntersectTooWideToList(t *testing.T) {
	lowOnly := fromSpec(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg0(specs.OpLessThan, 100)}}}})
	for _, c := range []struct {
		above uint64
		w     want
		notes []string
	}{
		// 11..99: 89 values, too many to list.
		{10, want{0: eperm, 10: eperm, 11: eperm, 99: eperm, 100: eperm},
			[]string{"personality: calls with arg0 in {0xb-0x63} get SCMP_ACT_ERRNO(EPERM); the exact result is SCMP_ACT_ALLOW (refused, though the exact result lets them run)"}},
		// 51..99: 49 values, listed.
		{50, want{0: eperm, 50: eperm, 51: allow, 75: allow, 99: allow, 100: eperm}, nil},
	} {
		t.Run(fmt.Sprint(c.above), func(t *testing.T) {
			high := fromSpec(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg0(specs.OpGreaterThan, c.above)}}}})
			got, notes, err := profile.Intersect(lowOnly, high)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(notes, c.notes) {
				t.Errorf("notes:\n got %q\nwant %q", notes, c.notes)
			}
			checkVerdicts(t, got, "personality", c.w)
		})
	}
}

// Rules on different arguments cannot be combined in the shape libseccomp
// compiles reliably: the result is stricter, and the notes say which calls.
func TestIntersectDifferentArgumentsNotes(t *testing.T) {
	a := fromSpec(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg0(specs.OpNotEqual, 40)}}}})
	b := refusing(t, "personality", specs.ActErrno, specs.LinuxSeccompArg{Index: 1, Op: specs.OpEqualTo, Value: 17})
	got, notes, err := profile.Intersect(a, b)
	if err != nil {
		t.Fatal(err)
	}
	wantNotes := []string{"personality: the two sides' rules compare different arguments or cannot be combined value by value; calls matching one side's rule arg0!=0x28 and no rule of the other get SCMP_ACT_ERRNO(EPERM); the exact result is SCMP_ACT_ALLOW (refused, though neither side refuses them)"}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes:\n got %q\nwant %q", notes, wantNotes)
	}
	if v := got.Eval(specs.ArchX86_64, "personality", [6]uint64{1, 2}); v.Level < eperm.Level {
		t.Errorf("personality(1, 2): %s, want a refusal (stricter than exact, as noted)", v)
	}
	if !strings.Contains(notes[0], "arg0!=0x28") {
		t.Errorf("note does not name the condition: %s", notes[0])
	}
}
