package profile_test

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// Examples of socketcall on x86 (no cgo; TestSocketcallModelMatchesLibseccomp
// holds the same model to libseccomp): libseccomp copies the socket calls'
// rules to socketcall(n, ...) without their first-argument test.

var x86Family = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}

func socketcallOnX86(p *profile.Profile, n uint64) profile.Verdict {
	return p.Eval(specs.ArchX86, "socketcall", [6]uint64{n, 0x1000})
}

// A profile allowing socket(AF_INET) and nothing about socketcall lets
// socketcall(SYS_SOCKET) through for every family on x86 (the old minimal
// profile did); bind stays refused.
func TestSocketcallCopiesOfAllowRules(t *testing.T) {
	p := fromSpec(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: x86Family,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"uname"}, Action: specs.ActAllow},
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg0(specs.OpEqualTo, 2)}},
		},
	})
	for n, want := range map[uint64]profile.Verdict{0: eperm, 1: allow, 2: eperm, 20: eperm} {
		if got := socketcallOnX86(p, n); got != want {
			t.Errorf("socketcall(%d): %s, want %s", n, got, want)
		}
	}
	if got := p.Eval(specs.ArchX86, "socket", [6]uint64{17}); got != eperm {
		t.Errorf("direct socket(AF_PACKET) on x86: %s, want %s", got, eperm)
	}
	// Written back, the copies give the same: no socketcall rule, no note.
	spec, notes := p.ToSpec(specs.ArchX86_64)
	if len(notes) > 0 || slices.ContainsFunc(spec.Syscalls, func(sc specs.LinuxSyscall) bool { return slices.Contains(sc.Names, "socketcall") }) {
		t.Errorf("notes %v, syscalls %+v", notes, spec.Syscalls)
	}
}

// Without x86 in the profile nothing is copied.
func TestSocketcallNotCopiedWithoutX86(t *testing.T) {
	p := fromSpec(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"socket"}, Action: specs.ActAllow}},
	})
	if _, ok := p.Syscalls["socketcall"]; ok {
		t.Errorf("socketcall derived for a profile without x86: %+v", p.Syscalls["socketcall"])
	}
}

// An unconditional socketcall rule overrides the copies (hardened).
func TestSocketcallUnconditionalOverridesCopies(t *testing.T) {
	data, _ := policies.Profile("hardened")
	s, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p := fromSpec(t, s)
	enosysV := profile.Verdict{Level: profile.LevelErrno, Ret: 38}
	for n := range uint64(22) {
		if got := socketcallOnX86(p, n); got != enosysV {
			t.Errorf("socketcall(%d): %s, want %s", n, got, enosysV)
		}
	}
}

// Two refusals of socket with different errnos, as two tightening profiles
// give: the copies land on socketcall(1) with different actions, which
// libseccomp refuses (EEXIST, no container starts). ToSpec writes socketcall
// unconditionally instead, first, with the stricter verdict and a note; the
// x86_64 socket rules stay exact.
func TestSocketcallConflictWrittenUnconditionally(t *testing.T) {
	noPacket := refusing(t, "socket", specs.ActErrno, arg0(specs.OpEqualTo, 17))
	noVsock := fromSpec(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: x86Family,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: ptr(uint(38)),
			Args: []specs.LinuxSeccompArg{arg0(specs.OpEqualTo, 40)}}},
	})
	got, notes, err := profile.Intersect(noPacket, noVsock)
	if err != nil || len(notes) > 0 {
		t.Fatalf("Intersect: %v, notes %v", err, notes)
	}
	checkVerdicts(t, got, "socket", want{0: allow, 2: allow, 17: eperm, 40: enosys, 41: allow})
	// socketcall(1) gets EPERM or ENOSYS in the model; ENOSYS is the
	// stricter (same level, higher errno).
	checkSocketcall(t, got, enosys)
}

// A deny list's entries on socket calls are copied too: the written
// section refuses socketcall(SYS_SOCKET) on x86 like runc would load it.
func TestSocketcallDenyList(t *testing.T) {
	p := profile.DenyList([]profile.Deny{{Name: "socket", Verdict: kill}})
	if got := socketcallOnX86(p, 1); got != kill {
		t.Errorf("socketcall(1): %s, want %s", got, kill)
	}
	if got := socketcallOnX86(p, 2); got != allow {
		t.Errorf("socketcall(2): %s, want %s", got, allow)
	}
	if _, notes := p.ToSpec(specs.ArchX86_64); len(notes) > 0 {
		t.Errorf("notes: %v", notes)
	}
}

func ptr[T any](v T) *T { return &v }
