package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func init() {
	register(Section{N: 4, Title: "Syscall cost inside a container", NeedsRoot: true, Run: runSyscalls})
}

// The calls timed, as syscall-probe's loop names them. getpid is allowed
// unconditionally by every profile here, so the kernel's seccomp action
// cache answers it without running the filter. The others are the calls
// RuntimeDefault allows only for some arguments, so every call runs the
// filter down to the argument comparison: personality(0xffffffff),
// socket(AF_UNIX, an invalid type) and clone(CLONE_THREAD), the last two
// refused by the kernel (EINVAL) once past the filter, so nothing is made.
var sysCalls = []string{"getpid", "personality", "socket", "clone"}

// sysCallArgs are the arguments the probe makes each call with, for running
// the filters on them.
var sysCallArgs = map[string][6]uint64{
	"personality": {0xffffffff},
	"socket":      {1, 0xffff},
	"clone":       {0x10000},
}

// sysKernelErrno is the answer the kernel gives a call the filter let
// through, when it is an error on purpose.
var sysKernelErrno = map[string]string{"socket": "EINVAL", "clone": "EINVAL"}

// sysConfigKey names a seccomp configuration.
type sysConfigKey string

const (
	sysNone      sysConfigKey = "none"
	sysRD        sysConfigKey = "rd"
	sysRD2       sysConfigKey = "rd2"
	sysInjectRD  sysConfigKey = "inject-rd"
	sysRD64      sysConfigKey = "rd-x86_64"
	sysHardened  sysConfigKey = "hardened"
	sysTightened sysConfigKey = "tightened"
)

// sysConfig is one container whose syscall cost is measured, and what the
// plugin's decision log must say about it.
type sysConfig struct {
	key   sysConfigKey
	label string
	what  string
	// namespace selects the policy rule (testdata/syscalls-policy.yaml).
	namespace string
	// seccomp is the CRI profile type the container asks for.
	seccomp string
	// rule is the one rule the decision must list; exempt and changed are
	// what it must say.
	rule            string
	exempt, changed bool
	// nri marks nri-seccomp's outputs, which the targets are about.
	nri bool
}

var sysConfigs = []sysConfig{
	{key: sysNone, label: "no filter", what: "Unconfined container, namespace exempt: no seccomp at all",
		namespace: "bench-exempt", seccomp: harness.SeccompUnconfined, rule: "bench-exempt", exempt: true},
	{key: sysRD, label: "RuntimeDefault (containerd)", what: "RuntimeDefault container, namespace exempt: containerd's own profile",
		namespace: "bench-exempt", seccomp: harness.SeccompRuntimeDefault, rule: "bench-exempt", exempt: true},
	{key: sysRD2, label: "RuntimeDefault (containerd), 2nd container", what: "the same in a second container: an A/A control, its ratio shows the noise",
		namespace: "bench-exempt", seccomp: harness.SeccompRuntimeDefault, rule: "bench-exempt", exempt: true},
	{key: sysInjectRD, label: "runtime-default (nri-seccomp)", what: "Unconfined container, nri-seccomp injects its runtime-default",
		namespace: "bench-inject-rd", seccomp: harness.SeccompUnconfined, rule: "bench-inject-runtime-default", changed: true, nri: true},
	{key: sysRD64, label: "runtime-default, x86_64 only (nri-seccomp)", what: "Unconfined container, nri-seccomp injects runtime-default with one architecture (x86_64) instead of three: the same answers to every x86_64 call, fewer instructions; 32-bit calls are killed instead",
		namespace: "bench-inject-rd64", seccomp: harness.SeccompUnconfined, rule: "bench-inject-runtime-default-x86_64", changed: true, nri: true},
	{key: sysHardened, label: "hardened (nri-seccomp)", what: "Unconfined container, nri-seccomp injects hardened (fewer argument values allowed)",
		namespace: "bench-hardened", seccomp: harness.SeccompUnconfined, rule: "bench-inject-hardened", changed: true, nri: true},
	{key: sysTightened, label: "tightened RuntimeDefault (nri-seccomp)", what: "RuntimeDefault container, nri-seccomp tightens it with a deny list (mkdir and the shipped floor)",
		namespace: "bench-tighten", seccomp: harness.SeccompRuntimeDefault, rule: "bench-tighten-runtime-default", changed: true, nri: true},
}

// sysRuntime is one runc the section runs every configuration under, in a
// containerd of its own.
type sysRuntime struct {
	key    string // short, for logs and sample keys
	label  string
	build  seccompbpf.Runc
	runc   func(harness.Tools) string
	c      *harness.Containerd
	plugin *harness.Plugin
}

// sysRuntimes: Debian 12's runc 1.1.5 and runc 1.2.8 (built by
// test/e2e/install.sh), what containerd 2.x nodes run.
func sysRuntimes() []*sysRuntime {
	return []*sysRuntime{
		{key: "1.1.5", label: "runc 1.1.5", build: seccompbpf.Runc11, runc: func(t harness.Tools) string { return t.Runc }},
		{key: "1.2.8", label: "runc 1.2.8", build: seccompbpf.Runc12, runc: func(t harness.Tools) string { return t.Runc12 }},
	}
}

// sysSlowerTolerance is how much slower than RuntimeDefault an nri-seccomp
// profile may measure and still count as "no slower": the allowance for
// noise between two containers timed in the same rounds. The A/A control
// shows how much of it this run needed.
const sysSlowerTolerance = 1.05

// sysCachedTarget is the bound for calls the seccomp cache allows.
const sysCachedTarget = 1.3

// sysLoop is one JSON line `syscall-probe loop` prints.
type sysLoop struct {
	Loop           string    `json:"loop"`
	Ret            int64     `json:"ret"`
	Errno          string    `json:"errno"`
	KernelErrno    string    `json:"kernel_errno"`
	Iterations     int       `json:"iterations"`
	NsPerOp        []float64 `json:"ns_per_op"`
	MinNs          float64   `json:"min_ns"`
	Seccomp        string    `json:"seccomp"`
	SeccompFilters string    `json:"seccomp_filters"`
	Error          string    `json:"error"`
}

// sysContainer is a running configuration under one runc.
type sysContainer struct {
	sysConfig
	rt *sysRuntime
	ct *harness.Container
	// filter is the seccomp section containerd handed runc (nil: none).
	filter *specs.LinuxSeccomp
	// loaded is the filter as the kernel holds it (runc's -ENOSYS stub,
	// then libseccomp's program); compiled is libseccomp's program for
	// filter as this runc builds it, which must be loaded's tail.
	loaded, compiled *seccompbpf.Program
	// filterNote says where the loaded filter could not be read or is not
	// what this runc was expected to build ("" when it is).
	filterNote string
}

// id keys the container's samples.
func (sc *sysContainer) id() string { return sc.rt.key + "/" + string(sc.key) }

func runSyscalls(ctx context.Context, env *Env) (*Result, error) {
	// Many short repetitions, of which the best counts: a repetition of
	// under a millisecond often runs without the CPU being taken away, even
	// on a busy machine, where long ones rarely do.
	rounds := env.Count(16, 2)
	iters := env.Count(2000, 1000)
	repeats := env.Count(150, 10)

	imgs, err := env.Images(ctx)
	if err != nil {
		return nil, fmt.Errorf("build images: %w", err)
	}
	tools, err := harness.FindTools()
	if err != nil {
		return nil, err
	}
	policyPath, err := sysPolicy(env)
	if err != nil {
		return nil, err
	}
	var cts []*sysContainer
	for _, rt := range sysRuntimes() {
		rt.c, err = harness.StartContainerd(ctx, harness.ContainerdOptions{Images: imgs, Tools: tools, Runc: rt.runc(tools)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rt.label, err)
		}
		defer func() {
			if err := rt.c.Stop(context.Background()); err != nil {
				logf("   teardown: %v", err)
			}
		}()
		if rt.plugin, err = rt.c.StartPlugin(ctx, env.Bin, policyPath); err != nil {
			return nil, fmt.Errorf("%s: %w", rt.label, err)
		}
		started, err := sysStart(ctx, rt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rt.label, err)
		}
		cts = append(cts, started...)
	}
	logf("   %d containers running and checked; %d rounds of %d×%d calls each", len(cts), rounds, repeats, iters)

	// samples[container][call][round]: the best of the repeats of one exec.
	samples := map[string]map[string][]float64{}
	for _, sc := range cts {
		samples[sc.id()] = map[string][]float64{}
	}
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Each round starts at another container and alternates the order
		// of the calls, so none always runs first or last.
		calls := slices.Clone(sysCalls)
		if r%2 == 1 {
			slices.Reverse(calls)
		}
		for i := range cts {
			sc := cts[(r+i)%len(cts)]
			ls, err := sysExecLoop(ctx, sc.ct, calls, iters, repeats)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", sc.rt.label, sc.label, err)
			}
			for _, l := range ls {
				if l.Errno != "" {
					return nil, fmt.Errorf("%s, %s: %s refused with %s during the rounds", sc.rt.label, sc.label, l.Loop, l.Errno)
				}
				samples[sc.id()][l.Loop] = append(samples[sc.id()][l.Loop], l.MinNs)
			}
		}
		var parts []string
		for _, sc := range cts {
			var ns []string
			for _, call := range sysCalls {
				ns = append(ns, fmt.Sprintf("%.0f", samples[sc.id()][call][r]))
			}
			parts = append(parts, sc.id()+" "+strings.Join(ns, "/"))
		}
		logf("   round %d/%d (ns/op %s): %s", r+1, rounds, strings.Join(sysCalls, "/"), strings.Join(parts, ", "))
	}
	return sysReport(env, cts, samples, rounds, iters, repeats)
}

// sysPolicy writes the section's policy (test/bench/testdata/
// syscalls-policy.yaml) into the run's scratch directory, beside the profile
// it names that the repository does not hold: runtime-default with x86_64 as
// its only architecture, made from the built-in.
func sysPolicy(env *Env) (string, error) {
	dir := filepath.Join(env.Work, "syscalls-policy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join(env.Root, "test", "bench", "testdata", "syscalls-policy.yaml"))
	if err != nil {
		return "", err
	}
	b, err := engine.Builtins()
	if err != nil {
		return "", err
	}
	rd := *b["runtime-default"]
	rd.Architectures = []specs.Arch{specs.ArchX86_64}
	j, err := json.MarshalIndent(&rd, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "runtime-default-x86_64.json"), j, 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "syscalls-policy.yaml")
	return path, os.WriteFile(path, src, 0o644)
}

// sysStart runs one container per configuration under rt and checks, before
// anything is timed, that each got the seccomp it is meant to measure: the
// plugin's decision, the seccomp section in the OCI spec, the filter the
// kernel holds, and that every timed call is allowed.
func sysStart(ctx context.Context, rt *sysRuntime) ([]*sysContainer, error) {
	pods := map[string]*harness.Pod{}
	var out []*sysContainer
	for _, cfg := range sysConfigs {
		pod := pods[cfg.namespace]
		if pod == nil {
			p, err := rt.c.RunPod(ctx, harness.PodSpec{Name: "bench", Namespace: cfg.namespace})
			if err != nil {
				return nil, err
			}
			pods[cfg.namespace], pod = p, p
		}
		ct, err := pod.RunContainer(ctx, harness.ContainerSpec{Name: string(cfg.key), Seccomp: cfg.seccomp})
		if err != nil {
			return nil, err
		}
		sc := &sysContainer{sysConfig: cfg, rt: rt, ct: ct}
		if err := sysCheck(ctx, sc); err != nil {
			return nil, fmt.Errorf("%s is not what it should measure: %w", cfg.label, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

func sysCheck(ctx context.Context, sc *sysContainer) error {
	d, err := sc.rt.plugin.DecisionFor(sc.namespace, "bench", string(sc.key))
	if err != nil {
		return err
	}
	switch {
	case d.Error != "":
		return fmt.Errorf("decision has error %q", d.Error)
	case d.ProfileType != sc.seccomp:
		return fmt.Errorf("decision saw profile type %q, want %q: %s", d.ProfileType, sc.seccomp, d.Raw)
	case !slices.Equal(d.Rules, []string{sc.rule}):
		return fmt.Errorf("decision applied rules %q, want [%s]: %s", d.Rules, sc.rule, d.Raw)
	case d.Exempt != sc.exempt || d.Changed != sc.changed:
		return fmt.Errorf("decision exempt=%v changed=%v, want exempt=%v changed=%v: %s", d.Exempt, d.Changed, sc.exempt, sc.changed, d.Raw)
	}

	var pid int
	sc.filter, pid, err = sysSeccompOf(ctx, sc.ct)
	if err != nil {
		return err
	}
	wantFilter := sc.key != sysNone
	if (sc.filter != nil) != wantFilter {
		return fmt.Errorf("OCI spec has seccomp=%v, want %v", sc.filter != nil, wantFilter)
	}
	if sc.filter != nil {
		if err := sysFilters(sc, pid); err != nil {
			return err
		}
	}
	wantMode, wantFilters := "0", "0"
	if wantFilter {
		wantMode, wantFilters = "2", "1"
	}
	// Also the warm-up: the first exec of the probe in each container.
	ls, err := sysExecLoop(ctx, sc.ct, sysCalls, 1000, 1)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.Errno != "" {
			return fmt.Errorf("%s refused with %s: it cannot be timed", l.Loop, l.Errno)
		}
		if l.KernelErrno != sysKernelErrno[l.Loop] {
			return fmt.Errorf("%s: the kernel answered %q, want %q", l.Loop, l.KernelErrno, sysKernelErrno[l.Loop])
		}
		if l.Seccomp != wantMode || l.SeccompFilters != wantFilters {
			return fmt.Errorf("the probe runs with Seccomp %q and %q filters, want %q and %q", l.Seccomp, l.SeccompFilters, wantMode, wantFilters)
		}
	}
	if sc.key == sysTightened {
		// The tightening is in force: mkdir, which RuntimeDefault allows,
		// is refused.
		res, err := sc.ct.Exec(ctx, harness.ProbePath, "mkdir", "/tmp/bench-mkdir")
		if err != nil {
			return err
		}
		r, err := harness.ParseProbe(res.Stdout)
		if err != nil {
			return err
		}
		if !r.Refused("EPERM") {
			return fmt.Errorf("mkdir under the tightened profile: %s, want EPERM", r)
		}
	}
	return nil
}

// sysFilters compiles the container's seccomp section as its runc does and
// reads back the filter the kernel holds for its process; libseccomp's
// program must be the loaded one's tail (runc only prepends its stub). A
// filter that cannot be read back, or a tail that differs, is reported in
// the notes and the BPF columns fall back to the compiled program: the
// timings do not depend on it.
func sysFilters(sc *sysContainer, pid int) error {
	var err error
	if sc.compiled, err = seccompbpf.CompileFor(sc.filter, sc.rt.build); err != nil {
		return fmt.Errorf("compile its seccomp section with libseccomp: %w", err)
	}
	raw, err := LoadedFilter(pid)
	if err != nil {
		sc.filterNote = fmt.Sprintf("%s, %s: the loaded filter could not be read back (%v); its BPF columns are libseccomp's program without runc's stub.", sc.rt.label, sc.label, err)
		return nil
	}
	loaded, err := seccompbpf.FromRaw(raw)
	if err != nil {
		sc.filterNote = fmt.Sprintf("%s, %s: the loaded filter cannot be run here (%v); its BPF columns are libseccomp's program without runc's stub.", sc.rt.label, sc.label, err)
		return nil
	}
	if n := len(sc.compiled.Raw); n > len(raw) || !slices.Equal(raw[len(raw)-n:], sc.compiled.Raw) {
		sc.filterNote = fmt.Sprintf("%s, %s: the loaded filter (%d instructions) does not end with libseccomp's program as this runc builds it (%d): the section's model of runc is wrong; the BPF columns show the loaded filter.",
			sc.rt.label, sc.label, len(raw), n)
	}
	sc.loaded = loaded
	return nil
}

// prog is the filter the BPF columns describe: the loaded one when it
// could be read back.
func (sc *sysContainer) prog() *seccompbpf.Program {
	if sc.loaded != nil {
		return sc.loaded
	}
	return sc.compiled
}

// sysSize describes the filter's size: loaded = runc's stub + libseccomp's.
func (sc *sysContainer) sysSize() string {
	if sc.loaded == nil {
		return fmt.Sprintf("%d (libseccomp only; not read back)", sc.compiled.Len())
	}
	if sc.filterNote != "" {
		return fmt.Sprintf("%d (libseccomp alone: %d)", sc.loaded.Len(), sc.compiled.Len())
	}
	return fmt.Sprintf("%d (%d + %d)", sc.loaded.Len(), sc.loaded.Len()-sc.compiled.Len(), sc.compiled.Len())
}

// sysSeccompOf returns the seccomp section of the OCI spec containerd
// created the container with (nil when it has none), and the host PID of
// its process.
func sysSeccompOf(ctx context.Context, ct *harness.Container) (*specs.LinuxSeccomp, int, error) {
	v, err := ct.Inspect(ctx)
	if err != nil {
		return nil, 0, err
	}
	var view struct {
		Info struct {
			Pid         int         `json:"pid"`
			RuntimeSpec *specs.Spec `json:"runtimeSpec"`
		} `json:"info"`
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, 0, err
	}
	if err := json.Unmarshal(b, &view); err != nil {
		return nil, 0, fmt.Errorf("crictl inspect: %w", err)
	}
	spec := view.Info.RuntimeSpec
	if spec == nil {
		return nil, 0, errors.New("crictl inspect shows no info.runtimeSpec")
	}
	if view.Info.Pid <= 0 {
		return nil, 0, errors.New("crictl inspect shows no info.pid")
	}
	if spec.Linux == nil {
		return nil, view.Info.Pid, nil
	}
	return spec.Linux.Seccomp, view.Info.Pid, nil
}

// sysExecLoop runs `syscall-probe loop call,call,... iters repeats` in the
// container: one line per call, in order.
func sysExecLoop(ctx context.Context, ct *harness.Container, calls []string, iters, repeats int) ([]sysLoop, error) {
	args := []string{strings.Join(calls, ","), strconv.Itoa(iters), strconv.Itoa(repeats)}
	res, err := ct.Exec(ctx, append([]string{harness.ProbePath, "loop"}, args...)...)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("syscall-probe loop %s exited %d (output %q)", strings.Join(args, " "), res.ExitCode, res.Stdout)
	}
	return sysParseLoops(res.Stdout, calls)
}

// sysParseLoops reads the probe's lines, one per call in calls.
func sysParseLoops(out string, calls []string) ([]sysLoop, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(calls) {
		return nil, fmt.Errorf("syscall-probe loop %s: %d lines, want %d: %q", strings.Join(calls, ","), len(lines), len(calls), out)
	}
	var ls []sysLoop
	for i, line := range lines {
		var l sysLoop
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("syscall-probe loop %s: line %q: %w", calls[i], line, err)
		}
		switch {
		case l.Error != "":
			return nil, fmt.Errorf("syscall-probe loop %s: %s", calls[i], l.Error)
		case l.Loop != calls[i]:
			return nil, fmt.Errorf("syscall-probe loop: line %d answered for %q, want %q", i+1, l.Loop, calls[i])
		case l.Errno == "" && (len(l.NsPerOp) == 0 || !(l.MinNs > 0)):
			return nil, fmt.Errorf("syscall-probe loop %s: no timing in %q", calls[i], line)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// sysRatios computes medians of per-round ratios between containers.
type sysRatios map[string]map[string][]float64

// ratio is the median over rounds of a's time over b's in the same round:
// pairing by round cancels what drifts between rounds.
func (s sysRatios) ratio(a, b, call string) float64 {
	xs, ys := s[a][call], s[b][call]
	rs := make([]float64, min(len(xs), len(ys)))
	for i := range rs {
		rs[i] = xs[i] / ys[i]
	}
	return MedianFloat(rs)
}

func sysID(rt *sysRuntime, key sysConfigKey) string { return rt.key + "/" + string(key) }

func sysReport(env *Env, cts []*sysContainer, samples map[string]map[string][]float64, rounds, iters, repeats int) (*Result, error) {
	s := sysRatios(samples)
	var rts []*sysRuntime
	for _, sc := range cts {
		if !slices.Contains(rts, sc.rt) {
			rts = append(rts, sc.rt)
		}
	}
	res := &Result{}
	cfgTable := Table{
		Caption: "The configurations: one long-running container each, under each runc, each runc in its own containerd with nri-seccomp connected (policy test/bench/testdata/syscalls-policy.yaml). BPF columns: the filter the kernel holds for the container, read back with PTRACE_SECCOMP_GET_FILTER.",
		Header: []string{"configuration", "runc", "decision (checked)", "BPF instructions loaded (runc's stub + libseccomp)",
			"BPF run per getpid (without the cache)", "getpid in kernel's action cache", "BPF run per personality", "BPF run per socket", "BPF run per clone"},
	}
	steps := map[string]map[string]int{}
	for _, sc := range cts {
		decision := "exempt, unchanged"
		if sc.changed {
			decision = "rule " + sc.rule + ", changed"
		}
		row := []any{sc.label, sc.rt.label, decision}
		if sc.compiled == nil {
			row = append(row, "—", "—", "— (no filter)", "—", "—", "—")
			cfgTable.AddRow(row...)
			continue
		}
		row = append(row, sc.sysSize())
		steps[sc.id()] = map[string]int{}
		for _, call := range sysCalls {
			t, err := sysTrace(sc.prog(), call)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", sc.rt.label, sc.label, err)
			}
			steps[sc.id()][call] = t.steps
			row = append(row, t.steps)
			if call == "getpid" {
				row = append(row, map[bool]string{true: "yes (filter skipped)", false: "no (filter runs)"}[t.cacheable])
			}
		}
		cfgTable.AddRow(row...)
	}
	res.Tables = append(res.Tables, cfgTable)

	captions := map[string]string{
		"getpid":      "getpid: allowed without conditions, so the kernel's seccomp action cache answers it without running the filter.",
		"personality": "personality(0xffffffff) (a query): RuntimeDefault allows personality for five argument values, so the filter runs on every call.",
		"socket":      "socket(AF_UNIX, an invalid type): RuntimeDefault allows socket for most address families (not AF_VSOCK), checked by argument; the kernel then refuses the type at once (EINVAL).",
		"clone":       "clone(CLONE_THREAD): RuntimeDefault allows clone without namespace flags (a masked comparison); the kernel then refuses the flags at once (EINVAL).",
	}
	for _, call := range sysCalls {
		t := Table{Caption: captions[call], Header: []string{"configuration"}}
		for _, rt := range rts {
			t.Header = append(t.Header, rt.label+" ns/op (p25–p75)", "vs no filter", "vs RuntimeDefault")
		}
		if len(rts) == 2 {
			t.Header = append(t.Header, rts[1].label+" vs "+rts[0].label)
		}
		for _, cfg := range sysConfigs {
			row := []any{cfg.label}
			for _, rt := range rts {
				id := sysID(rt, cfg.key)
				xs := samples[id][call]
				vsNone, vsRD := "1.00x", "—"
				if cfg.key != sysNone {
					vsNone = fmt.Sprintf("%.2fx", s.ratio(id, sysID(rt, sysNone), call))
				}
				if cfg.key != sysRD && cfg.key != sysNone {
					vsRD = fmt.Sprintf("%.2fx", s.ratio(id, sysID(rt, sysRD), call))
				}
				row = append(row, fmt.Sprintf("%.1f (%.1f–%.1f)", MedianFloat(xs), sysQuantile(xs, 0.25), sysQuantile(xs, 0.75)), vsNone, vsRD)
			}
			if len(rts) == 2 {
				row = append(row, fmt.Sprintf("%.2fx", s.ratio(sysID(rts[1], cfg.key), sysID(rts[0], cfg.key), call)))
			}
			t.AddRow(row...)
		}
		res.Tables = append(res.Tables, t)
	}

	// Targets, under every runc.
	var slower, cachedParts []string
	slowerMet, cachedMet := true, true
	for _, rt := range rts {
		var parts, cparts []string
		for _, cfg := range sysConfigs {
			if !cfg.nri {
				continue
			}
			id := sysID(rt, cfg.key)
			var rs []string
			for _, call := range sysCalls {
				r := s.ratio(id, sysID(rt, sysRD), call)
				rs = append(rs, fmt.Sprintf("%.2fx", r))
				slowerMet = slowerMet && r <= sysSlowerTolerance
			}
			parts = append(parts, sysShort(cfg.key)+" "+strings.Join(rs, "/"))
			n := s.ratio(id, sysID(rt, sysNone), "getpid")
			cparts = append(cparts, fmt.Sprintf("%s %.2fx", sysShort(cfg.key), n))
			cachedMet = cachedMet && n <= sysCachedTarget
		}
		var aa []string
		for _, call := range sysCalls {
			aa = append(aa, fmt.Sprintf("%.2fx", s.ratio(sysID(rt, sysRD2), sysID(rt, sysRD), call)))
		}
		slower = append(slower, fmt.Sprintf("%s: %s (A/A control, RuntimeDefault vs itself: %s)", rt.label, strings.Join(parts, ", "), strings.Join(aa, "/")))
		cachedParts = append(cachedParts, fmt.Sprintf("%s: %s (containerd's RuntimeDefault: %.2fx)", rt.label, strings.Join(cparts, ", "),
			s.ratio(sysID(rt, sysRD), sysID(rt, sysNone), "getpid")))
	}
	res.Targets = []Target{
		{
			Goal: fmt.Sprintf("nri-seccomp's profiles no slower than containerd's RuntimeDefault under runc 1.1.5 and 1.2.8: median per-round ratio ≤ %.2fx for every call timed (%.0f%% allowed for noise between containers)",
				sysSlowerTolerance, (sysSlowerTolerance-1)*100),
			Measured: strings.Join(sysCalls, "/") + ": " + strings.Join(slower, "; "),
			Met:      slowerMet,
		},
		{
			Goal:     fmt.Sprintf("getpid (allowed from the kernel's seccomp cache) within %.1fx of no filter under every nri-seccomp profile, under both runcs", sysCachedTarget),
			Measured: strings.Join(cachedParts, "; "),
			Met:      cachedMet,
		},
	}

	res.Summary = sysSummary(rts, samples, s, steps)
	res.Notes = []string{
		fmt.Sprintf("Method: syscall-probe loop (test/e2e/probe) runs each raw system call (RawSyscall, one locked OS thread, no libc or Go wrapper that could cache) %d times in a row, %d times over, and the best of those %d repetitions is the exec's ns/op: repetitions of well under a millisecond, so that on a busy machine the best of them ran without being preempted (the cost of the call itself, not of sharing the CPU). It runs through CRI exec (crictl exec --sync → runc exec), so it runs under exactly the container's filter: the probe reports Seccomp mode 2 with 1 filter (0 and 0 for no filter) from /proc/self/status, and the section fails otherwise.", iters, repeats, repeats),
		fmt.Sprintf("Interleaving: %d rounds; in each round every container, under both runcs, runs all four calls in one exec, starting from a different container each round and reversing the order of the calls every other round. The tables give the median and the interquartile range over rounds; ratios are the median of the per-round ratios (both sides timed in the same round), so the machine's drift between rounds cancels.", rounds),
		"Checked before timing, for every container: the plugin's decision log (the rule applied, exempt or changed, and the profile type containerd reported), the seccomp section in the OCI spec containerd created (crictl inspect: none only for the no-filter container), that every call is allowed (socket and clone then get the kernel's EINVAL, not the filter's EPERM), and the filter the kernel holds (below). The tightened container must also refuse mkdir with EPERM.",
		"BPF columns: the filter the kernel holds for the container's process, read back with ptrace(PTRACE_SECCOMP_GET_FILTER), run for the x86_64 call with the probe's arguments; \"BPF run\" counts the instructions executed until the filter returns. Each loaded filter is compared with runc's -ENOSYS stub followed by exactly the program libseccomp 2.5.4 compiles from the container's seccomp section the way that runc builds it (internal/seccompbpf CompileFor); a note below names any that differs or could not be read back. runc 1.2 turns each syscall name into an entry of its own (libcontainer/specconv) and sets libseccomp's optimize level 2, a binary tree over syscall numbers, above 32 entries (libcontainer/seccomp/seccomp_linux.go), so RuntimeDefault (about 370 names) gets the tree; runc 1.1 never sets it, so libseccomp tests syscall numbers one after another. The kernel's action cache (since 5.11) skips the filter for a call whose verdict on the native architecture is a constant ALLOW, reached without looking at arguments or the instruction pointer; the column applies that rule to the loaded filter. So the getpid count is what the filter would cost without the cache.",
		sysSameFilter(cts),
		fmt.Sprintf("Tolerance: \"no slower\" allows %.0f%% for noise, stated in advance; the A/A control (two containers with the identical containerd RuntimeDefault filter, timed in the same rounds) shows how much this run needed.", (sysSlowerTolerance-1)*100),
		"x86_64 only: runc's -ENOSYS stub and libseccomp check the architecture before anything else, so one architecture instead of three shortens the program; for x86_64 calls the answers are RuntimeDefault's. A 32-bit (i386) call, which RuntimeDefault answers by its x86 rules, is killed instead (libseccomp's bad-architecture action), and an x32 call too; this kernel has no x32 ABI, and i386 calls need IA-32 emulation. nri-seccomp writes such a profile when a policy's profile lists only x86_64 (here one made from runtime-default); it never drops architectures on its own.",
	}
	for _, sc := range cts {
		if sc.filterNote != "" {
			res.Notes = append(res.Notes, sc.filterNote)
		}
	}
	if !slowerMet {
		res.Notes = append(res.Notes, sysWhySlower(cts, s)...)
	}
	if !cachedMet {
		res.Notes = append(res.Notes, "The cached-call target is missed because of the fixed cost of having any filter: containerd's RuntimeDefault measures the same. On a machine where a bare getpid is cheap, those few tens of ns alone exceed 30%.")
	}
	if env.Smoke {
		res.Notes = append(res.Notes, fmt.Sprintf("Smoke run: %d rounds of short loops; the numbers mean nothing.", rounds))
	}
	return res, nil
}

// sysSummary states the distance to no filter under each runc for the
// argument-checked calls, and which of nri-seccomp's profiles is cheaper
// than RuntimeDefault.
func sysSummary(rts []*sysRuntime, samples map[string]map[string][]float64, s sysRatios, steps map[string]map[string]int) string {
	med := func(rt *sysRuntime, key sysConfigKey, call string) float64 {
		return MedianFloat(samples[sysID(rt, key)][call])
	}
	var b strings.Builder
	for i := len(rts) - 1; i >= 0; i-- { // runc 1.2 first: what containerd 2.x nodes run
		rt := rts[i]
		var parts []string
		for _, call := range sysCalls {
			parts = append(parts, fmt.Sprintf("%s %.0f → %.0f ns (%+.0f ns, %.2fx; BPF %d instructions run)", call,
				med(rt, sysNone, call), med(rt, sysRD, call), med(rt, sysRD, call)-med(rt, sysNone, call),
				s.ratio(sysID(rt, sysRD), sysID(rt, sysNone), call), steps[sysID(rt, sysRD)][call]))
		}
		fmt.Fprintf(&b, "Under %s, from no filter to containerd's RuntimeDefault: %s. ", rt.label, strings.Join(parts, "; "))
	}
	if len(rts) == 2 {
		var parts []string
		for _, call := range sysCalls[1:] {
			parts = append(parts, fmt.Sprintf("%s %.2fx", call, s.ratio(sysID(rts[1], sysRD), sysID(rts[0], sysRD), call)))
		}
		fmt.Fprintf(&b, "RuntimeDefault's argument-checked calls under %s vs %s: %s (the binary tree). ", rts[1].label, rts[0].label, strings.Join(parts, ", "))
	}
	rt := rts[len(rts)-1]
	var cheaper []string
	for _, key := range []sysConfigKey{sysRD64, sysHardened} {
		var rs []string
		for _, call := range sysCalls[1:] {
			rs = append(rs, fmt.Sprintf("%s %.2fx (%d vs %d instructions run)", call, s.ratio(sysID(rt, key), sysID(rt, sysRD), call),
				steps[sysID(rt, key)][call], steps[sysID(rt, sysRD)][call]))
		}
		cheaper = append(cheaper, sysShort(key)+": "+strings.Join(rs, ", "))
	}
	fmt.Fprintf(&b, "Cheaper than RuntimeDefault? Under %s, against RuntimeDefault in the same rounds: %s.", rt.label, strings.Join(cheaper, "; "))
	return b.String()
}

// sysSameFilter says whether nri-seccomp's runtime-default loaded the same
// BPF program as containerd's RuntimeDefault, under each runc.
func sysSameFilter(cts []*sysContainer) string {
	var parts []string
	for _, rd := range cts {
		if rd.key != sysRD || rd.compiled == nil {
			continue
		}
		for _, inj := range cts {
			if inj.key != sysInjectRD || inj.rt != rd.rt || inj.compiled == nil {
				continue
			}
			if slices.Equal(rd.prog().Raw, inj.prog().Raw) {
				parts = append(parts, fmt.Sprintf("under %s the kernel holds exactly the same program for both (%d instructions)", rd.rt.label, rd.prog().Len()))
			} else {
				parts = append(parts, fmt.Sprintf("under %s the programs differ (%d vs %d instructions)", rd.rt.label, inj.prog().Len(), rd.prog().Len()))
			}
		}
	}
	if len(parts) == 0 {
		return "nri-seccomp's runtime-default and containerd's RuntimeDefault: the loaded filters were not both read."
	}
	return "nri-seccomp's runtime-default against containerd's RuntimeDefault: " + strings.Join(parts, "; ") + "; where identical, any difference between those two rows is noise."
}

// sysWhySlower explains each nri-seccomp profile that measured slower than
// RuntimeDefault beyond the tolerance, from what its filter does for the call.
func sysWhySlower(cts []*sysContainer, s sysRatios) []string {
	var out []string
	for _, sc := range cts {
		if !sc.nri {
			continue
		}
		rd := sysID(sc.rt, sysRD)
		var rdLoaded *seccompbpf.Program
		for _, c := range cts {
			if c.id() == rd {
				rdLoaded = c.compiled
				if c.loaded != nil {
					rdLoaded = c.loaded
				}
			}
		}
		for _, call := range sysCalls {
			r := s.ratio(sc.id(), rd, call)
			if r <= sysSlowerTolerance {
				continue
			}
			if sc.compiled == nil || rdLoaded == nil {
				out = append(out, fmt.Sprintf("Missed: %s, %s, %s measured %.2fx RuntimeDefault; the filters were not read, so they could not be compared.", sc.rt.label, sysShort(sc.key), call, r))
				continue
			}
			mine, err1 := sysTrace(sc.prog(), call)
			theirs, err2 := sysTrace(rdLoaded, call)
			if err := errors.Join(err1, err2); err != nil {
				out = append(out, fmt.Sprintf("%s, %s, %s: %.2fx RuntimeDefault; the filters could not be compared: %v", sc.rt.label, sysShort(sc.key), call, r, err))
				continue
			}
			why := fmt.Sprintf("its filter does no more work for this call (%d BPF instructions run vs RuntimeDefault's %d%s), so the difference is noise beyond the allowance: compare the A/A control",
				mine.steps, theirs.steps, map[bool]string{true: ", both answered from the action cache"}[mine.cacheable && theirs.cacheable])
			switch {
			case mine.cacheable != theirs.cacheable:
				why = fmt.Sprintf("the kernel's action cache answers it under one filter and not the other (cached: this profile %v, RuntimeDefault %v)", mine.cacheable, theirs.cacheable)
			case mine.steps > theirs.steps && !mine.cacheable:
				why = fmt.Sprintf("its filter reaches the call later: %d BPF instructions run vs RuntimeDefault's %d", mine.steps, theirs.steps)
			}
			out = append(out, fmt.Sprintf("Missed: %s, %s, %s measured %.2fx RuntimeDefault; %s.", sc.rt.label, sysShort(sc.key), call, r, why))
		}
	}
	return out
}

// sysShort is a configuration's short name for the target lines.
func sysShort(key sysConfigKey) string {
	switch key {
	case sysInjectRD:
		return "runtime-default"
	case sysRD64:
		return "runtime-default x86_64 only"
	case sysTightened:
		return "tightened RuntimeDefault"
	}
	return string(key)
}

// sysQuantile is the q-quantile (0..1) of xs by nearest rank.
func sysQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// sysTraceResult is what running a filter for one call showed.
type sysTraceResult struct {
	steps int
	// cacheable: the kernel's seccomp action cache can answer the call
	// without running the filter (ALLOW, reached without loading anything
	// but the syscall number and architecture).
	cacheable bool
}

// sysTrace runs prog for the x86_64 call as the probe makes it, counting
// the instructions executed. It checks its answer against
// golang.org/x/net/bpf's VM (seccompbpf.Program.Run) and that the call is
// allowed.
func sysTrace(prog *seccompbpf.Program, call string) (sysTraceResult, error) {
	nr, ok := seccompbpf.Number(specs.ArchX86_64, call)
	if !ok {
		return sysTraceResult{}, fmt.Errorf("libseccomp does not know %s", call)
	}
	args := sysCallArgs[call]
	// struct seccomp_data as the kernel fills it: nr, arch, ip, args, each
	// 32-bit word in host order (x86_64: little-endian).
	var data [16]uint32
	data[0], data[1] = uint32(nr), 0xc000003e
	for i, a := range args {
		data[4+2*i], data[5+2*i] = uint32(a), uint32(a>>32)
	}
	ret, steps, onlyNrArch, err := sysRunBPF(prog.Raw, data)
	if err != nil {
		return sysTraceResult{}, fmt.Errorf("%s: %w", call, err)
	}
	want, err := prog.Run(specs.ArchX86_64, nr, args)
	if err != nil {
		return sysTraceResult{}, fmt.Errorf("%s: bpf VM: %w", call, err)
	}
	if ret != want {
		return sysTraceResult{}, fmt.Errorf("%s: step counter returned %#x, the bpf VM %#x", call, ret, want)
	}
	if ret&seccompbpf.RetActionFull != seccompbpf.RetAllow {
		return sysTraceResult{}, fmt.Errorf("%s: the compiled filter returns %#x, not ALLOW", call, ret)
	}
	return sysTraceResult{steps: steps, cacheable: onlyNrArch}, nil
}

// sysRunBPF interprets a classic BPF seccomp program on data, returning the
// value it returns, how many instructions ran, and whether the path taken is
// one the kernel's action-cache emulation (seccomp_is_const_allow) can
// follow: loads of the syscall number and architecture only, AND with a
// constant, jumps on constants and a constant return. It knows the
// instructions the kernel's seccomp checker accepts.
func sysRunBPF(prog []bpf.RawInstruction, data [16]uint32) (ret uint32, steps int, onlyNrArch bool, err error) {
	var a, x uint32
	var mem [16]uint32
	onlyNrArch = true
	load := func(k uint32) (uint32, error) {
		if k%4 != 0 || k/4 >= uint32(len(data)) {
			return 0, fmt.Errorf("load at offset %d", k)
		}
		return data[k/4], nil
	}
	for pc := 0; pc < len(prog); pc++ {
		steps++
		in := prog[pc]
		k := in.K
		src := k
		if in.Op&0x08 != 0 {
			src = x
		}
		switch {
		case in.Op == 0x20 && k <= 4: // LD W ABS of nr or arch
		case in.Op == 0x54: // ALU AND K
		case in.Op&0x07 == 0x05 && in.Op&0x08 == 0: // JMP with K
		case in.Op == 0x06: // RET K
		default:
			onlyNrArch = false
		}
		switch in.Op & 0x07 {
		case 0x00: // BPF_LD
			switch in.Op &^ 0x07 {
			case 0x20: // W|ABS
				if a, err = load(k); err != nil {
					return 0, steps, false, err
				}
			case 0x00: // W|IMM
				a = k
			case 0x60: // W|MEM
				a = mem[k%16]
			case 0x80: // W|LEN
				a = uint32(4 * len(data))
			default:
				return 0, steps, false, fmt.Errorf("unknown load %#x at %d", in.Op, pc)
			}
		case 0x01: // BPF_LDX
			switch in.Op &^ 0x07 {
			case 0x00:
				x = k
			case 0x60:
				x = mem[k%16]
			case 0x80:
				x = uint32(4 * len(data))
			default:
				return 0, steps, false, fmt.Errorf("unknown ldx %#x at %d", in.Op, pc)
			}
		case 0x02: // BPF_ST
			mem[k%16] = a
		case 0x03: // BPF_STX
			mem[k%16] = x
		case 0x04: // BPF_ALU
			switch in.Op & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x20:
				a *= src
			case 0x30:
				if src == 0 {
					return 0, steps, onlyNrArch, nil
				}
				a /= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src
			case 0x70:
				a >>= src
			case 0x80:
				a = -a
			case 0x90:
				if src == 0 {
					return 0, steps, onlyNrArch, nil
				}
				a %= src
			case 0xa0:
				a ^= src
			default:
				return 0, steps, false, fmt.Errorf("unknown alu %#x at %d", in.Op, pc)
			}
		case 0x05: // BPF_JMP
			var cond bool
			switch in.Op & 0xf0 {
			case 0x00: // JA
				pc += int(k)
				continue
			case 0x10:
				cond = a == src
			case 0x20:
				cond = a > src
			case 0x30:
				cond = a >= src
			case 0x40:
				cond = a&src != 0
			default:
				return 0, steps, false, fmt.Errorf("unknown jump %#x at %d", in.Op, pc)
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x06: // BPF_RET
			switch in.Op & 0x18 {
			case 0x10: // RET A
				return a, steps, onlyNrArch, nil
			case 0x08: // RET X
				return x, steps, onlyNrArch, nil
			}
			return k, steps, onlyNrArch, nil
		case 0x07: // BPF_MISC
			if in.Op&0xf8 == 0x80 {
				a = x // TXA
			} else {
				x = a // TAX
			}
		}
	}
	return 0, steps, false, errors.New("ran off the end of the program")
}
