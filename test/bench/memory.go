package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

func init() {
	register(Section{N: 6, Title: "Plugin memory", Run: runMemory})
}

// memTeams is the number of team rules; with node-agents,
// runtime-default-for-unconfined and floor the policy has 1000 rules.
const memTeams = 997

// memLimitKnob is the GOMEMLIMIT of the second run: none, the Go runtime's
// own default, which the daemon used before it set a soft limit of its own
// (32 MiB, cmd/nri-seccomp run.go).
const memLimitKnob = "off"

// memLimit is the target for the plugin's resident memory.
const memLimit = 40 << 20

func runMemory(ctx context.Context, env *Env) (*Result, error) {
	defer quietNRILog()()
	decisions := env.Count(10000, 500)
	settle := time.Duration(env.Count(3000, 500)) * time.Millisecond

	policyPath := filepath.Join(env.Work, "memory-policy.yaml")
	if err := os.WriteFile(policyPath, []byte(memoryPolicy(memTeams)), 0o644); err != nil {
		return nil, fmt.Errorf("writing the 1000-rule policy: %w", err)
	}
	rd, err := runtimeDefaultNRI()
	if err != nil {
		return nil, err
	}
	rt, err := startNRIRuntime(filepath.Join(env.Work, "nri6"))
	if err != nil {
		return nil, err
	}
	defer rt.stop()
	logf("   starting nri-seccomp with a %d-rule policy", memTeams+3)
	started := time.Now()
	p, err := rt.startSeccompPlugin(ctx, env, "nri-seccomp", policyPath)
	if err != nil {
		return nil, err
	}
	connectTook := time.Since(started)

	t := Table{Header: []string{"when", "VmRSS", "of which anonymous (RssAnon)", "of which file pages (RssFile)", "VmHWM (peak so far)", "Go heap in use", "Go memory from the OS"}}
	type reading struct{ rss, hwm int64 }
	// read measures whichever plugin p is at the time: the 1000-rule one,
	// then the one with the shipped policy.
	read := func(when string) (reading, error) {
		if err := p.alive(); err != nil {
			return reading{}, err
		}
		rss, hwm, err := procStatusMemory(p.pid())
		if err != nil {
			return reading{}, err
		}
		anon, file, err := procStatusRSSSplit(p.pid())
		if err != nil {
			return reading{}, err
		}
		// After /proc, since the scrape itself allocates in the plugin.
		heap, sys, err := p.goMemStats(ctx)
		if err != nil {
			return reading{}, err
		}
		t.AddRow(when, MiB(rss), MiB(anon), MiB(file), MiB(hwm), MiB(heap), MiB(sys))
		logf("   %s: VmRSS %s, VmHWM %s", when, MiB(rss), MiB(hwm))
		return reading{rss, hwm}, nil
	}

	if err := memSleep(ctx, settle); err != nil {
		return nil, err
	}
	idle, err := read(fmt.Sprintf("idle: connected, policy loaded, %s after registering", settle))
	if err != nil {
		return nil, err
	}

	// drive sends the workload's decisions to whichever plugin rt has.
	drive := func(rt *nriRuntime, w *memWorkload) (lat []time.Duration, adjusted int, err error) {
		for i := range decisions {
			if i%1000 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, 0, err
				}
			}
			c := w.next()
			rsp, took, err := rt.create(ctx, c.pod, c.ctr)
			if err != nil {
				return nil, 0, err
			}
			lat = append(lat, took)
			got := nriAdjusted(rsp) != nil
			if got {
				adjusted++
			}
			// Where the answer is known whatever the team rules say, check it:
			// a plugin out of the path would otherwise measure nothing.
			if c.want != nil && got != *c.want {
				return nil, 0, fmt.Errorf("%s/%s container %s: seccomp adjusted = %v, want %v", c.pod.GetNamespace(), c.pod.GetName(), c.ctr.GetName(), got, *c.want)
			}
		}
		return lat, adjusted, nil
	}
	w := newMemWorkload(rd)
	logf("   %d CreateContainer decisions", decisions)
	lat, adjusted, err := drive(rt, w)
	if err != nil {
		return nil, err
	}
	after, err := read(fmt.Sprintf("right after %d decisions", decisions))
	if err != nil {
		return nil, err
	}
	if err := memSleep(ctx, settle); err != nil {
		return nil, err
	}
	settled, err := read(fmt.Sprintf("%s later, idle", settle))
	if err != nil {
		return nil, err
	}
	peak := max(idle.hwm, after.hwm, settled.hwm)
	p.stop()

	// For scale: the same binary idle with the shipped 3-rule policy.
	rt0, err := startNRIRuntime(filepath.Join(env.Work, "nri6-shipped"))
	if err != nil {
		return nil, err
	}
	defer rt0.stop()
	p, err = rt0.startSeccompPlugin(ctx, env, "nri-seccomp", filepath.Join(env.Root, "policies", "default-policy.yaml"))
	if err != nil {
		return nil, err
	}
	if err := memSleep(ctx, settle); err != nil {
		return nil, err
	}
	if _, err := read(fmt.Sprintf("for scale: a fresh plugin with the shipped 3-rule policy, idle %s after registering", settle)); err != nil {
		return nil, err
	}
	p.stop()

	// The knob an operator has: the Go runtime's soft memory limit. The
	// daemon sets 32 MiB unless GOMEMLIMIT says otherwise; this run turns it
	// off, to show what the limit buys.
	rtLim, err := startNRIRuntime(filepath.Join(env.Work, "nri6-limit"))
	if err != nil {
		return nil, err
	}
	defer rtLim.stop()
	logf("   again with GOMEMLIMIT=%s", memLimitKnob)
	p, err = rtLim.startSeccompPluginEnv(ctx, env, "nri-seccomp", policyPath, []string{"GOMEMLIMIT=" + memLimitKnob})
	if err != nil {
		return nil, err
	}
	if err := memSleep(ctx, settle); err != nil {
		return nil, err
	}
	limIdle, err := read(fmt.Sprintf("GOMEMLIMIT=%s: idle, %s after registering", memLimitKnob, settle))
	if err != nil {
		return nil, err
	}
	limLat, _, err := drive(rtLim, newMemWorkload(rd))
	if err != nil {
		return nil, err
	}
	limAfter, err := read(fmt.Sprintf("GOMEMLIMIT=%s: right after %d decisions", memLimitKnob, decisions))
	if err != nil {
		return nil, err
	}
	p.stop()

	logf("   the engine alone, in this process: what its caches keep")
	eng, err := engineLiveHeap(policyPath, rd, decisions)
	if err != nil {
		return nil, err
	}

	res := &Result{
		Summary: fmt.Sprintf("How much memory the nri-seccomp daemon keeps resident with a %d-rule policy, idle and after deciding for %d containers of varied pods.", memTeams+3, decisions),
		Tables:  []Table{t},
		Targets: []Target{{
			Goal:     fmt.Sprintf("plugin RSS < 40 MiB idle, after %d decisions with %d rules, and at its peak (VmHWM)", decisions, memTeams+3),
			Measured: fmt.Sprintf("idle %s, after %s; peak (VmHWM) %s", MiB(idle.rss), MiB(after.rss), MiB(peak)),
			Met:      idle.rss < memLimit && after.rss < memLimit && peak < memLimit,
		}},
		Notes: []string{
			"Method: the real binary (`" + filepath.Base(env.Bin) + " run` with the shipped DaemonSet's flags: JSON log, metrics listener, validation on, policy watch) connected to NRI's runtime side (github.com/containerd/nri/pkg/adaptation) in the bench process over its socket; the runtime side sends CreateContainer one after the other, as containerd does for a node's creations. " +
				"VmRSS and VmHWM come from /proc/PID/status; the Go figures from the plugin's own /metrics (go_memstats_heap_inuse_bytes, go_memstats_sys_bytes), read just after. The binary exposes no way to force a garbage collection, so the readings are as the Go runtime left them: GOGC unset (100) and GOMEMLIMIT unset, so the daemon sizes its own soft limit once the policy is in force: the live heap then plus 16 MiB, at least 24 MiB (cmd/nri-seccomp run.go; GOMEMLIMIT overrides it). It also collects the garbage of loading the policy and returns it to the OS then, so the idle VmHWM (the load's peak) is above the idle VmRSS.",
			fmt.Sprintf("Policy (generated, %d rules): the shipped node-agents exemption; %d team rules, each matching a namespace (exact and glob) and an `app` label like internal/engine's benchmark policy, with varied bodies: tighten with a deny list (1-3 syscalls), every 5th also intersected with the hardened profile, every 7th in audit mode, every 9th an inject of hardened (applies to containers with no profile), every 11th limited to some container names, every 13th to an image glob, every 50th an exemption; then the shipped runtime-default-for-unconfined and floor rules.", memTeams+3, memTeams),
			fmt.Sprintf("Workload: %d CreateContainer requests, deterministic (seeded): %d distinct pods, the rest new containers of earlier pods (restarts and sidecars); pods spread over all teams' namespaces (~5%% in namespaces no team rule names, ~3%% in kube-system); 30%% of the containers have no seccomp, the rest RuntimeDefault (containerd's ~370-syscall profile in the request). %d of the answers set a seccomp policy.", decisions, w.pods(), adjusted),
			fmt.Sprintf("Round trips during the run (runtime side, including validation): p50 %s, p99 %s. The plugin registered %s after its start (policy load and compile included).", Micros(Median(lat)), Micros(Percentile(lat, 99)), connectTook.Round(time.Millisecond)),
			fmt.Sprintf("GOMEMLIMIT=%s (no soft limit, as the daemon ran before it set one; set in the plugin's environment): idle %s, after the same %d decisions %s; round trips p50 %s, p99 %s (%s the p50 with the default limit; measured after it, not interleaved, so indicative only). With the limit the collector runs more often as the Go runtime's memory nears it, trading a little CPU for resident memory; deployments can raise it, or turn it off, with GOMEMLIMIT.",
				memLimitKnob, MiB(limIdle.rss), decisions, MiB(limAfter.rss), Micros(Median(limLat)), Micros(Percentile(limLat, 99)), Ratio(float64(Median(limLat)), float64(Median(lat)))),
			fmt.Sprintf("Where the memory goes: the engine alone (internal/engine loading the same policy in the bench process, fed the same %d requests through the plugin's own conversion, convert.InputFromNRI) holds %s of live heap for the compiled 1000-rule policy and %s more in its caches after the decisions (runtime.GC before each reading). "+
				"Its caches are bounded (%d decisions, %d profile outcomes, 256 parsed current profiles; a full cache is emptied); an outcome is keyed by the current profile and the indexes of the rules that applied; outcomes that write the same section share one copy, rules with the same body share one compiled profile, and bodies naming the same profile share its model. "+
				"Go heap in use is above the live data because the collector lets the heap grow to about twice the live data before it runs (GOGC=100); RssAnon is the process's own memory: Go's heap, stacks and runtime, and freed memory not yet returned to the OS (part of the last column). RssFile is the binary's pages mapped from its file (code and read-only data, about 18 MiB of the static binary's loaded segments): clean, shared with the page cache and reclaimable, and how many of them are mapped depends on what of the file the page cache holds (the kernel maps whole cached folios), not on the program; it is why idle VmRSS moved by several MiB between runs whose Go figures were the same. The plugin's own work allocates about 5 KiB per container (BenchmarkCreateContainer in internal/nri); NRI's messages, the request and the validation request that carries the seccomp policy twice, come on top.", decisions, MiB(eng.policy), MiB(eng.caches), engine.DefaultCacheSize, engine.DefaultCacheSize),
		},
	}
	return res, nil
}

// memoryPolicy generates the 1000-rule policy of the memory section: teams
// team rules between the shipped policy's first rule and its last two.
func memoryPolicy(teams int) string {
	denyPool := []string{"ptrace", "process_vm_readv", "process_vm_writev", "modify_ldt", "vmsplice",
		"name_to_handle_at", "chroot", "syslog", "acct", "quotactl", "swapon", "swapoff", "setns",
		"unshare", "mount", "umount2", "kcmp", "move_pages", "mbind", "set_mempolicy", "migrate_pages",
		"fanotify_init", "clock_settime", "settimeofday", "adjtimex", "iopl", "ioperm", "sethostname",
		"setdomainname", "personality", "mlockall", "pidfd_getfd"}
	var b strings.Builder
	b.WriteString("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n")
	b.WriteString("- name: node-agents\n  match: {namespaces: [kube-system]}\n  action: exempt\n")
	for i := range teams {
		fmt.Fprintf(&b, "- name: team-%d\n  match:\n    namespaces: [ns-%d, \"team-%d-*\"]\n    podSelector: {matchLabels: {app: a%d}}\n", i, i, i, i)
		if i%11 == 0 {
			b.WriteString("    containers: [app, \"web-*\"]\n")
		}
		if i%13 == 0 {
			fmt.Fprintf(&b, "    images: [\"registry.example.com/team-%d/*\"]\n", i)
		}
		deny := make([]string, 0, 3)
		for k := range 1 + i%3 {
			n := denyPool[(i*7+k*5)%len(denyPool)]
			if !slices.Contains(deny, n) {
				deny = append(deny, n)
			}
		}
		switch {
		case i%50 == 49:
			b.WriteString("  action: exempt\n")
			continue
		case i%9 == 0:
			b.WriteString("  action: inject\n  profile: hardened\n")
		default:
			b.WriteString("  action: tighten\n")
			if i%5 == 0 {
				b.WriteString("  profile: hardened\n")
			}
			if i%7 == 0 {
				b.WriteString("  mode: audit\n")
			}
		}
		fmt.Fprintf(&b, "  deny: [%s]\n", strings.Join(deny, ", "))
	}
	b.WriteString("- name: runtime-default-for-unconfined\n  match: {profileTypes: [Unconfined]}\n  action: inject\n  profile: runtime-default\n")
	b.WriteString("- name: floor\n  match: {}\n  action: tighten\n  deny: [keyctl, add_key, request_key, bpf, userfaultfd, perf_event_open, kexec_load, kexec_file_load, init_module, finit_module, delete_module, open_by_handle_at, {name: io_uring_setup, errno: ENOSYS}, {name: io_uring_enter, errno: ENOSYS}, {name: io_uring_register, errno: ENOSYS}]\n")
	return b.String()
}

// memPod is a pod of the memory workload.
type memPod struct {
	spec  nriPodSpec
	image string
	want  *bool // the adjustment known without evaluating team rules, nil if not
}

// memCreate is one request of the memory workload.
type memCreate struct {
	pod  *api.PodSandbox
	ctr  *api.Container
	want *bool
}

// memWorkload generates a deterministic, varied stream of creations.
type memWorkload struct {
	r    *rand.Rand
	rd   *api.LinuxSeccomp
	seq  int
	all  []*memPod
	objs map[*memPod]*api.PodSandbox
}

func newMemWorkload(rd *api.LinuxSeccomp) *memWorkload {
	return &memWorkload{r: rand.New(rand.NewPCG(8, 6)), rd: rd, objs: map[*memPod]*api.PodSandbox{}}
}

func (w *memWorkload) pods() int { return len(w.all) }

func (w *memWorkload) next() memCreate {
	w.seq++
	var p *memPod
	if len(w.all) > 0 && w.r.Float64() < 0.3 {
		p = w.all[w.r.IntN(len(w.all))] // a restart or another container of an earlier pod
	} else {
		p = w.newPod()
		w.all = append(w.all, p)
		w.objs[p] = nriPod(p.spec, w.seq)
	}
	name := "app"
	switch x := w.r.IntN(10); {
	case x == 0:
		name = "sidecar"
	case x == 1:
		name = "web-frontend"
	}
	profile, policy := api.SecurityProfile_RUNTIME_DEFAULT, w.rd
	if w.r.IntN(10) < 3 {
		profile, policy = api.SecurityProfile_UNCONFINED, nil
	}
	pod := w.objs[p]
	return memCreate{pod: pod, ctr: nriContainer(pod, name, p.image, w.seq, profile, policy), want: p.want}
}

func (w *memWorkload) newPod() *memPod {
	yes, no := true, false
	hash := fmt.Sprintf("%08x", w.r.Uint32())
	uid := nriHexID("uid", strconv.Itoa(w.seq))[:32]
	switch x := w.r.IntN(100); {
	case x < 3:
		// Node agents: exempt.
		return &memPod{spec: nriPodSpec{Namespace: "kube-system", Name: "agent-" + hash, UID: uid,
			Labels: map[string]string{"k8s-app": "agent", "controller-revision-hash": hash}},
			image: "registry.k8s.io/agent:1.0", want: &no}
	case x < 8:
		// No team rule: only the floor (and the inject for no profile).
		ns := fmt.Sprintf("misc-%d", w.r.IntN(20))
		return &memPod{spec: nriPodSpec{Namespace: ns, Name: "job-" + hash, UID: uid,
			Labels: map[string]string{"app": "job", "batch.kubernetes.io/job-name": "job-" + hash}},
			image: "registry.example.com/" + ns + "/job:2", want: &yes}
	}
	team := w.r.IntN(memTeams)
	ns := fmt.Sprintf("ns-%d", team)
	if w.r.IntN(2) == 0 {
		ns = fmt.Sprintf("team-%d-%s", team, []string{"dev", "stage", "prod"}[w.r.IntN(3)])
	}
	svc := fmt.Sprintf("svc-%d", w.r.IntN(4))
	return &memPod{spec: nriPodSpec{Namespace: ns, Name: svc + "-" + hash + "-" + uid[:5], UID: uid,
		Labels: map[string]string{"app": fmt.Sprintf("a%d", team), "pod-template-hash": hash, "component": svc}},
		image: fmt.Sprintf("registry.example.com/team-%d/%s:1.%d", team, svc, w.r.IntN(5))}
}

// engineMem is the live heap the engine holds.
type engineMem struct{ policy, caches int64 }

// engineLiveHeap loads the policy into an engine in this process, runs the
// memory workload's decisions through it, and measures the live heap
// (after runtime.GC) the engine holds: the compiled policy, then what its
// caches add.
func engineLiveHeap(policyPath string, rd *api.LinuxSeccomp, decisions int) (engineMem, error) {
	live := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	w := newMemWorkload(rd)
	creates := make([]memCreate, decisions)
	for i := range creates {
		creates[i] = w.next()
	}
	before := live()
	e, err := engine.Load(policyPath, engine.Options{})
	if err != nil {
		return engineMem{}, fmt.Errorf("loading the policy in process: %w", err)
	}
	loaded := live()
	for _, c := range creates {
		if _, err := e.Decide(convert.InputFromNRI(c.pod, c.ctr)); err != nil {
			return engineMem{}, fmt.Errorf("in-process decision: %w", err)
		}
	}
	full := live()
	runtime.KeepAlive(e)
	runtime.KeepAlive(creates)
	return engineMem{policy: loaded - before, caches: full - loaded}, nil
}

// memSleep sleeps for d or until ctx ends.
func memSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
