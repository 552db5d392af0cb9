package main

// Section 3: what nri-seccomp adds to starting a pod and its container
// through containerd and crictl, measured against the same start without it.

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func init() {
	register(Section{N: 3, Title: "Pod and container start through containerd and crictl, without and with the plugin", NeedsRoot: true, Run: runStartup})
}

// startSetup is one way of starting the benchmark's pod.
type startSetup struct {
	label   string
	short   string // for progress lines
	seccomp string // the profile type the container asks for
	plugin  bool   // started on the containerd nri-seccomp is connected to
}

const (
	setupUnconfined = iota
	setupRuntimeDefault
	setupPlugin
)

var startSetups = []startSetup{
	setupUnconfined:     {"no plugin, Unconfined (no filter)", "unconfined", harness.SeccompUnconfined, false},
	setupRuntimeDefault: {"no plugin, RuntimeDefault asked for", "runtime-default", harness.SeccompRuntimeDefault, false},
	setupPlugin:         {"nri-seccomp, Unconfined → runtime-default injected", "nri-seccomp", harness.SeccompUnconfined, true},
}

// startOrders are the six orders of the three setups; round r uses
// startOrders[r%6], so over every six rounds each setup runs first, second
// and third equally often and a drift of the machine favours none of them.
var startOrders = [][3]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {0, 2, 1}, {1, 0, 2}}

// startSample is one pod start, step by step, as crictl's caller sees it.
type startSample struct{ pod, create, start time.Duration }

func (s startSample) total() time.Duration { return s.pod + s.create + s.start }

// startSteps names the steps and reads them from a sample.
var startSteps = []struct {
	name string
	of   func(startSample) time.Duration
}{
	{"run pod (crictl runp)", func(s startSample) time.Duration { return s.pod }},
	{"create container (crictl create)", func(s startSample) time.Duration { return s.create }},
	{"start container (crictl start)", func(s startSample) time.Duration { return s.start }},
	{"total", startSample.total},
}

// NRI operations containerd calls nri-seccomp for while a pod starts, as
// deployed here (validation on, a decision log: PostStartContainer writes the
// init PID to it); RemoveContainer is only subscribed with auditing, and
// would happen during the untimed removal anyway.
var startTimedOps = []string{"CreateContainer", "ValidateContainerAdjustment", "PostStartContainer"}

func runStartup(ctx context.Context, env *Env) (*Result, error) {
	rounds := env.Count(36, 3)
	pair, err := startCRIPair(ctx, env, false)
	if err != nil {
		return nil, err
	}
	defer pair.close()

	samples := make([][]startSample, len(startSetups))
	var waits []nriLatency // per start with the plugin: each call it answered
	var decisions []benchDecision
	var filterNotes []string
	for r := range rounds {
		if r > 0 && r == rounds/2 {
			if err := pair.movePlugin(ctx); err != nil {
				return nil, err
			}
		}
		// Once per placement of the plugin, check that the injected
		// filter is the one the RuntimeDefault setup asked for, or the
		// two would not be starting the same container.
		compare := r == 0 || r == rounds/2
		got, wait, dec, note, err := startRound(ctx, pair, r, compare)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r+1, err)
		}
		for s := range startSetups {
			samples[s] = append(samples[s], got[s])
		}
		waits, decisions = append(waits, wait), append(decisions, dec)
		if note != "" {
			filterNotes = append(filterNotes, note)
		}
		waited, _ := wait.Total(startTimedOps...)
		logf("   round %d/%d: total %s unconfined, %s runtime-default, %s nri-seccomp (plugin on containerd #%d, waited on for %s)", r+1, rounds,
			Millis(got[setupUnconfined].total()), Millis(got[setupRuntimeDefault].total()), Millis(got[setupPlugin].total()), pair.on+1, shortDur(waited))
	}
	crictlStart, err := crictlStartTime(ctx, pair.with().Containerd)
	if err != nil {
		return nil, err
	}
	return startResult(rounds, samples, waits, decisions, filterNotes, crictlStart), nil
}

// crictlStartTime is how long crictl takes to start and exit without
// talking to containerd (crictl --version, median of 5): part of every
// step's time here, but not of kubelet's, which calls CRI over gRPC.
func crictlStartTime(ctx context.Context, c *harness.Containerd) (time.Duration, error) {
	var ds []time.Duration
	for range 5 {
		t := time.Now()
		if _, err := c.Crictl(ctx, "--version"); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t))
	}
	return medianDur(ds), nil
}

// startRound starts one pod in each setup, in round r's order, and removes
// them. It returns the samples by setup, the plugin's calls as containerd
// timed them, the plugin's decision, and (with compare) a note when the
// injected filter differs from the RuntimeDefault one.
func startRound(ctx context.Context, pair *criPair, r int, compare bool) (got []startSample, wait nriLatency, dec benchDecision, note string, err error) {
	var pods []*harness.Pod
	defer func() {
		if rerr := removePods(context.Background(), pods); err == nil {
			err = rerr
		}
	}()
	got = make([]startSample, len(startSetups))
	ctrs := make([]*harness.Container, len(startSetups))
	for _, s := range startOrders[r%len(startOrders)] {
		setup := startSetups[s]
		c := pair.without()
		if setup.plugin {
			c = pair.with()
		}
		// containerd's metrics are read just before and after every
		// setup's start (not timed), so each call to the plugin is timed
		// exactly and every setup sees the same extra work.
		before, err := c.nriLatency(ctx, criPluginNRIName)
		if err != nil {
			return nil, nil, dec, "", err
		}
		sample, pod, ct, err := startOnce(ctx, c.Containerd, fmt.Sprintf("start-%02d-%s", r, setup.short), setup.seccomp)
		pods = append(pods, pod)
		if err != nil {
			return nil, nil, dec, "", fmt.Errorf("%s: %w", setup.label, err)
		}
		after, err := c.nriLatency(ctx, criPluginNRIName)
		if err != nil {
			return nil, nil, dec, "", err
		}
		if setup.plugin {
			wait = after.since(before)
		}
		ctrs[s], got[s] = ct, sample
	}
	if err := checkStartCalls(wait); err != nil {
		return nil, nil, dec, "", err
	}
	id := ctrs[setupPlugin].ID
	ds, err := waitDecisions(ctx, pair.plugins, []string{id})
	if err != nil {
		return nil, nil, dec, "", err
	}
	if compare {
		if note, err = compareFilters(ctx, ctrs[setupPlugin], ctrs[setupRuntimeDefault]); err != nil {
			return nil, nil, dec, "", err
		}
	}
	return got, wait, ds[id], note, nil
}

// checkStartCalls checks that containerd called the plugin once for each
// NRI event of a container's start: proof, from containerd's side, that
// the plugin took part in this start.
func checkStartCalls(w nriLatency) error {
	for _, op := range startTimedOps {
		if n := w.count(op); n != 1 {
			return fmt.Errorf("containerd recorded %.0f %s calls to %s for one container started with it, want 1", n, op, criPluginNRIName)
		}
	}
	return nil
}

// startOnce runs a pod, creates its container and starts it, timing each
// step; pod is returned (for removal) even when a later step fails.
func startOnce(ctx context.Context, c *harness.Containerd, name, seccomp string) (s startSample, pod *harness.Pod, ct *harness.Container, err error) {
	t0 := time.Now()
	if pod, err = c.RunPod(ctx, harness.PodSpec{Name: name, Namespace: criNamespace}); err != nil {
		return s, nil, nil, err
	}
	t1 := time.Now()
	if ct, err = pod.CreateContainer(ctx, harness.ContainerSpec{Name: "app", Seccomp: seccomp}); err != nil {
		return s, pod, nil, err
	}
	t2 := time.Now()
	if err = ct.Start(ctx); err != nil {
		return s, pod, ct, err
	}
	t3 := time.Now()
	return startSample{pod: t1.Sub(t0), create: t2.Sub(t1), start: t3.Sub(t2)}, pod, ct, nil
}

// compareFilters compares the seccomp sections containerd generated for two
// containers, as filters: the rules for each syscall and the architectures,
// whatever their grouping and order (nri-seccomp writes one rule per group
// of syscalls with the same action, sorted; containerd keeps its own
// template's grouping). It returns a note for the report when they differ.
func compareFilters(ctx context.Context, injected, asked *harness.Container) (string, error) {
	var filters [2]map[string]any
	for i, ct := range []*harness.Container{injected, asked} {
		v, err := ct.Inspect(ctx)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		var spec struct {
			Info struct {
				RuntimeSpec struct {
					Linux struct {
						Seccomp *seccompJSON `json:"seccomp"`
					} `json:"linux"`
				} `json:"runtimeSpec"`
			} `json:"info"`
		}
		if err := json.Unmarshal(b, &spec); err != nil {
			return "", fmt.Errorf("crictl inspect %s: %w", ct.ID, err)
		}
		if spec.Info.RuntimeSpec.Linux.Seccomp == nil {
			return "", fmt.Errorf("container %s (%s) has no seccomp section", ct.ID, ct.Pod.Spec.Name)
		}
		filters[i] = spec.Info.RuntimeSpec.Linux.Seccomp.canonical()
	}
	if reflect.DeepEqual(filters[0], filters[1]) {
		return "", nil
	}
	var differ []string
	for k := range filters[0] {
		if !reflect.DeepEqual(filters[0][k], filters[1][k]) {
			differ = append(differ, k)
		}
	}
	for k := range filters[1] {
		if _, ok := filters[0][k]; !ok {
			differ = append(differ, k)
		}
	}
	slices.Sort(differ)
	if len(differ) > 8 {
		differ = append(differ[:8], "...")
	}
	return fmt.Sprintf("the filter nri-seccomp injected differs from the RuntimeDefault one in %s", strings.Join(differ, ", ")), nil
}

// seccompJSON is an OCI seccomp section, read loosely: every rule field but
// the syscall names is kept as raw JSON.
type seccompJSON struct {
	DefaultAction   string                       `json:"defaultAction"`
	DefaultErrnoRet *int                         `json:"defaultErrnoRet"`
	Architectures   []string                     `json:"architectures"`
	Flags           []string                     `json:"flags"`
	ListenerPath    string                       `json:"listenerPath"`
	Syscalls        []map[string]json.RawMessage `json:"syscalls"`
}

// canonical maps "default" to the default action, "architectures" and
// "flags" to sorted lists, and "syscall <name>" to the sorted rules for it.
func (s *seccompJSON) canonical() map[string]any {
	errno := "unset"
	if s.DefaultErrnoRet != nil {
		errno = fmt.Sprint(*s.DefaultErrnoRet)
	}
	out := map[string]any{
		"default":       s.DefaultAction + " errno " + errno,
		"architectures": slices.Sorted(slices.Values(s.Architectures)),
		"flags":         slices.Sorted(slices.Values(s.Flags)),
		"listenerPath":  s.ListenerPath,
	}
	for _, rule := range s.Syscalls {
		var names []string
		_ = json.Unmarshal(rule["names"], &names)
		rest := map[string]json.RawMessage{}
		for k, v := range rule {
			if k != "names" {
				rest[k] = v
			}
		}
		b, _ := json.Marshal(rest) // map keys are sorted
		for _, n := range names {
			key := "syscall " + n
			rules, _ := out[key].([]string)
			out[key] = append(rules, string(b))
		}
	}
	for k, v := range out {
		if rules, ok := v.([]string); ok && strings.HasPrefix(k, "syscall ") {
			slices.Sort(rules)
		}
	}
	return out
}

func startResult(rounds int, samples [][]startSample, waits []nriLatency, decisions []benchDecision, filterNotes []string, crictlStart time.Duration) *Result {
	res := &Result{}
	steps := Table{
		Caption: fmt.Sprintf("Time of each step, %d rounds per setup, as the caller of crictl sees it:", rounds),
		Header:  []string{"step", "setup", "p50", "p90", "spread (p75 − p25)"},
	}
	of := func(s, step int) []time.Duration {
		out := make([]time.Duration, len(samples[s]))
		for i, x := range samples[s] {
			out[i] = startSteps[step].of(x)
		}
		return out
	}
	for st, step := range startSteps {
		for s, setup := range startSetups {
			ds := of(s, st)
			steps.AddRow(step.name, setup.label, Millis(medianDur(ds)), Millis(Percentile(ds, 90)), Millis(Percentile(ds, 75)-Percentile(ds, 25)))
		}
	}

	over := Table{
		Caption: "What nri-seccomp adds: median with the plugin minus median without, also as a percentage of that step's median without, with its 95% bootstrap interval:",
		Header:  []string{"step", "without the plugin", "without (p50)", "with (p50)", "overhead", "% of without", "95% interval"},
	}
	type diff struct{ ms, pct, lo, hi float64 }
	compare := func(s, st int) diff {
		with, without := millisOf(of(setupPlugin, st)), millisOf(of(s, st))
		mw, mo := MedianFloat(with), MedianFloat(without)
		lo, hi := bootstrapMedianDiff(with, without, 4000)
		return diff{ms: mw - mo, pct: 100 * (mw - mo) / mo, lo: 100 * lo / mo, hi: 100 * hi / mo}
	}
	var total diff
	for st, step := range startSteps {
		for _, s := range []int{setupRuntimeDefault, setupUnconfined} {
			d := compare(s, st)
			if s == setupRuntimeDefault && step.name == "total" {
				total = d
			}
			over.AddRow(step.name, startSetups[s].label, Millis(medianDur(of(s, st))), Millis(medianDur(of(setupPlugin, st))),
				fmt.Sprintf("%+.1f ms", d.ms), fmt.Sprintf("%+.1f%%", d.pct), fmt.Sprintf("%+.1f%% … %+.1f%%", d.lo, d.hi))
		}
	}

	waitTable := Table{
		Caption: fmt.Sprintf("Time containerd waited on nri-seccomp during each of the %d pod starts with it (containerd's own NRI latency metric, read before and after each start, so every call is timed exactly):", rounds),
		Header:  []string{"NRI call", "p50", "p90", "max", "mean"},
	}
	opTimes := func(ops ...string) []time.Duration {
		out := make([]time.Duration, len(waits))
		for i, w := range waits {
			out[i], _ = w.Total(ops...)
		}
		return out
	}
	row := func(label string, ds []time.Duration) {
		waitTable.AddRow(label, shortDur(medianDur(ds)), shortDur(Percentile(ds, 90)), shortDur(Percentile(ds, 100)), shortDur(meanDuration(ds)))
	}
	for _, op := range startTimedOps {
		row(op, opTimes(op))
	}
	perPod := opTimes(startTimedOps...)
	row("all of them, per pod start", perPod)
	var own []time.Duration
	for _, d := range decisions {
		own = append(own, d.Latency())
	}
	row("inside the plugin: the CreateContainer decision (decision log)", own)
	startP50 := medianDur(of(setupRuntimeDefault, len(startSteps)-1))
	waitP50, waitMean := medianDur(perPod), meanDuration(perPod)
	waitPct, waitMeanPct := 100*float64(waitP50)/float64(startP50), 100*float64(waitMean)/float64(startP50)
	res.Tables = []Table{steps, over, waitTable}

	indistinct := total.lo <= 0 && total.hi >= 0
	contains := ""
	if indistinct {
		contains = ", contains 0"
	}
	res.Targets = []Target{
		{
			Goal:     "overhead < 1% of pod + container start time, or not distinguishable from noise (rule: median(with) − median(without, RuntimeDefault asked for) < 1% of median(without), or its 95% bootstrap interval contains 0)",
			Measured: fmt.Sprintf("%+.1f ms = %+.1f%% of %s (95%% interval %+.1f%% … %+.1f%%%s)", total.ms, total.pct, Millis(startP50), total.lo, total.hi, contains),
			Met:      total.pct < 1 || indistinct,
		},
		{
			Goal: "time containerd waits on nri-seccomp < 1% of pod + container start time (rule: median over pod starts of the exact time containerd spent in its calls to the plugin < 1% of median start time without it)",
			Measured: fmt.Sprintf("p50 %s per pod = %.2f%% of %s (mean %s = %.2f%%, max %s)", shortDur(waitP50), waitPct, Millis(startP50),
				shortDur(waitMean), waitMeanPct, shortDur(Percentile(perPod, 100))),
			Met: waitPct < 1,
		},
	}
	verdictWord := "is within this run's noise"
	if !indistinct {
		verdictWord = "is outside this run's noise"
	}
	res.Summary = fmt.Sprintf("Starting a pod with one container through crictl took %s (p50) without the plugin, the container asking for RuntimeDefault, and %s with nri-seccomp injecting the same filter into an Unconfined container. The difference, %+.1f%%, %s (95%% interval %+.1f%% … %+.1f%%). Measured directly, containerd waited %s per pod start on the plugin (p50; mean %s): %.2f%% of the start time (mean: %.2f%%).",
		Millis(startP50), Millis(medianDur(of(setupPlugin, len(startSteps)-1))), total.pct, verdictWord, total.lo, total.hi, shortDur(waitP50), shortDur(waitMean), waitPct, waitMeanPct)

	res.Notes = []string{
		fmt.Sprintf("Method: %d rounds; each round runs one pod with one container (`sleep`, host network) in each of the three setups, one after the other, in a rotating order (all six orders equally often), then removes the three pods (not timed), so containerd's state does not grow. containerd's metrics are read just before and after each start (not timed), in every setup alike.", rounds),
		"Two private containerd 2.4.2 instances with identical configuration (CRI, NRI, runc 1.1.5, overlayfs), started by the e2e harness. nri-seccomp (testdata/startup-policy.yaml, `--validate` on as by default) is connected to one of them; halfway through it is stopped and a new one is connected to the other, so a difference between the two instances cancels out instead of passing for the plugin's cost.",
		"The comparison that decides the target is with a container that asks for RuntimeDefault itself: nri-seccomp injects exactly that filter into the Unconfined container, so both start the same container and the difference is the plugin's own cost. The comparison with an Unconfined container without the plugin also includes runc compiling and loading a seccomp filter at all, the price of enforcement rather than of the plugin (see sections 4 and 5).",
		fmt.Sprintf("Times are taken around each crictl run, so they include crictl's own start: %s per run here (`crictl --version`, median of 5), the same in every setup. kubelet calls CRI over gRPC and does not pay it; against a start time without it (%s), containerd's median wait on the plugin would be %.2f%%.",
			Millis(crictlStart), Millis(startP50-3*crictlStart), 100*float64(waitP50)/float64(startP50-3*crictlStart)),
		"The 95% interval is a percentile bootstrap (4000 resamples of each side) of the difference of medians, as a percentage of the median without the plugin: it is this run's noise. An overhead whose interval contains 0 cannot be told apart from noise at this n.",
		"The direct measurement is containerd's own histogram `containerd_nri_plugin_latency_seconds`: containerd times each call from sending the request to the plugin to having its answer, and every pod start waits for these calls. Its `_sum` is exact, and it is read before and after every start, so the difference is the exact time of that start's three calls (CreateContainer, ValidateContainerAdjustment, PostStartContainer; the plugin does not subscribe to StartContainer). The plugin's decision log gives the part spent deciding inside the plugin; the rest is the round trip between the two processes (protobuf, ttrpc over the NRI socket, waking the plugin up), and, in the p90 and max columns, moments when one of the processes waited for a CPU on this 2-CPU VM.",
		fmt.Sprintf("Every container of the nri-seccomp setup (%d) was checked in the plugin's decision log: decision made, runtime-default injected; the section fails otherwise.", len(decisions)),
	}
	if len(filterNotes) == 0 {
		res.Notes = append(res.Notes, "The filter containerd handed to runc for the injected container was the RuntimeDefault container's: the same rules for every syscall and the same architectures, only grouped and ordered differently (checked with crictl inspect once per placement of the plugin).")
	} else {
		res.Notes = append(res.Notes, "Caveat: "+strings.Join(filterNotes, "; ")+".")
	}
	return res
}

// meanDuration is the arithmetic mean of ds.
func meanDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}
