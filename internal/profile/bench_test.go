package profile_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// The parts of a cold decision (internal/engine's BenchmarkDecide cold), one by
// one, on containerd's RuntimeDefault: read the container's section, tighten
// it with a deny list, compare, write, digest.

func benchRD(b *testing.B) (*specs.LinuxSeccomp, *profile.Profile) {
	data, _ := policies.Profile("runtime-default")
	s, err := profile.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		b.Fatal(err)
	}
	return s, p
}

func BenchmarkFromSpec(b *testing.B) {
	s, _ := benchRD(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := profile.FromSpec(s, specs.ArchX86_64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntersectDenyList(b *testing.B) {
	_, p := benchRD(b)
	deny := profile.DenyList([]profile.Deny{{Name: "keyctl", Verdict: profile.Verdict{Level: profile.LevelErrno, Ret: 1}},
		{Name: "mkdir", Verdict: profile.Verdict{Level: profile.LevelErrno, Ret: 1}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := profile.Intersect(p, deny); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInject(b *testing.B) {
	_, p := benchRD(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := profile.Intersect(profile.AllowAll(), p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToSpec(b *testing.B) {
	_, p := benchRD(b)
	b.ReportAllocs()
	for b.Loop() {
		p.ToSpec(specs.ArchX86_64)
	}
}

func BenchmarkDigest(b *testing.B) {
	s, _ := benchRD(b)
	b.ReportAllocs()
	for b.Loop() {
		profile.Digest(s)
	}
}
