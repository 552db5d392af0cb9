package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/learn"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
	"github.com/nri-seccomp/nri-seccomp/test/workloads/images"
)

// Treatment is one column of the matrix: how the container asks for seccomp
// (its CRI profile type) and the policy rule nri-seccomp applies to its
// namespace.
type Treatment struct {
	Name      string
	Doc       string
	Namespace string
	Seccomp   string // CRI profile type of the container
	Rule      string // the policy rule (YAML, one list item), %s = namespace
	// NoNewPrivs runs the containers with no_new_privs (Kubernetes'
	// allowPrivilegeEscalation: false).
	NoNewPrivs bool
	// Learn names the learning treatment a recorded column's profiles come
	// from ("" for a fixed treatment), RecordFlags the extra flags of
	// `nri-seccomp record`.
	Learn       string
	RecordFlags []string
	// Misuse: a recorded profile applied where it does not belong, to
	// show how it fails; left out of the goals.
	Misuse bool
}

// recorded reports whether t is a column of recorded profiles.
func (t Treatment) recorded() bool { return t.Learn != "" }

// Treatments, in the report's order. Every enforcing rule has logDenied
// (runc 1.2.8), so refusals reach the audit log. "containerd" tightens
// containerd's own RuntimeDefault with the built-in copy of it: the same
// filter (the built-in is generated from containerd's code), with the log
// flag that containerd alone never sets.
var treatments = []Treatment{
	{Name: "unconfined", Doc: "no filter (CRI `Unconfined`, rule `exempt`)", Namespace: "wl-unconfined", Seccomp: harness.SeccompUnconfined,
		Rule: "- name: unconfined\n  match: {namespaces: [%s]}\n  action: exempt\n"},
	{Name: "containerd", Doc: "containerd's `RuntimeDefault` (tightened with its built-in copy for `logDenied`)", Namespace: "wl-containerd", Seccomp: harness.SeccompRuntimeDefault,
		Rule: "- name: containerd\n  match: {namespaces: [%s]}\n  action: tighten\n  profile: runtime-default\n  logDenied: true\n"},
	{Name: "runtime-default", Doc: "nri-seccomp's `runtime-default`, injected into an `Unconfined` container", Namespace: "wl-runtime-default", Seccomp: harness.SeccompUnconfined,
		Rule: "- name: runtime-default\n  match: {namespaces: [%s]}\n  action: inject\n  profile: runtime-default\n  logDenied: true\n"},
	{Name: "hardened", Doc: "`hardened`, injected", Namespace: "wl-hardened", Seccomp: harness.SeccompUnconfined,
		Rule: "- name: hardened\n  match: {namespaces: [%s]}\n  action: inject\n  profile: hardened\n  logDenied: true\n"},
	{Name: "minimal", Doc: "`minimal`, injected", Namespace: "wl-minimal", Seccomp: harness.SeccompUnconfined,
		Rule: "- name: minimal\n  match: {namespaces: [%s]}\n  action: inject\n  profile: minimal\n  logDenied: true\n"},
	{Name: "recorded", Doc: "its recorded profile (`tighten` over `RuntimeDefault`), learnt under A on two replicas", Namespace: "wl-recorded", Seccomp: harness.SeccompRuntimeDefault,
		Learn: "learn"},
	{Name: "recorded+families", Doc: "the same recording with `record --families` (siblings of what was seen, listed below)", Namespace: "wl-recorded-fam", Seccomp: harness.SeccompRuntimeDefault,
		Learn: "learn", RecordFlags: []string{"--families"}},
	{Name: "recorded-nnp", Doc: "learnt and enforced with no_new_privs (`allowPrivilegeEscalation: false`), `record --no-new-privs` (runc's smaller base set)", Namespace: "wl-recorded-nnp", Seccomp: harness.SeccompRuntimeDefault,
		NoNewPrivs: true, Learn: "learn-nnp", RecordFlags: []string{"--no-new-privs"}},
	{Name: "recorded-nnp+families", Doc: "both", Namespace: "wl-recorded-nnp-fam", Seccomp: harness.SeccompRuntimeDefault,
		NoNewPrivs: true, Learn: "learn-nnp", RecordFlags: []string{"--no-new-privs", "--families"}},
	{Name: "nnp-profile-without-nnp", Doc: "recorded-nnp's profile applied to a container WITHOUT no_new_privs (a misuse: it must fail loudly, not run)", Namespace: "wl-nnp-misuse", Seccomp: harness.SeccompRuntimeDefault,
		Learn: "learn-nnp", RecordFlags: []string{"--no-new-privs"}, Misuse: true},
}

// learn is the documented audit-mode rule (docs/audit.md): refuse-all in
// audit mode over RuntimeDefault logs every call the workload makes.
var learns = []Treatment{
	{Name: "learn", Namespace: "wl-learn", Seccomp: harness.SeccompRuntimeDefault,
		Rule: "- name: learn\n  match: {namespaces: [%s]}\n  action: tighten\n  profile: refuse-all\n  mode: audit\n"},
	{Name: "learn-nnp", Namespace: "wl-learn-nnp", Seccomp: harness.SeccompRuntimeDefault, NoNewPrivs: true,
		Rule: "- name: learn-nnp\n  match: {namespaces: [%s]}\n  action: tighten\n  profile: refuse-all\n  mode: audit\n"},
}

func learnTreatment(name string) Treatment {
	for _, l := range learns {
		if l.Name == name {
			return l
		}
	}
	panic("no learning treatment " + name)
}

const replicas = 2

// Cell is one workload under one treatment.
type Cell struct {
	Workload  string   `json:"workload"`
	Treatment string   `json:"treatment"`
	Pod       string   `json:"pod"`
	Started   bool     `json:"started"`
	StartErr  string   `json:"start_error,omitempty"`
	AErr      string   `json:"a_error,omitempty"`
	BErr      string   `json:"b_error,omitempty"`
	ARan      bool     `json:"a_ran"`
	BRan      bool     `json:"b_ran"`
	Allowed   int      `json:"allowed"` // syscalls allowed (x86_64 names); -1: no filter
	BPF       int      `json:"bpf"`     // BPF instructions; 0: no filter
	RefusedA  []string `json:"refused_a,omitempty"`
	RefusedB  []string `json:"refused_b,omitempty"`
	// Unattributed are refusals logged while the cell ran that the daemon
	// matched to no pod (a process that exited before it was attributed):
	// shown, never dropped, since they may be this cell's.
	Unattributed []string `json:"unattributed,omitempty"`
	Seconds      float64  `json:"seconds"`
	// times bound the phases for the refusals: start..aEnd is A (with
	// start-up), aEnd..end is B (with the restart and the final stop).
	start, aEnd, end time.Time
	namespace        string
}

func (c *Cell) pass(phase string) bool {
	if phase == "A" {
		return c.Started && c.ARan && c.AErr == ""
	}
	return c.Started && c.BRan && c.BErr == ""
}

func wanted(o options, name string) bool {
	if o.smoke && len(o.workloads) == 0 {
		return name == "redis" || name == "python"
	}
	return len(o.workloads) == 0 || slices.Contains(o.workloads, name)
}

func wantedTreatment(o options, name string) bool {
	if o.smoke && len(o.cells) == 0 {
		return name == "hardened" || name == "recorded"
	}
	return len(o.cells) == 0 || slices.Contains(o.cells, name)
}

// Run is everything the report needs.
type Run struct {
	Date       string        `json:"date"`
	Smoke      bool          `json:"smoke"`
	ImagesTook time.Duration `json:"images_took"`
	MatrixTook time.Duration `json:"matrix_took"`
	Cells      []*Cell       `json:"cells"`
	Learn      []*Cell       `json:"learn"`
	// Recorded: per recorded treatment, per workload, the names allowed.
	Recorded map[string]map[string][]string
	// Widened: per recorded treatment, per workload, record's "widened:"
	// lines.
	Widened    map[string]map[string][]string
	Workloads  []Workload `json:"-"`
	Treatments []Treatment
	Kernel     string
	// AuditLost is how many records the kernel's audit dropped during the
	// run (auditctl -s "lost", after minus before); -1: unknown.
	AuditLost int `json:"audit_lost"`
	// Merged lists the cells a later run replaced (-render with several
	// files), so the report says which figures come from which run.
	Merged      []string `json:"merged,omitempty"`
	ImageSizes  map[string]int64
	PackageRefs map[string]string
}

func matrix(ctx context.Context, o options, root string, built map[string]images.Built, took time.Duration) error {
	if o.bin == "" {
		return errors.New("-bin is required (make build)")
	}
	start := time.Now()
	tools, err := harness.FindTools()
	if err != nil {
		return err
	}
	// The plugin checks logDenied against the runc containerd runs.
	os.Setenv("NRI_SECCOMP_RUNC", tools.Runc12)
	stopAuditd, err := ensureAuditd()
	if err != nil {
		return err
	}
	defer stopAuditd()
	// The kernel counts the records it could not queue (rate limit,
	// backlog full): a lost record is a syscall the matrix cannot see.
	lostBefore, err := auditStatus("lost")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "workloads-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	base, err := harness.BuildImages(ctx, root, filepath.Join(work, "images"))
	if err != nil {
		return err
	}
	c, err := harness.StartContainerd(ctx, harness.ContainerdOptions{Runc: tools.Runc12, Images: base, PluginRequestTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Stop(context.Background())
	for _, b := range built {
		if _, err := c.Ctr(ctx, "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", b.Archive); err != nil {
			return fmt.Errorf("import %s: %w", b.Name, err)
		}
	}
	logf("containerd ready, %d workload images imported", len(built))

	run := &Run{Date: time.Now().UTC().Format("2006-01-02"), Smoke: o.smoke, ImagesTook: took,
		Recorded: map[string]map[string][]string{}, Widened: map[string]map[string][]string{}}
	var wls []Workload
	for _, w := range Workloads() {
		if wanted(o, w.Name) {
			wls = append(wls, w)
		}
	}
	run.Workloads = wls
	var rec []Treatment
	learnWanted := map[string]bool{}
	for _, t := range treatments {
		if wantedTreatment(o, t.Name) {
			run.Treatments = append(run.Treatments, t)
			if t.recorded() {
				rec = append(rec, t)
				learnWanted[t.Learn] = true
			}
		}
	}
	var learning []Treatment
	for _, l := range learns {
		if learnWanted[l.Name] {
			learning = append(learning, l)
		}
	}

	// Phase 1: the fixed treatments and the learning runs, one daemon.
	events1 := filepath.Join(c.Dir, "events-1.jsonl")
	pol1 := policy(append(slices.Clone(run.Treatments), learning...), nil)
	p, err := startPlugin(ctx, c, o.bin, work, "policy-1.yaml", pol1, events1)
	if err != nil {
		return err
	}
	for _, w := range wls {
		for _, t := range run.Treatments {
			if t.recorded() {
				continue
			}
			run.Cells = append(run.Cells, runCell(ctx, c, w, built[w.Image], t, w.Name, true))
		}
		for _, l := range learning {
			for r := 1; r <= replicas; r++ {
				run.Learn = append(run.Learn, runCell(ctx, c, w, built[w.Image], l, fmt.Sprintf("%s-%d", w.Name, r), false))
			}
		}
	}
	// The daemon emits a window's summaries when it ends: wait them out.
	time.Sleep(2500 * time.Millisecond)
	if _, err := p.Stop(); err != nil {
		logf("stopping the daemon: %v", err)
	}
	keep(o, events1)
	ev1, err := readEvents(events1)
	if err != nil {
		return err
	}
	attribute(run.Cells, ev1)
	attribute(run.Learn, ev1)

	// Record, one profile per workload from both replicas, then enforce.
	if len(rec) > 0 {
		profiles := map[string]map[string]string{}
		for _, t := range rec {
			profiles[t.Name] = map[string]string{}
			run.Recorded[t.Name] = map[string][]string{}
			run.Widened[t.Name] = map[string][]string{}
			for _, w := range wls {
				r, err := record(ctx, o.bin, events1, work, w.Name, t)
				if err != nil {
					logf("record %s for %s: %v", w.Name, t.Name, err)
					continue
				}
				profiles[t.Name][w.Name] = r.path
				run.Recorded[t.Name][w.Name] = r.names
				run.Widened[t.Name][w.Name] = r.widened
			}
		}
		events2 := filepath.Join(c.Dir, "events-2.jsonl")
		p2, err := startPlugin(ctx, c, o.bin, work, "policy-2.yaml", policy(rec, profiles), events2)
		if err != nil {
			return err
		}
		var cells []*Cell
		for _, w := range wls {
			for _, t := range rec {
				if profiles[t.Name][w.Name] == "" {
					cells = append(cells, &Cell{Workload: w.Name, Treatment: t.Name, StartErr: "no recorded profile"})
					continue
				}
				cells = append(cells, runCell(ctx, c, w, built[w.Image], t, w.Name, true))
			}
		}
		time.Sleep(2500 * time.Millisecond)
		if _, err := p2.Stop(); err != nil {
			logf("stopping the daemon: %v", err)
		}
		keep(o, events2)
		for _, t := range slices.Sorted(maps.Keys(profiles)) {
			for _, n := range slices.Sorted(maps.Keys(profiles[t])) {
				keep(o, profiles[t][n])
			}
		}
		ev2, err := readEvents(events2)
		if err != nil {
			return err
		}
		attribute(cells, ev2)
		run.Cells = append(run.Cells, cells...)
	}
	run.MatrixTook = time.Since(start)
	if lost, err := auditStatus("lost"); err == nil {
		run.AuditLost = lost - lostBefore
	} else {
		logf("audit lost counter: %v", err)
		run.AuditLost = -1
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		run.Kernel = strings.TrimSpace(string(k))
	}
	run.ImageSizes = map[string]int64{}
	for n, b := range built {
		if fi, err := os.Stat(b.Archive); err == nil {
			run.ImageSizes[n] = fi.Size()
		}
	}
	if o.json != "" {
		data, err := json.MarshalIndent(run, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.json, data, 0o644); err != nil {
			return err
		}
	}
	report := Report(run)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	} else {
		fmt.Print(report)
	}
	logf("matrix took %s (images %s)", run.MatrixTook.Round(time.Second), took.Round(100*time.Millisecond))
	if failed := Failures(run); len(failed) > 0 && o.smoke {
		return fmt.Errorf("smoke: %s", strings.Join(failed, "; "))
	}
	return nil
}

// keep copies a file of the run (events, recorded profiles) into -keep.
func keep(o options, path string) {
	if o.keep == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(o.keep, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(o.keep, filepath.Base(path)), data, 0o644)
	}
	if err != nil {
		logf("keep %s: %v", path, err)
	}
}

// policy writes one policy for the treatments (learning ones included);
// recorded profiles are declared by file, per recorded treatment and
// workload, and matched by the pod's workload label.
func policy(ts []Treatment, recorded map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nprofiles:\n  refuse-all: {inline: {defaultAction: SCMP_ACT_ERRNO}}\n")
	for _, t := range slices.Sorted(maps.Keys(recorded)) {
		for _, n := range slices.Sorted(maps.Keys(recorded[t])) {
			fmt.Fprintf(&b, "  %s: {file: %s}\n", recProfile(t, n), recorded[t][n])
		}
	}
	b.WriteString("rules:\n")
	for _, t := range ts {
		if t.recorded() {
			for _, n := range slices.Sorted(maps.Keys(recorded[t.Name])) {
				fmt.Fprintf(&b, "- name: %s\n  match: {namespaces: [%s], podSelector: {matchLabels: {workload: %s}}}\n  action: tighten\n  profile: %s\n  logDenied: true\n",
					recProfile(t.Name, n), t.Namespace, n, recProfile(t.Name, n))
			}
			continue
		}
		fmt.Fprintf(&b, t.Rule, t.Namespace)
	}
	return b.String()
}

// recProfile names a recorded profile (and its rule) in the policy.
func recProfile(treatment, workload string) string {
	r := strings.NewReplacer("+", "-")
	return "rec-" + r.Replace(treatment) + "-" + workload
}

func startPlugin(ctx context.Context, c *harness.Containerd, bin, work, name, pol, events string) (*harness.Plugin, error) {
	path := filepath.Join(work, name)
	if err := os.WriteFile(path, []byte(pol), 0o644); err != nil {
		return nil, err
	}
	p, err := c.StartPlugin(ctx, bin, path, "--audit", "--audit-events", events, "--audit-window", "1s")
	if err != nil {
		return nil, fmt.Errorf("start the plugin with %s: %w\n%s", name, err, pol)
	}
	return p, nil
}

// runCell runs one workload under one treatment: start, A, then (withB) B,
// then a graceful stop. Failures are recorded in the cell, never fatal.
func runCell(ctx context.Context, c *harness.Containerd, w Workload, img images.Built, t Treatment, pod string, withB bool) *Cell {
	cell := &Cell{Workload: w.Name, Treatment: t.Name, Pod: pod, namespace: t.Namespace, Allowed: -1, start: time.Now()}
	logf("%s under %s: starting", w.Name, t.Name)
	defer func() {
		cell.end = time.Now()
		if cell.aEnd.IsZero() {
			cell.aEnd = cell.end
		}
		cell.Seconds = cell.end.Sub(cell.start).Seconds()
		logf("%s under %s: started %v, A %v %s, B %v %s (%.1fs)", w.Name, t.Name, cell.Started, cell.pass("A"), cell.AErr, cell.pass("B"), cell.BErr, cell.Seconds)
	}()
	p, err := c.RunPod(ctx, harness.PodSpec{Name: pod, Namespace: t.Namespace, Labels: map[string]string{"workload": w.Name}})
	if err != nil {
		cell.StartErr = err.Error()
		return cell
	}
	defer func() {
		if err := p.Remove(context.Background()); err != nil {
			logf("remove pod %s: %v", pod, err)
		}
	}()
	port, err := freePort()
	if err != nil {
		cell.StartErr = err.Error()
		return cell
	}
	spec := harness.ContainerSpec{Name: "app", Image: img.Ref, Command: w.Command(port), Seccomp: t.Seccomp, NoNewPrivs: t.NoNewPrivs, Labels: map[string]string{"workload": w.Name}}
	var ct *harness.Container
	e := &env{port: port, rootfs: img.Rootfs}
	e.pid = func() (int, error) { return pidOf(ctx, ct) }
	startCt := func(ctx context.Context) error {
		var err error
		if ct, err = p.RunContainer(ctx, spec); err != nil {
			return err
		}
		if err := waitPort(ctx, port, 60*time.Second, func() error { return exited(ctx, ct) }); err != nil {
			return err
		}
		if w.Ready != nil {
			return w.Ready(ctx, e)
		}
		return nil
	}
	if err := startCt(ctx); err != nil {
		cell.StartErr = err.Error()
		return cell
	}
	cell.Started = true
	if ins, err := ct.Inspect(ctx); err == nil {
		cell.Allowed, cell.BPF = filterSize(ins)
	} else {
		logf("inspect: %v", err)
	}
	e.restart = func(ctx context.Context) error {
		if err := stopContainer(ctx, c, ct); err != nil {
			return err
		}
		if _, err := c.Crictl(ctx, "rm", ct.ID); err != nil {
			return err
		}
		return startCt(ctx)
	}
	cell.ARan = true
	if err := phase(ctx, w.A, e); err != nil {
		cell.AErr = err.Error()
	}
	cell.aEnd = time.Now()
	if withB && cell.AErr == "" {
		cell.BRan = true
		if err := phase(ctx, w.B, e); err != nil {
			cell.BErr = err.Error()
		}
	}
	if err := stopContainer(ctx, c, ct); err != nil {
		logf("stop: %v", err)
	}
	// Records reach the daemon through auditd; give them a moment while
	// the container's processes are still known.
	time.Sleep(1500 * time.Millisecond)
	return cell
}

// phaseLimit bounds an exercise: a server that hangs under a filter (a
// refused call it retries forever) must fail its cell, not stall the run.
const phaseLimit = 4 * time.Minute

func phase(ctx context.Context, f func(context.Context, *env) error, e *env) error {
	ctx, cancel := context.WithTimeout(ctx, phaseLimit)
	defer cancel()
	return f(ctx, e)
}

func stopContainer(ctx context.Context, c *harness.Containerd, ct *harness.Container) error {
	_, err := c.Crictl(ctx, "stop", "--timeout", "10", ct.ID)
	return err
}

func freePort() (int, error) {
	addr, err := harness.FreeAddr()
	if err != nil {
		return 0, err
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// exited is an error when the container is no longer running, with the
// end of its log.
func exited(ctx context.Context, ct *harness.Container) error {
	ins, err := ct.Inspect(ctx)
	if err != nil {
		return err
	}
	st, _ := ins["status"].(map[string]any)
	if s, _ := st["state"].(string); s == "CONTAINER_EXITED" {
		logs, _ := ct.Logs(ctx)
		return fmt.Errorf("exited with %v: %s", st["exitCode"], lastLines(logs, 4))
	}
	return nil
}

func pidOf(ctx context.Context, ct *harness.Container) (int, error) {
	ins, err := ct.Inspect(ctx)
	if err != nil {
		return 0, err
	}
	info, _ := ins["info"].(map[string]any)
	pid, _ := info["pid"].(float64)
	if pid <= 0 {
		return 0, errors.New("no pid in crictl inspect")
	}
	return int(pid), nil
}

// filterSize reads the seccomp section containerd handed runc (after the
// plugin's adjustment) and returns the syscalls it allows, at least for
// some arguments, on x86_64, and its BPF length as libseccomp compiles it.
func filterSize(ins map[string]any) (allowed, bpf int) {
	info, _ := ins["info"].(map[string]any)
	rs, _ := info["runtimeSpec"].(map[string]any)
	linux, _ := rs["linux"].(map[string]any)
	raw, ok := linux["seccomp"]
	if !ok || raw == nil {
		return -1, 0
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return -1, 0
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(data, &s); err != nil {
		return -1, 0
	}
	return allowedCount(&s), bpfLen(&s)
}

func allowedCount(s *specs.LinuxSeccomp) int {
	if s.DefaultAction == specs.ActAllow || s.DefaultAction == specs.ActLog {
		return -1
	}
	names := map[string]bool{}
	for _, r := range s.Syscalls {
		if r.Action != specs.ActAllow && r.Action != specs.ActLog {
			continue
		}
		for _, n := range r.Names {
			if _, ok := seccompbpf.Number(specs.ArchX86_64, n); ok {
				names[n] = true
			}
		}
	}
	return len(names)
}

func bpfLen(s *specs.LinuxSeccomp) int {
	p, err := seccompbpf.Compile(s)
	if err != nil {
		logf("compile: %v", err)
		return 0
	}
	return p.Len()
}

// readEvents reads the daemon's --audit-events file.
func readEvents(path string) ([]live.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var evs []live.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev live.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		evs = append(evs, ev)
	}
	return evs, sc.Err()
}

// attribute fills each cell's refusals from the events of its pod, split
// by phase at the end of A.
func attribute(cells []*Cell, evs []live.Event) {
	for _, c := range cells {
		a, b, un := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, ev := range evs {
			if ev.Refused && ev.Namespace == "" && !ev.Time.Before(c.start) && !ev.Time.After(c.end) {
				un[ev.Syscall] = true
			}
			if !ev.Refused || ev.Namespace != c.namespace || ev.Pod != c.Pod {
				continue
			}
			if ev.Time.Before(c.aEnd) {
				a[ev.Syscall] = true
			} else {
				b[ev.Syscall] = true
			}
		}
		c.RefusedA, c.RefusedB, c.Unattributed = sortedKeys(a), sortedKeys(b), sortedKeys(un)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// recording is one recorded profile of the matrix.
type recording struct {
	path    string
	names   []string
	widened []string // record's "widened:" lines, of both replicas
}

// record runs `nri-seccomp record` (with t's flags) for each learning
// replica of t.Learn and merges the profiles: the union of what either
// replica was seen calling.
func record(ctx context.Context, bin, events, work, name string, t Treatment) (recording, error) {
	var (
		profs []*specs.LinuxSeccomp
		res   recording
	)
	ns := learnTreatment(t.Learn).Namespace
	for r := 1; r <= replicas; r++ {
		out := filepath.Join(work, fmt.Sprintf("%s-%d.json", recProfile(t.Name, name), r))
		args := append([]string{"record", "--log", events, "--namespace", ns, "--pod", fmt.Sprintf("%s-%d", name, r), "-o", out}, t.RecordFlags...)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.WaitDelay = 5 * time.Second
		b, err := cmd.CombinedOutput()
		if err != nil {
			return res, fmt.Errorf("%w: %s", err, b)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if w, ok := strings.CutPrefix(l, "widened: "); ok && !slices.Contains(res.widened, w) {
				res.widened = append(res.widened, w)
			}
			if strings.HasPrefix(l, "warning: ") && !strings.Contains(l, learn.NotCovered) {
				logf("record %s for %s: %s", name, t.Name, l)
			}
		}
		data, err := os.ReadFile(out)
		if err != nil {
			return res, err
		}
		var s specs.LinuxSeccomp
		if err := json.Unmarshal(data, &s); err != nil {
			return res, err
		}
		profs = append(profs, &s)
	}
	merged := mergeAllow(profs)
	data, err := json.MarshalIndent(merged, "", "  ")
	if err != nil {
		return res, err
	}
	res.path = filepath.Join(work, recProfile(t.Name, name)+".json")
	if err := os.WriteFile(res.path, data, 0o644); err != nil {
		return res, err
	}
	res.names = allowedNames(merged)
	return res, nil
}

// mergeAllow is the union of recorded allow-lists: the first profile, with
// every unconditional allow of the others that it lacks added as one rule.
// (Recorded profiles are allow-lists over SCMP_ACT_ERRNO, nothing else.)
func mergeAllow(ps []*specs.LinuxSeccomp) *specs.LinuxSeccomp {
	out := *ps[0]
	out.Syscalls = slices.Clone(ps[0].Syscalls)
	have := map[string]bool{}
	for _, n := range allowedNames(&out) {
		have[n] = true
	}
	var extra []string
	for _, p := range ps[1:] {
		for _, r := range p.Syscalls {
			if r.Action != specs.ActAllow || len(r.Args) > 0 {
				continue
			}
			for _, n := range r.Names {
				if !have[n] {
					have[n] = true
					extra = append(extra, n)
				}
			}
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: extra, Action: specs.ActAllow})
	}
	return &out
}

func allowedNames(s *specs.LinuxSeccomp) []string {
	m := map[string]bool{}
	for _, r := range s.Syscalls {
		if r.Action == specs.ActAllow {
			for _, n := range r.Names {
				m[n] = true
			}
		}
	}
	return sortedKeys(m)
}

// ensureAuditd makes sure an auditd receives the kernel's records (the
// kernel log passes 10 per 5 s): the running one, or a private one
// (`auditd -n -c DIR`) stopped by the returned function. The backlog is
// raised meanwhile and restored.
func ensureAuditd() (func(), error) {
	backlog, err := auditStatus("backlog_limit")
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command("auditctl", "-b", "8192").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("auditctl -b: %w: %s", err, out)
	}
	restore := func() {
		if out, err := exec.Command("auditctl", "-b", strconv.Itoa(backlog)).CombinedOutput(); err != nil {
			logf("restoring the audit backlog limit: %v: %s", err, out)
		}
	}
	if log, ok := source.AuditdLog("/proc"); ok {
		logf("using the running auditd (log %s)", log)
		return restore, nil
	}
	dir, err := os.MkdirTemp("", "workloads-auditd-")
	if err != nil {
		return nil, err
	}
	log := filepath.Join(dir, "audit.log")
	conf := fmt.Sprintf("log_file = %s\nlog_format = ENRICHED\nwrite_logs = yes\nflush = INCREMENTAL_ASYNC\nfreq = 20\n"+
		"max_log_file = 256\nmax_log_file_action = ROTATE\nnum_logs = 2\nspace_left = 10\nadmin_space_left = 5\n"+
		"space_left_action = IGNORE\nadmin_space_left_action = IGNORE\ndisk_full_action = IGNORE\ndisk_error_action = IGNORE\n"+
		"plugin_dir = %s\nlocal_events = yes\nq_depth = 2000\n", log, dir)
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), []byte(conf), 0o640); err != nil {
		return nil, err
	}
	cmd := exec.Command("auditd", "-n", "-c", dir)
	out, _ := os.Create(filepath.Join(dir, "auditd.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start auditd: %w", err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out.Close()
		os.RemoveAll(dir)
		restore()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pid, err := auditStatus("pid")
		if err == nil && pid == cmd.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("auditd did not register with the kernel")
		}
		time.Sleep(50 * time.Millisecond)
	}
	logf("started a private auditd (log %s)", log)
	return stop, nil
}

func auditStatus(key string) (int, error) {
	out, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("auditctl -s: %w: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("auditctl -s: no %s", key)
}
