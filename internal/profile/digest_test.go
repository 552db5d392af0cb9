package profile_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// genSection draws a section from a universe small enough that two draws
// are often equal, or differ in one field only. Values the other generators
// never use (errno 0 and ^0, empty strings) are in it on purpose: they are
// where a careless encoding collides.
func genSection(r *rand.Rand) *specs.LinuxSeccomp {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	errno := func() *uint {
		switch r.IntN(4) {
		case 0:
			v := uint(0)
			return &v
		case 1:
			v := ^uint(0)
			return &v
		case 2:
			v := uint(1)
			return &v
		}
		return nil
	}
	s := &specs.LinuxSeccomp{DefaultAction: specs.LinuxSeccompAction(pick("SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW")), DefaultErrnoRet: errno()}
	for range r.IntN(3) {
		s.Architectures = append(s.Architectures, specs.Arch(pick("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "")))
	}
	if r.IntN(3) == 0 {
		s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(pick("SECCOMP_FILTER_FLAG_LOG", ""))}
	}
	if r.IntN(4) == 0 {
		s.ListenerPath, s.ListenerMetadata = pick("/a", "", "/ab"), pick("", "b", "a")
	}
	for range r.IntN(3) {
		sc := specs.LinuxSyscall{Action: specs.LinuxSeccompAction(pick("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO")), ErrnoRet: errno()}
		for range r.IntN(3) {
			sc.Names = append(sc.Names, pick("read", "re", "ad", "", "write"))
		}
		for range r.IntN(2) {
			sc.Args = append(sc.Args, specs.LinuxSeccompArg{Index: uint(r.IntN(2)), Value: uint64(r.IntN(2)),
				ValueTwo: uint64(r.IntN(2)), Op: specs.LinuxSeccompOperator(pick("SCMP_CMP_EQ", "SCMP_CMP_NE"))})
		}
		s.Syscalls = append(s.Syscalls, sc)
	}
	return s
}

// nearby is a copy of a, or a copy with one part drawn again, or another
// draw altogether: pairs that are often equal and often differ in little.
func nearby(r *rand.Rand, a *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	j, _ := json.Marshal(a)
	var b specs.LinuxSeccomp
	_ = json.Unmarshal(j, &b)
	o := genSection(r)
	switch r.IntN(8) {
	case 0:
		return o
	case 1:
		b.DefaultAction, b.DefaultErrnoRet = o.DefaultAction, o.DefaultErrnoRet
	case 2:
		b.Architectures = o.Architectures
	case 3:
		b.Flags, b.ListenerPath, b.ListenerMetadata = o.Flags, o.ListenerPath, o.ListenerMetadata
	case 4:
		if len(b.Syscalls) > 0 && len(o.Syscalls) > 0 {
			b.Syscalls[0] = o.Syscalls[0]
		}
	case 5:
		if len(b.Syscalls) > 0 && len(o.Syscalls) > 0 {
			b.Syscalls[0].Names = o.Syscalls[0].Names
		}
	case 6:
		if len(b.Syscalls) > 0 && len(o.Syscalls) > 0 {
			b.Syscalls[0].Args, b.Syscalls[0].ErrnoRet = o.Syscalls[0].Args, o.Syscalls[0].ErrnoRet
		}
	}
	return &b
}

// The digest is a content key: over generated pairs of sections, two
// digests are equal exactly when the sections' JSON encodings (the form
// containerd and runc read) are.
func TestDigestIsContentKey(t *testing.T) {
	s := uint64(rand.Int64())
	t.Logf("seed %d", s)
	r := rand.New(rand.NewPCG(s, 3))
	equal, differ := 0, 0
	for range 20000 {
		a := genSection(r)
		ja, _ := json.Marshal(a)
		b := nearby(r, a)
		jb, _ := json.Marshal(b)
		same := bytes.Equal(ja, jb)
		if got := profile.Digest(a) == profile.Digest(b); got != same {
			t.Fatalf("sections equal=%v but digests equal=%v:\n%s\n%s", same, got, ja, jb)
		}
		// A deep copy is the same content in other memory.
		var c specs.LinuxSeccomp
		if err := json.Unmarshal(ja, &c); err != nil {
			t.Fatal(err)
		}
		if profile.Digest(&c) != profile.Digest(a) {
			t.Fatalf("a copy of %s has another digest", ja)
		}
		if same {
			equal++
		} else {
			differ++
		}
	}
	// The generator must produce both cases often, or the test proves little.
	if equal < 100 || differ < 100 {
		t.Fatalf("only %d equal and %d different pairs: the generator regressed", equal, differ)
	}
	t.Logf("%d equal pairs, %d different", equal, differ)
}

// Each field on its own changes the digest, including the values where a
// careless encoding collides (no errno vs errno 0 or ^0, a name split in two).
func TestDigestFields(t *testing.T) {
	zero, all := uint(0), ^uint(0)
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}}}}
	}
	want := profile.Digest(base())
	for name, mutate := range map[string]func(s *specs.LinuxSeccomp){
		"default action":   func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActKillProcess },
		"default errno 0":  func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = &zero },
		"default errno ^0": func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = &all },
		"architecture":     func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, specs.ArchX86) },
		"flag":             func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		"listener path":    func(s *specs.LinuxSeccomp) { s.ListenerPath = "/x" },
		"listener meta":    func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "m" },
		"name":             func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[1] = "writev" },
		"names joined":     func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"readwrite"} },
		"names split":      func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"re", "ad", "write"} },
		"action":           func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActLog },
		"errno 0":          func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = &zero },
		"errno ^0":         func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = &all },
		"arg index":        func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Index = 1 },
		"arg value":        func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Value = 2 },
		"arg value two":    func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].ValueTwo = 2 },
		"arg op":           func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Op = specs.OpNotEqual },
		"no args":          func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args = nil },
		"rule split": func(s *specs.LinuxSeccomp) {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"write"}, Action: specs.ActAllow, Args: s.Syscalls[0].Args})
			s.Syscalls[0].Names = []string{"read"}
		},
	} {
		s := base()
		mutate(s)
		if profile.Digest(s) == want {
			t.Errorf("%s: the digest did not change", name)
		}
	}
	if profile.Digest(nil) != "" {
		t.Error("no section has no digest")
	}
	// nil and empty lists are one content, as in JSON (omitempty).
	s := base()
	s.Flags = []specs.LinuxSeccompFlag{}
	if profile.Digest(s) != want {
		t.Error("an empty flag list must digest like none")
	}
}

// A digest names its format, so a digest another release wrote (version 1,
// "sha256:" of the JSON form) is never taken for equal or different.
func TestCompareDigests(t *testing.T) {
	enosys := uint(38)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &enosys}
	v2 := profile.Digest(s)
	if !strings.HasPrefix(v2, profile.DigestPrefix) || len(v2) != len(profile.DigestPrefix)+64 {
		t.Fatalf("Digest = %q, want %q and 64 hex digits", v2, profile.DigestPrefix)
	}
	v1 := "sha256:" + strings.TrimPrefix(v2, profile.DigestPrefix) // same hex, older format
	other := profile.Digest(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno})
	tests := []struct {
		a, b string
		want profile.DigestMatch
	}{
		{v2, v2, profile.DigestsEqual},
		{v2, other, profile.DigestsDiffer},
		{"", "", profile.DigestsEqual},
		{v2, "", profile.DigestsDiffer},
		{"", v1, profile.DigestsDiffer},
		{v1, v2, profile.DigestsIncomparable},
		{v2, v1, profile.DigestsIncomparable},
		{v1, v1, profile.DigestsEqual},
		{"sha256:aa", "sha256:bb", profile.DigestsDiffer},
		{"sha256-v3:aa", v2, profile.DigestsIncomparable},
		{"nocolon", v2, profile.DigestsIncomparable},
	}
	for _, tc := range tests {
		if got := profile.CompareDigests(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareDigests(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
