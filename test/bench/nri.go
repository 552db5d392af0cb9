package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/containerd/nri/pkg/api"
	"google.golang.org/protobuf/proto"
)

func init() {
	register(Section{N: 2, Title: "NRI round trip through the real runtime side", Run: runNRIRoundTrip})
}

// rtKind is one kind of container the round trip is measured for.
type rtKind struct {
	name    string
	profile api.SecurityProfile_ProfileType
	policy  *api.LinuxSeccomp // nil: no seccomp at all
	what    string
}

// rtConfig is one runtime side with what is plugged into it.
type rtConfig struct {
	label string
	what  string
	rt    *nriRuntime
	// adjusts: its answer sets the container's seccomp policy.
	adjusts bool
	lat     map[string][]time.Duration // by kind
}

// The interleaving: every round runs roundSize requests of each
// configuration and container kind, starting with a different one each round.
const rtRoundSize = 25

func runNRIRoundTrip(ctx context.Context, env *Env) (*Result, error) {
	defer quietNRILog()()
	perCell := env.Count(5000, 200)
	warmup := env.Count(200, 20)

	rd, err := runtimeDefaultNRI()
	if err != nil {
		return nil, err
	}
	kinds := []rtKind{
		{name: "RuntimeDefault", profile: api.SecurityProfile_RUNTIME_DEFAULT, policy: rd,
			what: "the pod asks for RuntimeDefault: the request carries containerd's profile (about 370 syscalls); the default policy tightens it (floor rule)"},
		{name: "Unconfined", profile: api.SecurityProfile_UNCONFINED,
			what: "no seccomp (Kubernetes' default without --seccomp-default): the default policy injects runtime-default and tightens it"},
	}
	policyPath := filepath.Join(env.Root, "policies", "default-policy.yaml")

	var cfgs []*rtConfig
	defer func() {
		for _, c := range cfgs {
			c.rt.stop()
		}
	}()
	newConfig := func(key, label, what string, adjusts bool) (*rtConfig, error) {
		rt, err := startNRIRuntime(filepath.Join(env.Work, "nri2-"+key))
		if err != nil {
			return nil, err
		}
		c := &rtConfig{label: label, what: what, rt: rt, adjusts: adjusts, lat: map[string][]time.Duration{}}
		cfgs = append(cfgs, c)
		return c, nil
	}

	logf("   starting 6 NRI runtime sides and their plugins")
	none, err := newConfig("none", "no plugin", "nothing connected: NRI's own cost", false)
	if err != nil {
		return nil, err
	}
	noop, err := newConfig("noop", "no-op plugin", "a stub plugin process subscribed to CreateContainer that answers nothing", false)
	if err != nil {
		return nil, err
	}
	if _, err := noop.rt.startStubPlugin(ctx, "noop", ""); err != nil {
		return nil, err
	}
	noopValid, err := newConfig("noopvalidator", "no-op plugin + validator", "the same stub also subscribed to ValidateContainerAdjustment, accepting everything: the cost of a second call per creation, without any work in either", false)
	if err != nil {
		return nil, err
	}
	if _, err := noopValid.rt.startStubPlugin(ctx, "noopvalidator", ""); err != nil {
		return nil, err
	}
	fixed, err := newConfig("fixed", "fixed-answer plugin", "a stub plugin process that answers every container with the seccomp policy nri-seccomp would give it, without deciding anything: NRI's cost of carrying a full policy back", true)
	if err != nil {
		return nil, err
	}
	novalid, err := newConfig("novalid", "nri-seccomp --validate=false", "the real binary, shipped policy, adjustment validation off", true)
	if err != nil {
		return nil, err
	}
	if _, err := novalid.rt.startSeccompPlugin(ctx, env, "nri-seccomp", policyPath, "--validate=false"); err != nil {
		return nil, err
	}
	deflt, err := newConfig("default", "nri-seccomp (default)", "the real binary with the shipped DaemonSet's flags and policy; validation on (its default): a second call per creation, ValidateContainerAdjustment, with the final adjustment", true)
	if err != nil {
		return nil, err
	}
	defltProc, err := deflt.rt.startSeccompPlugin(ctx, env, "nri-seccomp", policyPath)
	if err != nil {
		return nil, err
	}

	// The fixed stub answers what nri-seccomp answered for the same kind
	// of container.
	seq := 0
	request := func(kind rtKind) (*api.PodSandbox, *api.Container) {
		seq++
		ns := rtNamespaces[seq%len(rtNamespaces)]
		hash := fmt.Sprintf("%08x", uint32(seq)*2654435761)[:8]
		pod := nriPod(nriPodSpec{
			Namespace: ns,
			Name:      "web-" + hash + "-" + strconv.Itoa(seq),
			UID:       nriHexID("uid", strconv.Itoa(seq))[:32],
			Labels:    map[string]string{"app": "web", "pod-template-hash": hash, "tier": "frontend"},
		}, seq)
		return pod, nriContainer(pod, "app", "registry.example.com/"+ns+"/web:1.4.2", seq, kind.profile, kind.policy)
	}
	answers := filepath.Join(env.Work, "nri2-answers")
	if err := os.MkdirAll(answers, 0o755); err != nil {
		return nil, fmt.Errorf("fixed stub answers: %w", err)
	}
	for _, kind := range kinds {
		pod, ctr := request(kind)
		rsp, _, err := deflt.rt.create(ctx, pod, ctr)
		if err != nil {
			return nil, err
		}
		pol := nriAdjusted(rsp)
		if pol == nil {
			return nil, fmt.Errorf("nri-seccomp did not adjust a %s container with the shipped policy", kind.name)
		}
		b, err := proto.Marshal(pol)
		if err != nil {
			return nil, fmt.Errorf("encoding nri-seccomp's answer: %w", err)
		}
		name := answerWithPolicy
		if kind.policy == nil {
			name = answerWithoutPolicy
		}
		if err := os.WriteFile(filepath.Join(answers, name), b, 0o644); err != nil {
			return nil, fmt.Errorf("fixed stub answers: %w", err)
		}
	}
	if _, err := fixed.rt.startStubPlugin(ctx, "fixed", answers); err != nil {
		return nil, err
	}
	order := []*rtConfig{none, noop, noopValid, fixed, novalid, deflt}

	type cell struct {
		cfg  *rtConfig
		kind rtKind
	}
	var cells []cell
	for _, c := range order {
		for _, k := range kinds {
			cells = append(cells, cell{c, k})
		}
	}
	one := func(c cell, keep bool) error {
		pod, ctr := request(c.kind)
		rsp, took, err := c.cfg.rt.create(ctx, pod, ctr)
		if err != nil {
			return fmt.Errorf("%s: %w", c.cfg.label, err)
		}
		// A plugin that is not in the path would make its row a no-plugin
		// row: check every answer.
		if got := nriAdjusted(rsp) != nil; got != c.cfg.adjusts {
			return fmt.Errorf("%s, %s container: seccomp adjusted = %v, want %v", c.cfg.label, c.kind.name, got, c.cfg.adjusts)
		}
		if keep {
			c.cfg.lat[c.kind.name] = append(c.cfg.lat[c.kind.name], took)
		}
		return nil
	}

	logf("   warm-up: %d requests per cell", warmup)
	for _, c := range cells {
		for range warmup {
			if err := one(c, false); err != nil {
				return nil, err
			}
		}
	}
	rounds := (perCell + rtRoundSize - 1) / rtRoundSize
	logf("   %d rounds of %d requests per cell, %d cells, interleaved", rounds, rtRoundSize, len(cells))
	start := time.Now()
	cpuBefore, err := procCPU(defltProc.pid())
	if err != nil {
		return nil, err
	}
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j := range cells {
			c := cells[(j+r)%len(cells)]
			for range rtRoundSize {
				if err := one(c, true); err != nil {
					return nil, err
				}
			}
		}
		if (r+1)%max(1, rounds/10) == 0 || r+1 == rounds {
			logf("   round %d/%d (%s)", r+1, rounds, time.Since(start).Round(time.Second))
		}
	}
	cpuAfter, err := procCPU(defltProc.pid())
	if err != nil {
		return nil, err
	}
	for _, c := range order {
		for _, p := range c.rt.procs {
			if err := p.alive(); err != nil {
				return nil, err
			}
		}
	}
	// The plugin's own CPU per creation (both calls: CreateContainer and
	// ValidateContainerAdjustment), from the kernel's accounting of its
	// process over the measured rounds: what a node pays at a given churn.
	created := rounds * rtRoundSize * len(kinds)
	cpuPer := (cpuAfter - cpuBefore) / time.Duration(created)

	rdName := kinds[0].name
	res := &Result{
		Summary: "What one container creation costs in NRI's runtime side (the code containerd embeds), from the moment containerd hands the request to NRI until the adjusted container comes back, " +
			"with no plugin, with a plugin that does nothing, and with nri-seccomp; each plugin is its own process on NRI's real socket, as on a node. " +
			fmt.Sprintf("In this run, for a RuntimeDefault container at p50: no-op plugin %s, the same stub as a validator too %s, a stub answering nri-seccomp's policy without deciding %s, nri-seccomp without validation %s, nri-seccomp as shipped (validation on) %s.",
				Micros(Median(noop.lat[rdName])), Micros(Median(noopValid.lat[rdName])), Micros(Median(fixed.lat[rdName])),
				Micros(Median(novalid.lat[rdName])), Micros(Median(deflt.lat[rdName]))) +
			fmt.Sprintf(" nri-seccomp as shipped used %s of CPU per container created (%s over %d creations of both kinds; user and system time of its process), so 100 pod starts a second cost it about %.0f%% of one core.",
				Micros(cpuPer), (cpuAfter-cpuBefore).Round(time.Millisecond), created, 100*float64(cpuPer)*100/float64(time.Second)),
	}
	for _, kind := range kinds {
		base := Median(noop.lat[kind.name])
		fixedP50 := Median(fixed.lat[kind.name])
		t := Table{
			Caption: fmt.Sprintf("%s container (%s):", kind.name, kind.what),
			Header:  []string{"plugged in", "n", "p50", "p90", "p99", "p50 vs no-op", "p50 vs fixed answer"},
		}
		for _, c := range order {
			ds := c.lat[kind.name]
			p50 := Median(ds)
			t.AddRow(c.label, len(ds), Micros(p50), Micros(Percentile(ds, 90)), Micros(Percentile(ds, 99)),
				Ratio(float64(p50), float64(base)), Ratio(float64(p50), float64(fixedP50)))
		}
		res.Tables = append(res.Tables, t)
		p50 := Median(deflt.lat[kind.name])
		nvP50 := Median(novalid.lat[kind.name])
		nvBase := Median(noopValid.lat[kind.name])
		res.Targets = append(res.Targets,
			Target{
				Goal:     fmt.Sprintf("nri-seccomp p50 ≤ 1.5x the no-op plugin's (as shipped, validation on; %s container)", kind.name),
				Measured: fmt.Sprintf("%s (%s vs %s)", Ratio(float64(p50), float64(base)), Micros(p50), Micros(base)),
				Met:      float64(p50) <= 1.5*float64(base),
			},
			Target{
				Goal:     fmt.Sprintf("like for like, as shipped: nri-seccomp p50 ≤ 1.5x a no-op plugin that also validates (%s container)", kind.name),
				Measured: fmt.Sprintf("%s (%s vs %s)", Ratio(float64(p50), float64(nvBase)), Micros(p50), Micros(nvBase)),
				Met:      float64(p50) <= 1.5*float64(nvBase),
			},
			Target{
				Goal:     fmt.Sprintf("like for like, create only: nri-seccomp --validate=false p50 ≤ 1.5x the no-op plugin's (%s container)", kind.name),
				Measured: fmt.Sprintf("%s (%s vs %s)", Ratio(float64(nvP50), float64(base)), Micros(nvP50), Micros(base)),
				Met:      float64(nvP50) <= 1.5*float64(base),
			})
	}
	res.Notes = []string{
		fmt.Sprintf("Method: six NRI runtime sides (github.com/containerd/nri/pkg/adaptation, announcing containerd %s) in the bench process, one per row, each with its own socket and plugin process. "+
			"Each request is one CreateContainer as containerd sends it (plugin sync blocked around it), timed from the call to its return. "+
			"Interleaved: %d rounds; each round runs %d requests of every row and container kind, starting at a different cell each round. "+
			"n = %d per cell after %d warm-up requests per cell, which are not counted.", nriRuntimeVersion, rounds, rtRoundSize, rounds*rtRoundSize, warmup),
		"Every request is a new pod (new name, UID and IDs; 4 namespaces) with one container described as containerd's CRI plugin does (labels, annotations, 12 mounts, env, resources, namespaces), so nri-seccomp's per-pod decision cache misses every time and the engine matches the rules; the profile computation is shared between pods that match the same rules, as on a node.",
		"Every answer is checked: the no-plugin and no-op rows must come back unadjusted, the others with a seccomp policy; a plugin that dropped out of the path would fail the run instead of making its row look fast.",
		"Rows: " + rowWhat(order),
		"nri-seccomp runs as deployed (`run --log-format json --metrics-addr ...`, policies/default-policy.yaml): it writes one JSON log line per decision (here to a file) and updates its Prometheus counters. The stubs are this bench binary started again as a plugin (same Go, no logging).",
		"Reading the rows: the no-op row is the issue's baseline. The no-op + validator row is what any validating plugin pays for the second call (ValidateContainerAdjustment carries the pod, a copy of the container and the final adjustment). The fixed-answer row is what any plugin that sets a seccomp policy pays: the whole policy (hundreds of syscalls) travels back and is merged into the adjustment. nri-seccomp without validation minus fixed answer is nri-seccomp's own work (decision, log line, metrics); the two nri-seccomp rows differ by validation, which here carries the full policy twice (container and adjustment).",
		"The runtime side and the plugins share the machine's CPUs; the latencies include the scheduler waking the plugin process, which is also what happens under containerd.",
	}
	return res, nil
}

var rtNamespaces = []string{"default", "shop", "payments", "search"}

func rowWhat(cfgs []*rtConfig) string {
	s := ""
	for i, c := range cfgs {
		if i > 0 {
			s += "; "
		}
		s += "**" + c.label + "**: " + c.what
	}
	return s + "."
}
