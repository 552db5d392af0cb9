package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
)

func init() {
	register(Section{N: 5, Title: "Filter size and load time", NeedsRoot: true, Run: runBPF})
}

// A filter case is one seccomp section runc could be handed: containerd's
// own RuntimeDefault, or what nri-seccomp's engine answers for a container.
type filterCase struct {
	name   string
	what   string
	policy string // the policy the engine decides with ("" = containerd's RuntimeDefault as is)
	in     engine.Input
}

func filterCases(rd *specs.LinuxSeccomp) []filterCase {
	inject := func(profile string) string {
		return fmt.Sprintf("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: inject\n  match: {}\n  action: inject\n  profile: %s\n", profile)
	}
	unconfined := engine.Input{Namespace: "bench", Pod: "p", Container: "c", ProfileType: profile.TypeUnconfined}
	withRD := engine.Input{Namespace: "bench", Pod: "p", Container: "c", ProfileType: profile.TypeRuntimeDefault, Current: rd}
	return []filterCase{
		{name: "RuntimeDefault (containerd)", what: "containerd 2.4.2's RuntimeDefault, as containerd hands it to runc"},
		{name: "runtime-default (nri-seccomp)", what: "the same profile injected by nri-seccomp into an Unconfined container (canonical form)", policy: inject("runtime-default"), in: unconfined},
		{name: "default policy, Unconfined pod", what: "shipped policy: runtime-default injected, then the floor", policy: "default", in: unconfined},
		{name: "default policy, RuntimeDefault pod", what: "shipped policy: RuntimeDefault tightened by the floor", policy: "default", in: withRD},
		{name: "hardened (nri-seccomp)", what: "built-in hardened injected", policy: inject("hardened"), in: unconfined},
		{name: "minimal (nri-seccomp)", what: "built-in minimal injected", policy: inject("minimal"), in: unconfined},
	}
}

func runBPF(ctx context.Context, env *Env) (*Result, error) {
	builtins, err := engine.Builtins()
	if err != nil {
		return nil, err
	}
	rd := builtins["runtime-default"]
	loads := env.Count(200, 10)
	res := &Result{
		Summary: "The kernel runs a container's filter on every system call it makes, and runc loads it once per container. " +
			"The filters nri-seccomp writes are compared with containerd's own RuntimeDefault: instruction count as libseccomp compiles them for runc, and the time the kernel takes to accept one.",
		Notes: []string{
			"Instructions: libseccomp 2.5.4 (as linked into runc 1.2.8 by test/e2e/install.sh) compiling the section exactly as runc 1.2 does (internal/seccompbpf): one entry per syscall name, so any profile naming more than 32 syscalls gets libseccomp's binary tree (optimize level 2); the runc 1.1 column is the same section compiled linear, as Debian's runc 1.1.5 does. For x86_64 with the x86 and x32 sub-architectures the profiles list; without runc's -ENOSYS stub (section 4 counts the loaded filters, stub included). The kernel's limit is 4096 per filter. Loads use the runc 1.2 program.",
			fmt.Sprintf("Load: seccomp(SECCOMP_SET_MODE_FILTER) in a fresh child process per load (a filter cannot be removed), %d loads per filter, interleaved across filters; the kernel checks the program, converts it to eBPF and JIT-compiles it. runc does this once per container.", loads),
			"Subset rows allow fewer calls than RuntimeDefault; the target asks that no filter be larger than RuntimeDefault's for the same (or a smaller) set of calls.",
		},
	}
	defaultPolicy := filepath.Join(env.Root, "policies", "default-policy.yaml")
	type compiledCase struct {
		filterCase
		sec    *specs.LinuxSeccomp
		prog   *seccompbpf.Program
		linear int // instructions as runc 1.1 compiles it
		calls  int
	}
	var cases []compiledCase
	for _, fc := range filterCases(rd) {
		sec := rd
		if fc.policy != "" {
			var e *engine.Engine
			if fc.policy == "default" {
				e, err = engine.Load(defaultPolicy, engine.Options{Native: specs.ArchX86_64})
			} else {
				var pol *policy.Policy
				pol, err = policy.Parse([]byte(fc.policy), "bench.yaml", policy.Options{Builtins: builtins})
				if err == nil {
					e, err = engine.New(pol, engine.Options{Native: specs.ArchX86_64})
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fc.name, err)
			}
			d, err := e.Decide(fc.in)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fc.name, err)
			}
			if !d.Changed || d.Seccomp == nil {
				return nil, fmt.Errorf("%s: the engine left the container unchanged", fc.name)
			}
			sec = d.Seccomp
		}
		prog, err := seccompbpf.Compile(sec)
		if err != nil {
			return nil, fmt.Errorf("%s: libseccomp: %w", fc.name, err)
		}
		linear, err := seccompbpf.CompileFor(sec, seccompbpf.Runc11)
		if err != nil {
			return nil, fmt.Errorf("%s: libseccomp: %w", fc.name, err)
		}
		cases = append(cases, compiledCase{filterCase: fc, sec: sec, prog: prog, linear: linear.Len(), calls: allowedCalls(sec)})
	}
	// Interleave the loads: one of each filter per round.
	times := make([][]time.Duration, len(cases))
	for i := range loads {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j, c := range cases {
			d, err := LoadFilter(c.prog.Raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			times[j] = append(times[j], d)
		}
		if (i+1)%max(1, loads/4) == 0 {
			logf("   %d/%d load rounds", i+1, loads)
		}
	}
	t := Table{Header: []string{"filter", "what", "syscalls allowed (x86_64 names)", "BPF instructions (runc 1.2)", "vs RuntimeDefault", "BPF instructions (runc 1.1, linear)", "load p50", "load p90", "load p50 vs RuntimeDefault"}}
	base := cases[0]
	baseLoad := Median(times[0])
	baseRefusals := explicitRefusals(rd)
	subsetOK, subsetN, worst := true, 0, ""
	for j, c := range cases {
		p50 := Median(times[j])
		t.AddRow(c.name, c.what, c.calls, c.prog.Len(), Ratio(float64(c.prog.Len()), float64(base.prog.Len())), c.linear,
			Micros(p50), Micros(Percentile(times[j], 90)), Ratio(float64(p50), float64(baseLoad)))
		if j < 2 {
			continue
		}
		// A filter that answers some calls with an errno of their own needs a
		// rule per call and architecture that RuntimeDefault does not have:
		// where that makes it larger, it is a different filter, not a bigger
		// one for the same answers. One that is no larger counts as it is.
		if extra := newRefusals(c.sec, baseRefusals); len(extra) > 0 && c.prog.Len() > base.prog.Len() {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d instructions (%+d) because it answers %v with an errno of its own (a rule per call and architecture RuntimeDefault does not have); it is not counted against the subset target.",
				c.name, c.prog.Len(), c.prog.Len()-base.prog.Len(), extra))
			continue
		}
		subsetN++
		if c.prog.Len() > base.prog.Len() {
			subsetOK = false
			worst += fmt.Sprintf("; %s: %d", c.name, c.prog.Len())
		}
	}
	res.Tables = append(res.Tables, t)
	same := cases[1]
	res.Targets = append(res.Targets,
		Target{
			Goal:     "runtime-default written by nri-seccomp no larger than containerd's RuntimeDefault (same syscall set)",
			Measured: fmt.Sprintf("%d vs %d instructions (%s)", same.prog.Len(), base.prog.Len(), Ratio(float64(same.prog.Len()), float64(base.prog.Len()))),
			Met:      same.prog.Len() <= base.prog.Len(),
		},
		Target{
			Goal:     "filters allowing a subset of RuntimeDefault's calls (same refusal errno) no larger than RuntimeDefault's",
			Measured: fmt.Sprintf("%d filters, all ≤ %d instructions%s", subsetN, base.prog.Len(), worst),
			Met:      subsetOK && subsetN > 0,
		})
	if same.prog.Len() > profiletool.MaxBPFInstructions || base.prog.Len() > profiletool.MaxBPFInstructions {
		res.Notes = append(res.Notes, "A filter is over the kernel's 4096-instruction limit.")
	}
	return res, nil
}

func largest[T any](xs []T, f func(T) int) int {
	m := 0
	for _, x := range xs {
		m = max(m, f(x))
	}
	return m
}

// allowedCalls counts the x86_64 syscall names a section allows at least
// for some arguments.
func allowedCalls(s *specs.LinuxSeccomp) int {
	seen := map[string]bool{}
	for _, r := range s.Syscalls {
		if r.Action != specs.ActAllow {
			continue
		}
		for _, n := range r.Names {
			seen[n] = true
		}
	}
	if s.DefaultAction == specs.ActAllow {
		return -1
	}
	return len(seen)
}

// explicitRefusals lists the calls a section refuses by a rule of its own
// (not by its default action).
func explicitRefusals(s *specs.LinuxSeccomp) map[string]bool {
	m := map[string]bool{}
	for _, r := range s.Syscalls {
		if r.Action != specs.ActAllow {
			for _, n := range r.Names {
				m[n] = true
			}
		}
	}
	return m
}

// newRefusals lists the calls s refuses by a rule where base has none.
func newRefusals(s *specs.LinuxSeccomp, base map[string]bool) []string {
	var out []string
	for n := range explicitRefusals(s) {
		if !base[n] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
