package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	policypkg "github.com/nri-seccomp/nri-seccomp/internal/policy"
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
	c := &Cell{Pod: "redis", namespace: "wl-hardened", start: t0, aEnd: t0.Add(10 * time.Second), end: t0.Add(20 * time.Second)}
	ev := func(ns, pod, sc string, refused bool, at time.Duration) live.Event {
		return live.Event{Namespace: ns, Pod: pod, Syscall: sc, Refused: refused, Time: t0.Add(at)}
	}
	attribute([]*Cell{c}, []live.Event{
		ev("wl-hardened", "redis", "ptrace", true, time.Second),
		ev("wl-hardened", "redis", "vmsplice", true, 11*time.Second),
		ev("wl-hardened", "redis", "read", false, 12*time.Second),  // logged, not refused
		ev("wl-minimal", "redis", "mkdir", true, 2*time.Second),    // another namespace
		ev("wl-hardened", "python", "rename", true, 2*time.Second), // another pod
		ev("wl-hardened", "redis", "ptrace", true, 3*time.Second),  // once
		ev("", "", "dup2", true, 4*time.Second),                    // no pod, while the cell ran
		ev("", "", "bpf", true, 30*time.Second),                    // no pod, after it
		ev("", "", "keyctl", false, 5*time.Second),                 // no pod, logged
	})
	if strings.Join(c.RefusedA, ",") != "ptrace" || strings.Join(c.RefusedB, ",") != "vmsplice" || strings.Join(c.Unattributed, ",") != "dup2" {
		t.Fatalf("A %v, B %v, unattributed %v", c.RefusedA, c.RefusedB, c.Unattributed)
	}
}

// Goal 4 counts, per recorded column, what runtime-default does not refuse,
// refusals matched to no pod while the cell ran included; goal 3 averages
// the ratios. The misuse column is left out of both.
func TestGoalsPerRecordedColumn(t *testing.T) {
	r := &Run{Workloads: []Workload{{Name: "redis"}, {Name: "python"}}}
	for _, n := range []string{"runtime-default", "recorded", "recorded+families", "nnp-profile-without-nnp"} {
		for _, tr := range treatments {
			if tr.Name == n {
				r.Treatments = append(r.Treatments, tr)
			}
		}
	}
	cell := func(w, tr string, allowed int, refused, unattributed []string, bErr string) *Cell {
		return &Cell{Workload: w, Treatment: tr, Started: true, ARan: true, BRan: true, Allowed: allowed, RefusedB: refused, Unattributed: unattributed, BErr: bErr}
	}
	r.Cells = []*Cell{
		cell("redis", "runtime-default", 301, []string{"clone3"}, nil, ""),
		cell("python", "runtime-default", 301, []string{"clone3"}, nil, ""),
		cell("redis", "recorded", 76, []string{"clone3", "fsync", "wait4"}, nil, "bgsave"),
		cell("python", "recorded", 88, []string{"clone3"}, []string{"dup2"}, ""),
		cell("redis", "recorded+families", 70, []string{"clone3"}, nil, ""),
		cell("python", "recorded+families", 80, nil, nil, ""),
		{Workload: "redis", Treatment: "nnp-profile-without-nnp", StartErr: "operation not permitted"},
	}
	var b strings.Builder
	goals(&b, r)
	out := b.String()
	for _, want := range []string{
		"   - **recorded**: **not met**: average 0.27 (redis 76/301 = 0.25; python 88/301 = 0.29)\n",
		"   - **recorded+families**: met: average 0.25 (redis 70/301 = 0.23; python 80/301 = 0.27)\n",
		"   - **recorded**: **not met**: 3 false refusal(s): redis: `fsync`, `wait4` (B **FAIL**); python: `dup2` (B pass)\n",
		"   - **recorded+families**: met: no refusal under B (nor A) for any workload\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("goals lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nnp-profile-without-nnp") {
		t.Errorf("the misuse column counts in the goals:\n%s", out)
	}
}

// Re-running some workloads replaces their cells and recordings only.
func TestMergeRunPerWorkload(t *testing.T) {
	r := &Run{Recorded: map[string]map[string][]string{"recorded-nnp": {"redis": {"read"}, "python": {"read"}}},
		Cells:      []*Cell{{Workload: "python", Treatment: "recorded-nnp", Pod: "python", Allowed: 73}, {Workload: "redis", Treatment: "recorded-nnp", Pod: "redis", Allowed: 58}},
		ImageSizes: map[string]int64{}, AuditLost: 0}
	next := &Run{Recorded: map[string]map[string][]string{"recorded-nnp": {"python": {"read", "epoll_ctl"}}},
		Widened: map[string]map[string][]string{"recorded-nnp": {"python": {"w"}}},
		Cells:   []*Cell{{Workload: "python", Treatment: "recorded-nnp", Pod: "python", Allowed: 74}}, AuditLost: 2}
	mergeRun(r, next)
	if got := r.Recorded["recorded-nnp"]; len(got["redis"]) != 1 || len(got["python"]) != 2 || len(r.Widened["recorded-nnp"]["python"]) != 1 {
		t.Fatalf("recorded %v, widened %v", r.Recorded, r.Widened)
	}
	if len(r.Cells) != 2 || r.Cells[0].Allowed != 74 || r.Cells[1].Allowed != 58 || r.AuditLost != 2 {
		t.Fatalf("cells %+v %+v, lost %d", r.Cells[0], r.Cells[1], r.AuditLost)
	}
}
