package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func init() {
	register(Section{N: 4, Title: "Syscall cost inside a container", NeedsRoot: true, Run: runSyscalls})
}

// The two calls timed, as syscall-probe's loop names them. getpid is allowed
// unconditionally by every profile here, so the kernel's seccomp action cache
// answers it without running the filter; personality(0xffffffff) is allowed
// by RuntimeDefault only for five argument values, so every call runs the
// filter down to the argument comparison.
var sysCalls = []string{"getpid", "personality"}

// sysConfigKey names a seccomp configuration.
type sysConfigKey string

const (
	sysNone      sysConfigKey = "none"
	sysRD        sysConfigKey = "rd"
	sysRD2       sysConfigKey = "rd2"
	sysInjectRD  sysConfigKey = "inject-rd"
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
	{key: sysHardened, label: "hardened (nri-seccomp)", what: "Unconfined container, nri-seccomp injects hardened",
		namespace: "bench-hardened", seccomp: harness.SeccompUnconfined, rule: "bench-inject-hardened", changed: true, nri: true},
	{key: sysTightened, label: "tightened RuntimeDefault (nri-seccomp)", what: "RuntimeDefault container, nri-seccomp tightens it with a deny list (mkdir and the shipped floor)",
		namespace: "bench-tighten", seccomp: harness.SeccompRuntimeDefault, rule: "bench-tighten-runtime-default", changed: true, nri: true},
}

// sysSlowerTolerance is how much slower than RuntimeDefault an nri-seccomp
// profile may measure and still count as "no slower": the allowance for
// noise between two containers timed in the same rounds. The A/A control
// shows how much of it this run needed.
const sysSlowerTolerance = 1.05

// sysCachedTarget is the bound for calls the seccomp cache allows.
const sysCachedTarget = 1.3

// sysLoop is the JSON line `syscall-probe loop` prints.
type sysLoop struct {
	Loop           string    `json:"loop"`
	Ret            int64     `json:"ret"`
	Errno          string    `json:"errno"`
	Iterations     int       `json:"iterations"`
	NsPerOp        []float64 `json:"ns_per_op"`
	MinNs          float64   `json:"min_ns"`
	Seccomp        string    `json:"seccomp"`
	SeccompFilters string    `json:"seccomp_filters"`
	Error          string    `json:"error"`
}

// sysContainer is a running configuration.
type sysContainer struct {
	sysConfig
	ct *harness.Container
	// filter is the seccomp section containerd handed runc (nil: none).
	filter *specs.LinuxSeccomp
	// prog is that section compiled as runc compiles it.
	prog *seccompbpf.Program
}

func runSyscalls(ctx context.Context, env *Env) (*Result, error) {
	// Many short repetitions, of which the best counts: a repetition of
	// under a millisecond often runs without the CPU being taken away, even
	// on a busy machine, where long ones rarely do.
	rounds := env.Count(20, 2)
	iters := env.Count(2000, 1000)
	repeats := env.Count(250, 10)

	imgs, err := env.Images(ctx)
	if err != nil {
		return nil, fmt.Errorf("build images: %w", err)
	}
	c, err := harness.StartContainerd(ctx, harness.ContainerdOptions{Images: imgs})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := c.Stop(context.Background()); err != nil {
			logf("   teardown: %v", err)
		}
	}()
	policyPath := filepath.Join(env.Root, "test", "bench", "testdata", "syscalls-policy.yaml")
	plugin, err := c.StartPlugin(ctx, env.Bin, policyPath)
	if err != nil {
		return nil, err
	}

	cts, err := sysStart(ctx, c, plugin)
	if err != nil {
		return nil, err
	}
	logf("   %d containers running and checked; %d rounds of %d×%d calls each", len(cts), rounds, repeats, iters)

	// samples[config][call][round]: the best of the repeats of one exec.
	samples := map[sysConfigKey]map[string][]float64{}
	for _, sc := range cts {
		samples[sc.key] = map[string][]float64{}
	}
	args := []string{strconv.Itoa(iters), strconv.Itoa(repeats)}
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Each round starts at another configuration and alternates the
		// order of the calls, so no configuration always runs first or last.
		for i := range cts {
			sc := cts[(r+i)%len(cts)]
			calls := slices.Clone(sysCalls)
			if r%2 == 1 {
				slices.Reverse(calls)
			}
			for _, call := range calls {
				l, err := sysExecLoop(ctx, sc.ct, append([]string{call}, args...)...)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", sc.label, err)
				}
				if l.Errno != "" {
					return nil, fmt.Errorf("%s: %s refused with %s during the rounds", sc.label, call, l.Errno)
				}
				samples[sc.key][call] = append(samples[sc.key][call], l.MinNs)
			}
		}
		var parts []string
		for _, sc := range cts {
			parts = append(parts, fmt.Sprintf("%s %.0f/%.0f", sc.key, samples[sc.key]["getpid"][r], samples[sc.key]["personality"][r]))
		}
		logf("   round %d/%d (ns/op getpid/personality): %s", r+1, rounds, strings.Join(parts, ", "))
	}
	return sysReport(env, cts, samples, rounds, iters, repeats)
}

// sysStart runs one container per configuration and checks, before anything
// is timed, that each got the seccomp it is meant to measure: the plugin's
// decision, the seccomp section in the OCI spec, the kernel's view of the
// process, and that both timed calls are allowed.
func sysStart(ctx context.Context, c *harness.Containerd, plugin *harness.Plugin) ([]*sysContainer, error) {
	pods := map[string]*harness.Pod{}
	var out []*sysContainer
	for _, cfg := range sysConfigs {
		pod := pods[cfg.namespace]
		if pod == nil {
			p, err := c.RunPod(ctx, harness.PodSpec{Name: "bench", Namespace: cfg.namespace})
			if err != nil {
				return nil, err
			}
			pods[cfg.namespace], pod = p, p
		}
		ct, err := pod.RunContainer(ctx, harness.ContainerSpec{Name: string(cfg.key), Seccomp: cfg.seccomp})
		if err != nil {
			return nil, err
		}
		sc := &sysContainer{sysConfig: cfg, ct: ct}
		if err := sysCheck(ctx, plugin, sc); err != nil {
			return nil, fmt.Errorf("%s is not what it should measure: %w", cfg.label, err)
		}
		out = append(out, sc)
	}
	return out, nil
}

func sysCheck(ctx context.Context, plugin *harness.Plugin, sc *sysContainer) error {
	d, err := plugin.DecisionFor(sc.namespace, "bench", string(sc.key))
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

	sc.filter, err = sysSeccompOf(ctx, sc.ct)
	if err != nil {
		return err
	}
	wantFilter := sc.key != sysNone
	if (sc.filter != nil) != wantFilter {
		return fmt.Errorf("OCI spec has seccomp=%v, want %v", sc.filter != nil, wantFilter)
	}
	if sc.filter != nil {
		if sc.prog, err = seccompbpf.Compile(sc.filter); err != nil {
			return fmt.Errorf("compile its seccomp section with libseccomp: %w", err)
		}
	}
	wantMode, wantFilters := "0", "0"
	if wantFilter {
		wantMode, wantFilters = "2", "1"
	}
	for _, call := range sysCalls {
		// Also the warm-up: the first exec of the probe in each container.
		l, err := sysExecLoop(ctx, sc.ct, call, "1000", "1")
		if err != nil {
			return err
		}
		if l.Errno != "" {
			return fmt.Errorf("%s refused with %s: it cannot be timed", call, l.Errno)
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

// sysSeccompOf returns the seccomp section of the OCI spec containerd
// created the container with, nil when it has none.
func sysSeccompOf(ctx context.Context, ct *harness.Container) (*specs.LinuxSeccomp, error) {
	v, err := ct.Inspect(ctx)
	if err != nil {
		return nil, err
	}
	var view struct {
		Info struct {
			RuntimeSpec *specs.Spec `json:"runtimeSpec"`
		} `json:"info"`
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &view); err != nil {
		return nil, fmt.Errorf("crictl inspect: %w", err)
	}
	spec := view.Info.RuntimeSpec
	if spec == nil {
		return nil, errors.New("crictl inspect shows no info.runtimeSpec")
	}
	if spec.Linux == nil {
		return nil, nil
	}
	return spec.Linux.Seccomp, nil
}

// sysExecLoop runs `syscall-probe loop args...` in the container.
func sysExecLoop(ctx context.Context, ct *harness.Container, args ...string) (sysLoop, error) {
	res, err := ct.Exec(ctx, append([]string{harness.ProbePath, "loop"}, args...)...)
	if err != nil {
		return sysLoop{}, err
	}
	if res.ExitCode != 0 {
		return sysLoop{}, fmt.Errorf("syscall-probe loop %s exited %d (output %q)", strings.Join(args, " "), res.ExitCode, res.Stdout)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	var l sysLoop
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil {
		return sysLoop{}, fmt.Errorf("syscall-probe loop %s: output %q: %w", strings.Join(args, " "), res.Stdout, err)
	}
	switch {
	case l.Error != "":
		return sysLoop{}, fmt.Errorf("syscall-probe loop %s: %s", strings.Join(args, " "), l.Error)
	case l.Loop != args[0]:
		return sysLoop{}, fmt.Errorf("syscall-probe loop %s answered for %q", strings.Join(args, " "), l.Loop)
	case l.Errno == "" && (len(l.NsPerOp) == 0 || !(l.MinNs > 0)):
		return sysLoop{}, fmt.Errorf("syscall-probe loop %s: no timing in %q", strings.Join(args, " "), res.Stdout)
	}
	return l, nil
}

func sysReport(env *Env, cts []*sysContainer, samples map[sysConfigKey]map[string][]float64, rounds, iters, repeats int) (*Result, error) {
	// ratio is the median over rounds of a's time over b's in the same
	// round: pairing by round cancels what drifts between rounds.
	ratio := func(a, b sysConfigKey, call string) float64 {
		xs, ys := samples[a][call], samples[b][call]
		rs := make([]float64, len(xs))
		for i := range xs {
			rs[i] = xs[i] / ys[i]
		}
		return MedianFloat(rs)
	}
	res := &Result{}
	cfgTable := Table{
		Caption: "The configurations: one long-running container each, all in one containerd with nri-seccomp connected (policy test/bench/testdata/syscalls-policy.yaml).",
		Header:  []string{"configuration", "how", "decision (checked)", "BPF instructions", "BPF run per getpid (without the cache)", "getpid in kernel's action cache", "BPF run per personality(0xffffffff)"},
	}
	for _, sc := range cts {
		decision := "exempt, unchanged"
		if sc.changed {
			decision = "rule " + sc.rule + ", changed"
		}
		size, getpidSteps, cached, persSteps := "—", "—", "— (no filter)", "—"
		if sc.prog != nil {
			g, err := sysTrace(sc.prog, "getpid")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.label, err)
			}
			p, err := sysTrace(sc.prog, "personality")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.label, err)
			}
			size, getpidSteps, persSteps = strconv.Itoa(sc.prog.Len()), strconv.Itoa(g.steps), strconv.Itoa(p.steps)
			cached = "no (filter runs)"
			if g.cacheable {
				cached = "yes (filter skipped)"
			}
		}
		cfgTable.AddRow(sc.label, sc.what, decision, size, getpidSteps, cached, persSteps)
	}
	res.Tables = append(res.Tables, cfgTable)

	for _, call := range sysCalls {
		t := Table{
			Caption: map[string]string{
				"getpid":      "getpid: allowed without conditions, so the kernel's seccomp action cache answers it without running the filter.",
				"personality": "personality(0xffffffff) (a query): RuntimeDefault allows personality for five argument values, so the filter runs on every call.",
			}[call],
			Header: []string{"configuration", "ns/op (median)", "spread (p25–p75)", "vs no filter", "vs RuntimeDefault"},
		}
		for _, sc := range cts {
			xs := samples[sc.key][call]
			vsNone, vsRD := "1.00x", "—"
			if sc.key != sysNone {
				vsNone = fmt.Sprintf("%.2fx", ratio(sc.key, sysNone, call))
			}
			if sc.key != sysRD && sc.key != sysNone {
				vsRD = fmt.Sprintf("%.2fx", ratio(sc.key, sysRD, call))
			}
			t.AddRow(sc.label, fmt.Sprintf("%.1f", MedianFloat(xs)),
				fmt.Sprintf("%.1f–%.1f", sysQuantile(xs, 0.25), sysQuantile(xs, 0.75)), vsNone, vsRD)
		}
		res.Tables = append(res.Tables, t)
	}

	// Targets.
	var slower, cachedParts []string
	slowerMet, cachedMet := true, true
	for _, sc := range cts {
		if !sc.nri {
			continue
		}
		g, p := ratio(sc.key, sysRD, "getpid"), ratio(sc.key, sysRD, "personality")
		slower = append(slower, fmt.Sprintf("%s %.2fx / %.2fx", sysShort(sc), g, p))
		slowerMet = slowerMet && g <= sysSlowerTolerance && p <= sysSlowerTolerance
		n := ratio(sc.key, sysNone, "getpid")
		cachedParts = append(cachedParts, fmt.Sprintf("%s %.2fx", sysShort(sc), n))
		cachedMet = cachedMet && n <= sysCachedTarget
	}
	aaG, aaP := ratio(sysRD2, sysRD, "getpid"), ratio(sysRD2, sysRD, "personality")
	res.Targets = []Target{
		{
			Goal: fmt.Sprintf("nri-seccomp's profiles no slower than containerd's RuntimeDefault: median per-round ratio ≤ %.2fx for getpid and personality (%.0f%% allowed for noise between containers)",
				sysSlowerTolerance, (sysSlowerTolerance-1)*100),
			Measured: fmt.Sprintf("getpid / personality: %s (A/A control, RuntimeDefault vs itself: %.2fx / %.2fx)", strings.Join(slower, ", "), aaG, aaP),
			Met:      slowerMet,
		},
		{
			Goal:     fmt.Sprintf("getpid (allowed from the kernel's seccomp cache) within %.1fx of no filter under every nri-seccomp profile", sysCachedTarget),
			Measured: strings.Join(cachedParts, ", ") + fmt.Sprintf(" (containerd's RuntimeDefault: %.2fx)", ratio(sysRD, sysNone, "getpid")),
			Met:      cachedMet,
		},
	}

	none, rd := samples[sysNone], samples[sysRD]
	addG := MedianFloat(rd["getpid"]) - MedianFloat(none["getpid"])
	addP := MedianFloat(rd["personality"]) - MedianFloat(none["personality"])
	res.Summary = fmt.Sprintf("Inside a container, a getpid took %.0f ns with no seccomp filter and %.0f ns under containerd's RuntimeDefault; "+
		"a personality call, which the filter has to check by argument, took %.0f ns and %.0f ns. "+
		"Against RuntimeDefault in the same rounds (getpid / personality), nri-seccomp's profiles measured %s; "+
		"a second RuntimeDefault container, the noise, measured %.2fx / %.2fx.",
		MedianFloat(none["getpid"]), MedianFloat(rd["getpid"]), MedianFloat(none["personality"]), MedianFloat(rd["personality"]),
		strings.Join(slower, ", "), aaG, aaP)
	res.Notes = []string{
		fmt.Sprintf("Method: syscall-probe loop (test/e2e/probe) runs the raw system call (RawSyscall, one locked OS thread, no libc or Go wrapper that could cache) %d times in a row, %d times over, and the best of those %d repetitions is the exec's ns/op: repetitions of under a millisecond, so that on a busy machine the best of them ran without being preempted (the cost of the call itself, not of sharing the CPU). It runs through CRI exec (crictl exec --sync → runc exec), so it runs under exactly the container's filter: the probe itself reports Seccomp mode 2 with 1 filter (0 and 0 for no filter) from /proc/self/status, and the section fails otherwise.", iters, repeats, repeats),
		fmt.Sprintf("Interleaving: %d rounds; in each round every container runs both calls once, starting from a different container each round and alternating which call goes first. The tables give the median and the interquartile range over rounds; ratios are the median of the per-round ratios (both sides timed in the same round), so the machine's drift between rounds cancels.", rounds),
		"Checked before timing, for every container: the plugin's decision log (the rule applied, exempt or changed, and the profile type containerd reported), the seccomp section in the OCI spec containerd created (crictl inspect: none only for the no-filter container), and that both calls are allowed. The tightened container must also refuse mkdir with EPERM.",
		"BPF columns: the container's own seccomp section (from crictl inspect) compiled with libseccomp as runc compiles it, run for the x86_64 call; \"BPF run\" counts the instructions executed until the filter returns. The kernel's action cache (since 5.11) skips the filter for a call whose verdict on the native architecture is a constant ALLOW, reached without looking at arguments or the instruction pointer; the column applies that rule to the compiled filter. So the getpid count is what the filter would cost without the cache.",
		sysSameFilter(cts),
		fmt.Sprintf("What any filter costs: getpid %+.0f ns under containerd's RuntimeDefault although the cache answers it: a task with a filter leaves the kernel's fast syscall path, every call goes through __secure_computing and the cache lookup. An argument-checked call runs the filter: personality %+.0f ns, walking %s BPF instructions, because libseccomp's filter (no binary tree for sections of at most 32 entries, as runc builds it) tests syscall numbers one after another and personality comes late. Both costs are RuntimeDefault's own.",
			addG, addP, sysSteps(cts, sysRD, "personality")),
		fmt.Sprintf("Tolerance: \"no slower\" allows %.0f%% for noise, stated in advance; the A/A control (two containers with the identical containerd RuntimeDefault filter, timed in the same rounds) measured %.2fx for getpid and %.2fx for personality in this run.", (sysSlowerTolerance-1)*100, aaG, aaP),
		sysRuntimeNote(cts),
	}
	if !slowerMet {
		res.Notes = append(res.Notes, sysWhySlower(cts, ratio)...)
	}
	if !cachedMet {
		res.Notes = append(res.Notes, fmt.Sprintf("The cached-call target is missed because of the fixed cost of having any filter (above): containerd's RuntimeDefault measures %.2fx too. On a machine where a bare getpid is cheap, those few tens of ns alone exceed 30%%.", ratio(sysRD, sysNone, "getpid")))
	}
	if env.Smoke {
		res.Notes = append(res.Notes, fmt.Sprintf("Smoke run: %d rounds of short loops; the numbers mean nothing.", rounds))
	}
	return res, nil
}

// sysSameFilter says whether nri-seccomp's runtime-default compiled to the
// same BPF program as containerd's RuntimeDefault.
func sysSameFilter(cts []*sysContainer) string {
	var rd, inj *seccompbpf.Program
	for _, sc := range cts {
		switch sc.key {
		case sysRD:
			rd = sc.prog
		case sysInjectRD:
			inj = sc.prog
		}
	}
	if rd == nil || inj == nil {
		return "runtime-default and RuntimeDefault were not both compiled."
	}
	if slices.Equal(rd.Raw, inj.Raw) {
		return fmt.Sprintf("nri-seccomp's runtime-default compiles to exactly the BPF program of containerd's RuntimeDefault (%d instructions, identical), so any difference between those two rows is noise.", rd.Len())
	}
	diff := 0
	for i := range min(len(rd.Raw), len(inj.Raw)) {
		if rd.Raw[i] != inj.Raw[i] {
			diff++
		}
	}
	return fmt.Sprintf("nri-seccomp's runtime-default compiles to a different BPF program from containerd's RuntimeDefault (%d vs %d instructions, %d differ in the common length).", inj.Len(), rd.Len(), diff)
}

// sysWhySlower explains each nri-seccomp profile that measured slower than
// RuntimeDefault beyond the tolerance, from what its filter does for the call.
func sysWhySlower(cts []*sysContainer, ratio func(a, b sysConfigKey, call string) float64) []string {
	var rd *sysContainer
	for _, sc := range cts {
		if sc.key == sysRD {
			rd = sc
		}
	}
	var out []string
	for _, sc := range cts {
		if !sc.nri || sc.prog == nil || rd == nil || rd.prog == nil {
			continue
		}
		for _, call := range sysCalls {
			r := ratio(sc.key, sysRD, call)
			if r <= sysSlowerTolerance {
				continue
			}
			mine, err1 := sysTrace(sc.prog, call)
			theirs, err2 := sysTrace(rd.prog, call)
			if err := errors.Join(err1, err2); err != nil {
				out = append(out, fmt.Sprintf("%s, %s: %.2fx RuntimeDefault; the filters could not be compared: %v", sysShort(sc), call, r, err))
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
			out = append(out, fmt.Sprintf("Missed: %s, %s measured %.2fx RuntimeDefault; %s.", sysShort(sc), call, r, why))
		}
	}
	return out
}

// sysSteps is the "BPF run" count of one configuration, for the notes.
func sysSteps(cts []*sysContainer, key sysConfigKey, call string) string {
	for _, sc := range cts {
		if sc.key == key && sc.prog != nil {
			if t, err := sysTrace(sc.prog, call); err == nil {
				return fmt.Sprintf("%d of its %d", t.steps, sc.prog.Len())
			}
		}
	}
	return "many"
}

// sysRuntimeNote says which runc compiled the filters, and whether runc 1.2
// would have compiled them differently.
func sysRuntimeNote(cts []*sysContainer) string {
	most := 0
	for _, sc := range cts {
		if sc.filter != nil {
			most = max(most, len(sc.filter.Syscalls))
		}
	}
	note := fmt.Sprintf("Runtime: Debian's runc 1.1.5 with libseccomp 2.5.4, under containerd 2.4.2; the largest section here has %d syscall entries. ", most)
	if most <= 32 {
		return note + "runc 1.2 would load the same linear filters: it turns on libseccomp's binary tree only above 32 entries."
	}
	return note + "runc 1.2 turns on libseccomp's binary tree above 32 entries, so under runc 1.2 that section's filter would be a different (tree) program from the one timed here."
}

// sysShort is a configuration's short name for the target lines.
func sysShort(sc *sysContainer) string {
	switch sc.key {
	case sysInjectRD:
		return "runtime-default"
	case sysTightened:
		return "tightened RuntimeDefault"
	}
	return string(sc.key)
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
	var args [6]uint64
	if call == "personality" {
		args[0] = 0xffffffff
	}
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
