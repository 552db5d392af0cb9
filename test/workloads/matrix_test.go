package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/audit"
	"github.com/nri-seccomp/nri-seccomp/pkg/engine"
	policypkg "github.com/nri-seccomp/nri-seccomp/pkg/policy"
)

// The generated policies load in the daemon's own loader, with and
// without recorded profiles.
func TestPolicyLoads(t *testing.T) {
	builtins, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec.json")
	if err := os.WriteFile(rec, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	recAll := map[string]map[string]string{}
	for _, t := range recordedTreatments() {
		recAll[t.Name] = map[string]string{"redis": rec, "python": rec}
	}
	for name, pol := range map[string]string{
		"phase1": policy(append(slices.Clone(treatments), learns...), nil),
		"phase2": policy(recordedTreatments(), recAll),
	} {
		p, err := policypkg.Parse([]byte(pol), name+".yaml", policypkg.Options{Builtins: builtins})
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, pol)
			continue
		}
		if want := map[string]int{"phase1": len(treatments) - len(recordedTreatments()) + len(learns), "phase2": 2 * len(recordedTreatments())}[name]; len(p.Rules) != want {
			t.Errorf("%s: %d rules, want %d", name, len(p.Rules), want)
		}
	}
}

func recordedTreatments() []Treatment {
	var out []Treatment
	for _, t := range treatments {
		if t.recorded() {
			out = append(out, t)
		}
	}
	return out
}

func TestMergeAllow(t *testing.T) {
	a := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}}
	b := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"write", "fsync", "rename"}, Action: specs.ActAllow}}}
	m := mergeAllow([]*specs.LinuxSeccomp{a, b})
	if got := strings.Join(allowedNames(m), " "); got != "fsync read rename write" {
		t.Fatalf("merged: %s", got)
	}
	if len(a.Syscalls) != 1 {
		t.Fatal("the first profile was modified")
	}
}

func TestAllowedCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    specs.LinuxSeccomp
		want int
	}{
		{"no filter", specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, -1},
		{"log everything", specs.LinuxSeccomp{DefaultAction: specs.ActLog}, -1},
		{"allow-list", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"write", "mmap2"}, Action: specs.ActAllow}, // mmap2 is not an x86_64 call
			{Names: []string{"getpid"}, Action: specs.ActLog},
			{Names: []string{"mkdir"}, Action: specs.ActErrno},
		}}, 3},
	} {
		if got := allowedCount(&tc.s); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestAttribute(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	c := &Cell{Pod: "redis", namespace: "wl-hardened", aEnd: t0.Add(10 * time.Second)}
	ev := func(ns, pod, sc string, refused bool, at time.Duration) audit.Event {
		return audit.Event{Namespace: ns, Pod: pod, Syscall: sc, Refused: refused, Time: t0.Add(at)}
	}
	attribute([]*Cell{c}, []audit.Event{
		ev("wl-hardened", "redis", "ptrace", true, time.Second),
		ev("wl-hardened", "redis", "vmsplice", true, 11*time.Second),
		ev("wl-hardened", "redis", "read", false, 12*time.Second),  // logged, not refused
		ev("wl-minimal", "redis", "mkdir", true, 2*time.Second),    // another namespace
		ev("wl-hardened", "python", "rename", true, 2*time.Second), // another pod
		ev("wl-hardened", "redis", "ptrace", true, 3*time.Second),  // once
	})
	if strings.Join(c.RefusedA, ",") != "ptrace" || strings.Join(c.RefusedB, ",") != "vmsplice" {
		t.Fatalf("A %v, B %v", c.RefusedA, c.RefusedB)
	}
}
