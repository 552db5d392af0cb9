package posture

import (
	"context"
	"strings"
	"sync"
	"time"
)

// This file is the daemon's side of posture: the same scan and join as the
// command, run periodically, its counts handed to the metrics and every
// new problem container handed to the log once.

// Gauges receives the result of each scan; internal/metrics implements it.
type Gauges interface {
	// PostureScanned gives the containers per state (StateLabel of every
	// class is a key, zero included), the problem containers, the host
	// processes seen and how long the scan took.
	PostureScanned(byState map[string]int, problems, hostProcesses int, took time.Duration)
	// PostureScanFailed counts a scan that could not read /proc.
	PostureScanFailed()
}

// Classes lists every class, in the order reports print them.
var Classes = []Class{ClassDecided, ClassFilteredOtherwise, ClassExempt, ClassUnfiltered}

// StateLabel is a class as a Prometheus label value: Prometheus users write
// label values with underscores ("filtered-otherwise" -> "filtered_otherwise").
func StateLabel(c Class) string { return strings.ReplaceAll(string(c), "-", "_") }

// Book holds the decisions the daemon made, by container id, in place of a
// decision log for the daemon's own scans. It is fed on the creation path
// (Note is a map insert under a mutex) and pruned after each scan to the
// containers still running, so it holds at most the running containers plus
// those created since the last scan.
type Book struct {
	mu sync.Mutex
	m  map[string]noted
}

type noted struct {
	d  Decision
	at time.Time
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{m: map[string]noted{}} }

// Note records the decision for a container id, made at the given time.
func (b *Book) Note(id string, d Decision, at time.Time) {
	if id == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[id] = noted{d: d, at: at}
}

// Snapshot returns a copy of every decision, by container id.
func (b *Book) Snapshot() map[string]Decision {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]Decision, len(b.m))
	for id, n := range b.m {
		out[id] = n.d
	}
	return out
}

// Prune forgets the decisions of containers for which keep is false, unless
// they were noted after since: a container is decided before its first
// process exists, so a scan that ran in between must not drop its decision.
func (b *Book) Prune(keep func(id string) bool, since time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, n := range b.m {
		if !keep(id) && n.at.Before(since) {
			delete(b.m, id)
		}
	}
}

// Len is the number of decisions held.
func (b *Book) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// PruneGrace is how long the book keeps the decision of a container that
// neither has a process nor is listed by containerd (not asked, or not yet
// answering): containerd starts a container some time after the plugin
// decided it (~0.5 s measured on a loaded machine; a CRI client may create
// and start later still).
const PruneGrace = 2 * time.Minute

// Monitor scans the node every Interval. Build it with its fields set; Run
// uses it from one goroutine.
type Monitor struct {
	// Proc is the procfs mount ("/proc").
	Proc string
	// Containerd lists containerd's containers; nil to not ask. An error
	// is reported through ContainerdFailed and the scan goes on without
	// containerd's view (containers then have reach unknown).
	Containerd func(ctx context.Context) (map[string]Meta, []string, error)
	// Book holds the daemon's decisions; required.
	Book *Book
	// Gauges receives each scan's counts; required.
	Gauges Gauges
	// NewProblem is called once for each container that becomes a
	// problem (it is called again only if the container stops being one
	// and becomes one again).
	NewProblem func(Container)
	// ContainerdFailed is called when asking containerd fails after it
	// worked (or on the first failure), with nil when it works again.
	ContainerdFailed func(error)
	// ScanFailed is called when /proc cannot be read.
	ScanFailed func(error)
	// Interval between scans; must be positive.
	Interval time.Duration
	// Now is time.Now outside tests.
	Now func() time.Time

	problems     map[string]bool
	containerdOK *bool
}

// Run scans at once and then every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		m.ScanOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Both may be ready; select picks either, so a cancelled
			// context must still win over a tick.
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// ScanOnce runs one scan, updates the gauges and reports new problems. It
// returns the report (empty when /proc could not be read).
func (m *Monitor) ScanOnce(ctx context.Context) Report {
	start := m.Now()
	// Decisions first, as in the command: a decision noted after the walk
	// cannot be missing for a container the walk found.
	in := Input{Decisions: m.Book.Snapshot()}
	var notes []string
	if m.Containerd != nil {
		meta, warnings, err := m.Containerd(ctx)
		m.containerdState(err)
		if err == nil {
			in.Meta = meta
			notes = warnings
		}
	}
	known := make(map[string]bool, len(in.Meta))
	for id := range in.Meta {
		known[id] = true
	}
	scan, err := ScanProc(m.Proc, known)
	if err != nil {
		m.Gauges.PostureScanFailed()
		if m.ScanFailed != nil {
			m.ScanFailed(err)
		}
		return Report{}
	}
	in.Scan = scan
	rep := Build(in)
	rep.Notes = append(rep.Notes, notes...)
	// Kept: containers with a process, and those containerd still lists
	// (created, not yet started); others only for a grace period.
	m.Book.Prune(func(id string) bool {
		_, running := scan.Containers[id]
		_, listed := in.Meta[id]
		return running || listed
	}, start.Add(-max(m.Interval, PruneGrace)))

	byState := make(map[string]int, len(Classes))
	for _, c := range Classes {
		byState[StateLabel(c)] = 0
	}
	for _, c := range rep.Containers {
		byState[StateLabel(c.Class)]++
	}
	m.Gauges.PostureScanned(byState, rep.Problems, rep.HostProcesses, m.Now().Sub(start))
	m.reportProblems(rep)
	return rep
}

// reportProblems calls NewProblem for problem containers the previous scan
// did not have; the set kept is the current problems only, so it is bounded
// by the running containers.
func (m *Monitor) reportProblems(rep Report) {
	now := make(map[string]bool, rep.Problems)
	for _, c := range rep.Containers {
		if c.Problem == "" {
			continue
		}
		now[c.ID] = true
		if !m.problems[c.ID] && m.NewProblem != nil {
			m.NewProblem(c)
		}
	}
	m.problems = now
}

// containerdState reports containerd's failures on a change of state only:
// a containerd that is down must not log every Interval.
func (m *Monitor) containerdState(err error) {
	ok := err == nil
	if m.containerdOK != nil && *m.containerdOK == ok {
		return
	}
	first := m.containerdOK == nil
	m.containerdOK = &ok
	if m.ContainerdFailed == nil || (first && ok) {
		return
	}
	m.ContainerdFailed(err)
}
