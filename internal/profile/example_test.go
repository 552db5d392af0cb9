package profile_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Examples of the profile algebra, small enough to check by hand, that run
// without cgo (CGO_ENABLED=0 go test ./internal/profile/). Each expected section
// was worked out from the rules stated beside it, not copied from the code's
// output; the oracle tests (cgo) hold the same algebra to libseccomp's BPF.
//
// All examples are for an x86_64 node and name SCMP_ARCH_X86_64 only, so
// that the written architecture list is that one and socketcall (x86's
// multiplexer, see socketcall.go) plays no part.

const exNative = specs.ArchX86_64

// exSection parses an OCI seccomp section the way every command does.
func exSection(t *testing.T, js string) *specs.LinuxSeccomp {
	t.Helper()
	s, err := profile.Parse([]byte(js))
	if err != nil {
		t.Fatalf("example does not parse: %v\n%s", err, js)
	}
	return s
}

// exModel is the section's model on an x86_64 node.
func exModel(t *testing.T, js string) *profile.Profile {
	t.Helper()
	p, err := profile.FromSpec(exSection(t, js), exNative)
	if err != nil {
		t.Fatalf("FromSpec: %v\n%s", err, js)
	}
	return p
}

// sameSection fails unless got is exactly the section the JSON want spells,
// field by field and in order (both are compared as runtime-spec's JSON).
func sameSection(t *testing.T, got *specs.LinuxSeccomp, want string) {
	t.Helper()
	var w specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(&w)
	if string(gj) != string(wj) {
		t.Errorf("section:\n got %s\nwant %s", gj, wj)
	}
}

// "These two profiles intersect to this." Intersect gives every call the
// stricter of the two verdicts (kill > trap > errno > trace > notify > log >
// allow; at the same level the second operand wins); a call only one side
// names gets the other side's default. The result is written in the
// canonical form: unconditional groups before conditional ones, each group
// ordered by verdict (loosest first), names sorted, rules with the default
// verdict left out, errnoRet left out where it is EPERM (runc's default).
func TestExampleIntersect(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{{
		name: "an allow-list tightened by a deny list: mkdir now fails with ENOSYS",
		// mkdir: allow and ENOSYS -> ENOSYS; read, write, close: allow and
		// b's default allow -> allow; default: EPERM and allow -> EPERM.
		a: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read", "write", "mkdir", "close"], "action": "SCMP_ACT_ALLOW"}]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`,
		want: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["close", "read", "write"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`,
	}, {
		name: "two allow-lists: only what both allow stays allowed",
		// default: EPERM and kill -> kill. read, write: allowed by both.
		// openat: allow and b's default kill -> kill, the new default, so
		// not written. getpid: a's default EPERM and allow -> EPERM, which
		// is no longer the default, so written.
		a: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW"}]}`,
		b: `{"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read", "write", "getpid"], "action": "SCMP_ACT_ALLOW"}]}`,
		want: `{"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}`,
	}, {
		name: "the same level: the second operand's errno wins",
		// EPERM and ENOSYS are both errno: b's ENOSYS is what the
		// container sees (the policy is the second operand).
		a: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`,
	}, {
		name: "the same, the other way round: EPERM",
		a: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}`,
	}, {
		name: "kill beats errno, spelt as runc runs it",
		// SCMP_ACT_KILL is kill-thread in runc: written SCMP_ACT_KILL_THREAD.
		a: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_KILL"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["ptrace"], "action": "SCMP_ACT_KILL_THREAD"}]}`,
	}, {
		name: "arguments: a refusal on one value removes one of two allowed values",
		// personality: a allows arg0 == 0 and arg0 == 8 (as RuntimeDefault
		// does), b refuses arg0 == 8. Left: arg0 == 0 allowed, everything
		// else a's default EPERM. read: allowed by both.
		a: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
			{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}`,
		want: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}`,
	}, {
		name: "flags: SPEC_ALLOW only when both have it, every other flag from either",
		a: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"flags": ["SECCOMP_FILTER_FLAG_LOG"]}`,
		b: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"flags": ["SECCOMP_FILTER_FLAG_LOG"], "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO"}]}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, notes, err := profile.Intersect(exModel(t, tc.a), exModel(t, tc.b))
			if err != nil || len(notes) != 0 {
				t.Fatalf("Intersect: notes %q, err %v; want exact", notes, err)
			}
			got, notes := out.ToSpec(exNative)
			if len(notes) != 0 {
				t.Errorf("ToSpec notes %q, want none", notes)
			}
			sameSection(t, got, tc.want)
		})
	}
}

// Two profiles with different notify listeners cannot be one section.
func TestExampleIntersectIncompatible(t *testing.T) {
	a := exModel(t, `{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
		"syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}`)
	b := exModel(t, `{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/b.sock",
		"syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}`)
	out, _, err := profile.Intersect(a, b)
	if !errors.Is(err, profile.ErrIncompatible) || out != nil {
		t.Fatalf("Intersect = %v, %v; want ErrIncompatible", out, err)
	}
	const want = "profiles cannot be combined: different notify listeners (/run/a.sock and /run/b.sock)"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

// Tightening with a rule's deny list: DenyList is the profile that refuses
// exactly its entries and allows everything else, so intersecting with it
// removes them and changes nothing else.
func TestExampleTightenWithDenyList(t *testing.T) {
	enosys := profile.Verdict{Level: profile.LevelErrno, Ret: 38}
	deny := profile.DenyList([]profile.Deny{{Name: "mkdir", Verdict: profile.EPERM}, {Name: "keyctl", Verdict: enosys}})
	t.Run("a container without seccomp gets the deny list itself", func(t *testing.T) {
		// AllowAll (no seccomp) is the identity: the result is the deny
		// list, written for the node's whole family (x86_64, x86, x32).
		// On x86 mkdir and keyctl are no socket calls, so no socketcall rule.
		out, notes, err := profile.Intersect(profile.AllowAll(), deny)
		if err != nil || len(notes) != 0 {
			t.Fatalf("notes %q, err %v", notes, err)
		}
		got, _ := out.ToSpec(exNative)
		sameSection(t, got, `{"defaultAction": "SCMP_ACT_ALLOW",
			"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
			{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`)
	})
	t.Run("an allow-list: what it refuses it still refuses, with the deny list's errno", func(t *testing.T) {
		// An allow-list without mkdir and keyctl refuses both with its
		// default EPERM. mkdir: EPERM and EPERM, the default, not written.
		// keyctl: EPERM and ENOSYS are the same level, and the second
		// operand (the rule's deny list) wins: ENOSYS, written.
		p := exModel(t, `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}`)
		out, _, err := profile.Intersect(p, deny)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := out.ToSpec(exNative)
		sameSection(t, got, `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}`)
	})
}

// The audit transform: from the profile without the audit rules and the one
// with them enforced, the profile that logs (SCMP_ACT_LOG) exactly the calls
// the audit rules would refuse and that the first allows, and otherwise
// behaves like the first.
func TestExampleAudit(t *testing.T) {
	tests := []struct {
		name          string
		without, with string
		want          string
	}{{
		name:    "no seccomp; the audit rule would refuse mkdir: mkdir is logged",
		without: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}`,
		with: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]}`,
	}, {
		name: "an allow-list: what it refuses stays refused, what the audit rule adds is logged",
		// default: EPERM either way. read: allowed by both. mkdir: allowed
		// without, refused with -> logged. ptrace: refused by both -> the
		// default, not written.
		without: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read", "mkdir"], "action": "SCMP_ACT_ALLOW"}]}`,
		with: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
			"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
			{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, notes := profile.Audit(exModel(t, tc.without), exModel(t, tc.with))
			if len(notes) != 0 {
				t.Fatalf("Audit notes %q, want exact", notes)
			}
			got, notes := out.ToSpec(exNative)
			if len(notes) != 0 {
				t.Errorf("ToSpec notes %q", notes)
			}
			sameSection(t, got, tc.want)
		})
	}
}

// Normalisation: Canonical rewrites a section into the form nri-seccomp
// writes, with the same behaviour.
func TestExampleCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{{
		name: "spellings, duplicates, order and rules that do nothing",
		// defaultErrnoRet 1 is EPERM, runc's default: left out. The native
		// architecture is added, first. read twice and write: one group,
		// sorted. mkdir with EPERM is the default: runc skips such a rule,
		// so it is left out. SCMP_ACT_KILL is kill-thread.
		in: `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86"], "syscalls": [
			{"names": ["write", "read"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
			{"names": ["ptrace"], "action": "SCMP_ACT_KILL"},
			{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`,
		want: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
			{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["ptrace"], "action": "SCMP_ACT_KILL_THREAD"}]}`,
	}, {
		name: "a default errno other than EPERM is kept",
		in:   `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"]}`,
		want: `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"]}`,
	}, {
		name: "flags sorted, each once",
		in: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_LOG"]}`,
		want: `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
			"flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, notes, err := profile.Canonical(exSection(t, tc.in), exNative)
			if err != nil || len(notes) != 0 {
				t.Fatalf("Canonical: notes %q, err %v", notes, err)
			}
			sameSection(t, got, tc.want)
			// The canonical form is a fixed point.
			again, _, err := profile.Canonical(got, exNative)
			if err != nil || profile.Digest(again) != profile.Digest(got) {
				t.Errorf("Canonical is not idempotent: %v\n%+v\n%+v", err, got, again)
			}
		})
	}
}

// Digest keys a section as written; Digest of the canonical form keys its
// behaviour. The two exact values pin format version 2 (DigestPrefix): they
// were computed apart from this code, with Python's hashlib over the
// encoding AppendBinary documents (little-endian uint64 lengths, a presence
// byte before each optional errno). A change of encoding must change the
// prefix, and these values with it.
func TestExampleDigest(t *testing.T) {
	allow := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	if got, want := profile.Digest(allow), "sha256-v2:c0a6df0980664e1cd3b03f8e935a0ad8f59d5cac261945183d1cca66d0937658"; got != want {
		t.Errorf("Digest(allow everything) = %s, want %s", got, want)
	}
	enosys := uint(38)
	small := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &enosys,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}}}}
	if got, want := profile.Digest(small), "sha256-v2:36e76aee3bc9269661a2099c6a6c8b0148826abb653255900d7ab3a2fbfc51c3"; got != want {
		t.Errorf("Digest(small) = %s, want %s", got, want)
	}
	if got := profile.Digest(nil); got != "" {
		t.Errorf("Digest(nil) = %q, want \"\" (no section)", got)
	}

	// Absent and empty lists are one section (as in JSON, where NRI's
	// conversion turns one into the other).
	emptyArgs := *small
	emptyArgs.Syscalls = slices.Clone(small.Syscalls)
	emptyArgs.Flags = []specs.LinuxSeccompFlag{}
	if profile.Digest(&emptyArgs) != profile.Digest(small) {
		t.Error("an empty flag list digests differently from none")
	}

	// The same behaviour written two ways: different sections, different
	// digests; the same canonical form, the same digest.
	a := exSection(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}`)
	b := exSection(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`)
	if profile.Digest(a) == profile.Digest(b) {
		t.Error("two differently written sections have one digest")
	}
	ca, _, errA := profile.Canonical(a, exNative)
	cb, _, errB := profile.Canonical(b, exNative)
	if errA != nil || errB != nil || profile.Digest(ca) != profile.Digest(cb) {
		t.Errorf("canonical forms differ: %v %v\n%+v\n%+v", errA, errB, ca, cb)
	}

	// A default errno is part of the section: what NRI drops (see
	// docs/posture.md) changes the digest.
	dropped := *small
	dropped.DefaultErrnoRet = nil
	if profile.Digest(&dropped) == profile.Digest(small) {
		t.Error("the default errno does not change the digest")
	}
}
