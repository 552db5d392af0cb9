package posture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// fakeProc is a procfs in a temporary directory that tests change between
// scans.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc {
	p := &fakeProc{t: t, root: t.TempDir()}
	p.add(1, "", 0) // the host's init
	return p
}

// add writes a process in container id ("" for the host) with seccomp mode.
func (p *fakeProc) add(pid int, id string, seccomp int) {
	dir := filepath.Join(p.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	cgroup := "0::/\n"
	if id != "" {
		cgroup = "0::/k8s.io/" + id + "\n"
	}
	status := fmt.Sprintf("Name:\tx\nSeccomp:\t%d\nSeccomp_filters:\t%d\n", seccomp, seccomp/2)
	for name, data := range map[string]string{"cgroup": cgroup, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *fakeProc) remove(pid int) {
	if err := os.RemoveAll(filepath.Join(p.root, strconv.Itoa(pid))); err != nil {
		p.t.Fatal(err)
	}
}

type gaugeCall struct {
	byState  map[string]int
	problems int
	host     int
}

type fakeGauges struct {
	calls  []gaugeCall
	failed int
}

func (g *fakeGauges) PostureScanned(byState map[string]int, problems, host int, _ time.Duration) {
	g.calls = append(g.calls, gaugeCall{byState, problems, host})
}
func (g *fakeGauges) PostureScanFailed() { g.failed++ }

func (g *fakeGauges) last(t *testing.T) gaugeCall {
	t.Helper()
	if len(g.calls) == 0 {
		t.Fatal("no scan recorded")
	}
	return g.calls[len(g.calls)-1]
}

func states(decided, other, exempt, unfiltered int) map[string]int {
	return map[string]int{"decided": decided, "filtered_otherwise": other, "exempt": exempt, "unfiltered": unfiltered}
}

// clock is a settable Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMonitorGaugesAndNewProblems(t *testing.T) {
	proc := newFakeProc(t)
	idCtr, idPod, idExempt, idSandbox := id64("1"), id64("2"), id64("3"), id64("4")
	proc.add(10, idCtr, 0)     // ctr run: outside CRI, unfiltered
	proc.add(20, idPod, 2)     // decided
	proc.add(30, idExempt, 0)  // exempt, unfiltered: not a problem
	proc.add(40, idSandbox, 0) // pause: not a problem
	meta := map[string]Meta{
		idCtr:     {Namespace: "default", Image: "busybox"},
		idPod:     criMeta("container", "shop", "web", "app"),
		idExempt:  criMeta("container", "ops", "agent", "tool"),
		idSandbox: criMeta("sandbox", "shop", "web", ""),
	}
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	book := NewBook()
	book.Note(idPod, Decision{Rules: []string{"floor"}, Mode: "enforce"}, clk.t)
	book.Note(idExempt, Decision{Rules: []string{"ops"}, Exempt: true}, clk.t)
	g := &fakeGauges{}
	var logged []string
	m := &Monitor{
		Proc: proc.root, Book: book, Gauges: g, Interval: time.Minute, Now: clk.now,
		Containerd: func(context.Context) (map[string]Meta, []string, error) { return meta, nil, nil },
		NewProblem: func(c Container) { logged = append(logged, c.ID[:1]) },
	}
	ctx := context.Background()

	m.ScanOnce(ctx)
	want := gaugeCall{states(1, 0, 1, 2), 1, 1}
	if got := g.last(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("first scan: got %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(logged, []string{"1"}) {
		t.Fatalf("first scan logged %v, want the ctr container", logged)
	}

	// The same problem again: not logged again.
	clk.t = clk.t.Add(time.Minute)
	m.ScanOnce(ctx)
	if len(logged) != 1 {
		t.Fatalf("a known problem was logged again: %v", logged)
	}

	// A second unfiltered container appears; the first goes away.
	idNew := id64("5")
	proc.add(50, idNew, 0)
	proc.remove(10)
	meta[idNew] = Meta{Namespace: "default"}
	delete(meta, idCtr)
	clk.t = clk.t.Add(time.Minute)
	m.ScanOnce(ctx)
	if !reflect.DeepEqual(logged, []string{"1", "5"}) {
		t.Fatalf("logged %v, want 1 then 5", logged)
	}
	// The first comes back (same id): a new problem again.
	proc.add(10, idCtr, 0)
	meta[idCtr] = Meta{Namespace: "default"}
	m.ScanOnce(ctx)
	if !reflect.DeepEqual(logged, []string{"1", "5", "1"}) {
		t.Fatalf("logged %v, want 1, 5, 1", logged)
	}
	if want := (gaugeCall{states(1, 0, 1, 3), 2, 1}); !reflect.DeepEqual(g.last(t), want) {
		t.Fatalf("last scan: got %+v, want %+v", g.last(t), want)
	}
}

func TestBookPrune(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	b := NewBook()
	b.Note("running", Decision{Mode: "enforce"}, t0)
	b.Note("gone", Decision{Mode: "enforce"}, t0)
	b.Note("new", Decision{Mode: "audit"}, t0.Add(time.Minute)) // decided, no process yet
	b.Note("", Decision{}, t0)                                  // ignored
	b.Prune(func(id string) bool { return id == "running" }, t0.Add(30*time.Second))
	got := b.Snapshot()
	want := map[string]Decision{"running": {Mode: "enforce"}, "new": {Mode: "audit"}}
	if !reflect.DeepEqual(got, want) || b.Len() != 2 {
		t.Fatalf("after prune: %+v", got)
	}
}

// A decision noted before the container's first process is not lost: the
// container is pruned only when it was decided more than PruneGrace (or an
// interval, if longer) ago and has no process and containerd does not list
// it.
func TestMonitorKeepsFreshDecisions(t *testing.T) {
	proc := newFakeProc(t)
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	book := NewBook()
	id := id64("7")
	book.Note(id, Decision{Rules: []string{"floor"}}, clk.t) // created, not yet running
	g := &fakeGauges{}
	m := &Monitor{Proc: proc.root, Book: book, Gauges: g, Interval: time.Minute, Now: clk.now}
	m.ScanOnce(context.Background())
	if book.Len() != 1 {
		t.Fatal("the decision of a container not yet running was pruned at once")
	}
	clk.t = clk.t.Add(PruneGrace - time.Second)
	m.ScanOnce(context.Background())
	if book.Len() != 1 {
		t.Fatal("the decision of a container not yet running was pruned within the grace period")
	}
	proc.add(70, id, 2)
	clk.t = clk.t.Add(time.Hour)
	m.ScanOnce(context.Background())
	if want := (gaugeCall{states(1, 0, 0, 0), 0, 1}); !reflect.DeepEqual(g.last(t), want) {
		t.Fatalf("got %+v, want %+v", g.last(t), want)
	}
	// Created, not running, but containerd lists it: kept however long.
	proc.remove(70)
	m.Containerd = func(context.Context) (map[string]Meta, []string, error) {
		return map[string]Meta{id: criMeta("container", "ns", "p", "c")}, nil, nil
	}
	clk.t = clk.t.Add(time.Hour)
	m.ScanOnce(context.Background())
	if book.Len() != 1 {
		t.Fatal("the decision of a container containerd lists was pruned")
	}
	m.Containerd = func(context.Context) (map[string]Meta, []string, error) { return map[string]Meta{}, nil, nil }
	m.ScanOnce(context.Background())
	if book.Len() != 0 {
		t.Fatal("the decision of a container gone was kept")
	}
}

func TestMonitorContainerdFailures(t *testing.T) {
	proc := newFakeProc(t)
	errDown := errors.New("down")
	var fail error
	var reported []string
	g := &fakeGauges{}
	m := &Monitor{
		Proc: proc.root, Book: NewBook(), Gauges: g, Interval: time.Minute, Now: time.Now,
		Containerd:       func(context.Context) (map[string]Meta, []string, error) { return map[string]Meta{}, nil, fail },
		ContainerdFailed: func(err error) { reported = append(reported, fmt.Sprint(err)) },
	}
	ctx := context.Background()
	m.ScanOnce(ctx) // works: nothing reported
	fail = errDown
	m.ScanOnce(ctx)
	m.ScanOnce(ctx) // still down: not reported again
	fail = nil
	m.ScanOnce(ctx)
	if want := []string{"down", "<nil>"}; !reflect.DeepEqual(reported, want) {
		t.Fatalf("reported %q, want %q", reported, want)
	}
	if len(g.calls) != 4 {
		t.Fatalf("%d scans recorded, want 4 (containerd down does not stop the scan)", len(g.calls))
	}
}

func TestMonitorScanFailed(t *testing.T) {
	g := &fakeGauges{}
	var errs []error
	m := &Monitor{Proc: filepath.Join(t.TempDir(), "nope"), Book: NewBook(), Gauges: g, Interval: time.Minute,
		Now: time.Now, ScanFailed: func(err error) { errs = append(errs, err) }}
	m.ScanOnce(context.Background())
	if g.failed != 1 || len(g.calls) != 0 || len(errs) != 1 || !errors.Is(errs[0], ErrProc) {
		t.Fatalf("failed=%d calls=%d errs=%v", g.failed, len(g.calls), errs)
	}
}

// Run scans at once, then every interval, and returns when ctx ends.
func TestMonitorRun(t *testing.T) {
	proc := newFakeProc(t)
	ctx, cancel := context.WithCancel(context.Background())
	scans := 0
	g := &countingGauges{fn: func() {
		scans++
		if scans == 2 {
			cancel()
		}
	}}
	m := &Monitor{Proc: proc.root, Book: NewBook(), Gauges: g, Interval: time.Millisecond, Now: time.Now}
	m.Run(ctx) // returns: the test's timeout catches a hang
	if scans != 2 {
		t.Fatalf("%d scans, want 2", scans)
	}
}

type countingGauges struct{ fn func() }

func (g *countingGauges) PostureScanned(map[string]int, int, int, time.Duration) { g.fn() }
func (g *countingGauges) PostureScanFailed()                                     {}

func id64(digit string) string {
	s := ""
	for len(s) < 64 {
		s += digit
	}
	return s
}

// BenchmarkMonitorScan is the daemon's cost per scan with N containers of
// two processes each, plus 150 host processes, on a procfs written to disk
// (real /proc reads are cheaper: no file system, the kernel formats them).
// containerd's list is not included (a fake).
func BenchmarkMonitorScan(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			t := &testing.T{}
			proc := &fakeProc{t: t, root: b.TempDir()}
			pid := 1
			for range 150 {
				proc.add(pid, "", 0)
				pid++
			}
			book := NewBook()
			meta := map[string]Meta{}
			for i := range n {
				id := fmt.Sprintf("%064x", i+1)
				proc.add(pid, id, 2)
				proc.add(pid+1, id, 2)
				pid += 2
				meta[id] = criMeta("container", "ns", "pod", "c")
				book.Note(id, Decision{Rules: []string{"floor"}}, time.Now())
			}
			m := &Monitor{Proc: proc.root, Book: book, Gauges: &countingGauges{fn: func() {}}, Interval: time.Minute, Now: time.Now,
				Containerd: func(context.Context) (map[string]Meta, []string, error) { return meta, nil, nil }}
			b.ResetTimer()
			for b.Loop() {
				m.ScanOnce(context.Background())
			}
		})
	}
}

// BenchmarkMonitorScanRealProc scans this machine's /proc (whatever runs).
func BenchmarkMonitorScanRealProc(b *testing.B) {
	m := &Monitor{Proc: "/proc", Book: NewBook(), Gauges: &countingGauges{fn: func() {}}, Interval: time.Minute, Now: time.Now}
	for b.Loop() {
		m.ScanOnce(context.Background())
	}
}
