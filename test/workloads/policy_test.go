package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

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
	for name, pol := range map[string]string{
		"phase1": policy(treatments, nil, true),
		"phase2": policy(treatments[len(treatments)-1:], map[string]string{"redis": rec, "python": rec}, false),
	} {
		p, err := policypkg.Parse([]byte(pol), name+".yaml", policypkg.Options{Builtins: builtins})
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, pol)
			continue
		}
		if want := map[string]int{"phase1": len(treatments), "phase2": 2}[name]; len(p.Rules) != want {
			t.Errorf("%s: %d rules, want %d", name, len(p.Rules), want)
		}
	}
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
