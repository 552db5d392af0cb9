package main

// Section 8: twenty containers created at once, and how long containerd
// waits on nri-seccomp for each of them compared with NRI's request timeout
// (past it, NRI drops the plugin and creates the container without it).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func init() {
	register(Section{N: 8, Title: "Concurrency: 20 containers created at once", NeedsRoot: true, Run: runConcurrency})
}

// concurrentCreations is how many containers each burst creates at once.
const concurrentCreations = 20

// concurrencyOps are the NRI calls the plugin answers while a container is
// created; NRI's request timeout applies to each of them separately.
var concurrencyOps = []string{"CreateContainer", "ValidateContainerAdjustment"}

// burst is one set of concurrent creations.
type burst struct {
	wall time.Duration   // from the gate opening to the last creation done
	each []time.Duration // every creation, as its crictl caller saw it
	ids  []string
}

func runConcurrency(ctx context.Context, env *Env) (*Result, error) {
	rounds := env.Count(6, 1)
	pair, err := startCRIPair(ctx, env, true)
	if err != nil {
		return nil, err
	}
	defer pair.close()
	timeout, err := nriRequestTimeout(ctx, pair.with().Containerd)
	if err != nil {
		return nil, err
	}

	var (
		with, without []burst
		waited        nriLatency                     // containerd's histograms, over every burst with the plugin
		tapped        = map[string][]time.Duration{} // exact, at the plugin's socket, by call
		own           []time.Duration
	)
	for r := range rounds {
		if r > 0 && r == rounds/2 {
			if err := pair.movePlugin(ctx); err != nil {
				return nil, err
			}
		}
		b, w, t, ds, err := concurrencyRound(ctx, pair, r)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r+1, err)
		}
		with, without = append(with, b[0]), append(without, b[1])
		waited = waited.plus(w)
		var roundTapped []time.Duration
		for op, ts := range t {
			tapped[op] = append(tapped[op], ts...)
			roundTapped = append(roundTapped, ts...)
		}
		var roundOwn []time.Duration
		for _, d := range ds {
			roundOwn = append(roundOwn, d.Latency())
		}
		own = append(own, roundOwn...)
		logf("   round %d/%d: %d creations at once took %s with the plugin, %s without; slowest plugin call %s at its socket, %s as containerd timed it",
			r+1, rounds, concurrentCreations, Millis(b[0].wall), Millis(b[1].wall), Millis(Percentile(roundTapped, 100)), boundText(worstBound(w)))
	}
	return concurrencyResult(rounds, timeout, with, without, waited, tapped, own)
}

// concurrencyRound runs the pods on both instances (not timed), creates a
// container in each, all at once, on one instance and then the other
// (alternating which goes first), checks the plugin decided every creation
// it saw, and removes the pods. It returns the bursts (with, without), the
// plugin's calls as containerd timed them, and its decisions.
func concurrencyRound(ctx context.Context, pair *criPair, r int) (bursts [2]burst, waited nriLatency, tapped map[string][]time.Duration, ds map[string]benchDecision, err error) {
	insts := [2]*criInstance{pair.with(), pair.without()}
	var pods [2][]*harness.Pod
	defer func() {
		for _, ps := range pods {
			if rerr := removePodsPar(context.Background(), ps, 4); err == nil {
				err = rerr
			}
		}
	}()
	for i, c := range insts {
		names := make([]string, concurrentCreations)
		for j := range names {
			names[j] = fmt.Sprintf("conc-%02d-%02d", r, j)
		}
		if pods[i], err = runPods(ctx, c.Containerd, names, 4); err != nil {
			return bursts, nil, nil, nil, err
		}
	}
	order := []int{0, 1}
	if r%2 == 1 {
		order = []int{1, 0}
	}
	for _, i := range order {
		if i == 0 {
			pair.tap().Calls() // forget the calls made while the pods ran
		}
		before, err := insts[i].nriLatency(ctx, criPluginNRIName)
		if err != nil {
			return bursts, nil, nil, nil, err
		}
		if bursts[i], err = createAtOnce(ctx, pods[i]); err != nil {
			return bursts, nil, nil, nil, err
		}
		after, err := insts[i].nriLatency(ctx, criPluginNRIName)
		if err != nil {
			return bursts, nil, nil, nil, err
		}
		if i == 0 {
			waited = after.since(before)
			tapped = map[string][]time.Duration{}
			for _, c := range pair.tap().Calls() {
				tapped[c.Method] = append(tapped[c.Method], c.Took)
			}
		}
	}
	for _, op := range concurrencyOps {
		if n := waited.count(op); n != concurrentCreations {
			return bursts, nil, nil, nil, fmt.Errorf("containerd recorded %.0f %s calls to %s for %d containers created with it", n, op, criPluginNRIName, concurrentCreations)
		}
		if n := len(tapped[op]); n != concurrentCreations {
			return bursts, nil, nil, nil, fmt.Errorf("the NRI relay timed %d %s calls for %d containers created with the plugin", n, op, concurrentCreations)
		}
	}
	ds, err = waitDecisions(ctx, pair.plugins, bursts[0].ids)
	return bursts, waited, tapped, ds, err
}

// createAtOnce creates one container (Unconfined, so the plugin injects
// runtime-default) in every pod, all crictl runs released together.
func createAtOnce(ctx context.Context, pods []*harness.Pod) (burst, error) {
	b := burst{each: make([]time.Duration, len(pods)), ids: make([]string, len(pods))}
	errs := make([]error, len(pods))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			<-gate
			t := time.Now()
			ct, err := pod.CreateContainer(ctx, harness.ContainerSpec{Name: "app", Seccomp: harness.SeccompUnconfined})
			b.each[i] = time.Since(t)
			if err != nil {
				errs[i] = err
				return
			}
			b.ids[i] = ct.ID
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	b.wall = time.Since(start)
	return b, errors.Join(errs...)
}

// removePodsPar removes pods, at most par at once.
func removePodsPar(ctx context.Context, pods []*harness.Pod, par int) error {
	errs := make([]error, len(pods))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = removePods(ctx, []*harness.Pod{pod})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// worstBound bounds the slowest call of any of concurrencyOps: the upper
// bound of the highest non-empty bucket among them.
func worstBound(w nriLatency) float64 {
	worst := 0.0
	for _, op := range concurrencyOps {
		if b := w[op].Bound(1); b > worst {
			worst = b
		}
	}
	return worst
}

func concurrencyResult(rounds int, timeout time.Duration, with, without []burst, waited nriLatency, tapped map[string][]time.Duration, own []time.Duration) (*Result, error) {
	res := &Result{}
	walls := func(bs []burst) []time.Duration {
		var out []time.Duration
		for _, b := range bs {
			out = append(out, b.wall)
		}
		return out
	}
	each := func(bs []burst) []time.Duration {
		var out []time.Duration
		for _, b := range bs {
			out = append(out, b.each...)
		}
		return out
	}
	creations := Table{
		Caption: fmt.Sprintf("%d containers created at once (crictl create, released together), %d rounds per setup:", concurrentCreations, rounds),
		Header:  []string{"setup", "all done (p50)", "all done (max)", "one creation (p50)", "one creation (p90)", "one creation (max)"},
	}
	for _, s := range []struct {
		label string
		bs    []burst
	}{{"no plugin", without}, {"nri-seccomp (runtime-default injected)", with}} {
		w, e := walls(s.bs), each(s.bs)
		creations.AddRow(s.label, Millis(medianDur(w)), Millis(Percentile(w, 100)), Millis(medianDur(e)), Millis(Percentile(e, 90)), Millis(Percentile(e, 100)))
	}
	wallWith, wallWithout := medianDur(walls(with)), medianDur(walls(without))
	creations.AddRow("with / without", Ratio(float64(wallWith), float64(wallWithout)), "", Ratio(float64(medianDur(each(with))), float64(medianDur(each(without)))), "", "")

	pct := func(d time.Duration) string {
		return fmt.Sprintf("%.2f%%", 100*d.Seconds()/timeout.Seconds())
	}
	bound := func(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }
	latency := Table{
		Caption: fmt.Sprintf("Time per plugin request during the bursts; NRI's request timeout in force: %s (plugin_request_timeout from `containerd config dump`):", timeout),
		Header:  []string{"request", "timed by", "requests", "p50", "mean", "worst", "worst / timeout"},
	}
	var all []time.Duration
	for _, op := range concurrencyOps {
		ts := tapped[op]
		all = append(all, ts...)
		latency.AddRow(op, "relay at the plugin's socket (exact)", len(ts), shortDur(medianDur(ts)), shortDur(meanDuration(ts)), shortDur(Percentile(ts, 100)), pct(Percentile(ts, 100)))
	}
	for _, op := range concurrencyOps {
		o := waited[op]
		latency.AddRow(op, "containerd (buckets; mean exact)", fmt.Sprintf("%.0f", o.Count), boundText(o.Bound(0.5)), shortDur(o.Mean()), boundText(o.Bound(1)), "≤ "+pct(bound(o.Bound(1))))
	}
	latency.AddRow("CreateContainer", "the plugin's decision log (deciding only)", len(own), shortDur(medianDur(own)), shortDur(meanDuration(own)), shortDur(Percentile(own, 100)), pct(Percentile(own, 100)))
	res.Tables = []Table{creations, latency}

	worst := Percentile(all, 100)
	// containerd's slowest call lies in the bucket (floor, ceiling].
	ceiling := worstBound(waited)
	floor := 0.0
	for _, op := range concurrencyOps {
		for _, b := range waited[op].Buckets {
			if b.LE < ceiling && b.LE > floor {
				floor = b.LE
			}
		}
	}
	limit := timeout / 10
	res.Targets = []Target{{
		Goal:     fmt.Sprintf("worst-case plugin latency < 10%% of NRI's request timeout with %d creations at once (rule: the slowest CreateContainer or ValidateContainerAdjustment call, timed exactly at the plugin's socket, < 10%% of plugin_request_timeout, and containerd's own histogram does not place its slowest call at or above that limit)", concurrentCreations),
		Measured: fmt.Sprintf("%s of %s = %s (containerd: %s)", Millis(worst), timeout, pct(worst), boundText(ceiling)),
		Met:      worst < limit && bound(floor) < limit,
	}}
	res.Summary = fmt.Sprintf("With %d containers created at once, the slowest call containerd made to nri-seccomp took %s at the plugin's socket (p50 %s), %s of NRI's %s request timeout. All %d creations took %s (p50) with the plugin and %s without it (%s).",
		concurrentCreations, Millis(worst), shortDur(medianDur(all)), pct(worst), timeout, concurrentCreations, Millis(wallWith), Millis(wallWithout), Ratio(float64(wallWith), float64(wallWithout)))
	res.Notes = []string{
		fmt.Sprintf("Method: %d rounds. Each round runs %d pods on each of two private containerd 2.4.2 instances (not timed), then releases %d `crictl create` runs together on one instance and then on the other, alternating which goes first, and removes the pods. nri-seccomp (testdata/startup-policy.yaml) is connected to one instance; halfway it is moved to the other, so the instances' own difference cancels out.", rounds, concurrentCreations, concurrentCreations),
		"Every container is Unconfined, so the plugin decides and injects runtime-default for each: the most work it does per creation. Every one was checked in its decision log, and both containerd's metrics and the relay had to show exactly one CreateContainer and one ValidateContainerAdjustment call per container created with the plugin; the section fails otherwise.",
		"NRI calls plugins one creation at a time (under a lock), so with 20 creations at once the calls queue; the request timeout applies to each call on its own, from the moment containerd sends it.",
		"Three clocks: (1) a relay in front of containerd's NRI socket (in the benchmark process; the plugin connects to it) times every request from the relay reading it to the relay reading the plugin's answer: the plugin's whole share (decoding, deciding, logging, encoding, waiting for a CPU) plus the relay's write of the request, exactly; (2) containerd's own histogram `containerd_nri_plugin_latency_seconds` times each call from sending to answer, which is what the timeout counts, but only in Prometheus' default buckets (5, 10, 25, 50, 100, 250 ms, ...), so its p50 and worst are upper bounds, while its mean is exact; it includes the relay's hop; (3) the decision log times the decision inside the plugin.",
		fmt.Sprintf("The timeout, %s, is read from the configuration containerd runs with (`containerd config dump`), not assumed.", timeout),
		"20 crictl processes starting at once on 2 CPUs compete with containerd and the plugin for the CPUs; kubelet would send the same 20 requests from one process, so this is a harsher load than a node sees. Wall times include them, the same with and without the plugin, and the relay's hop with it.",
	}
	return res, nil
}
