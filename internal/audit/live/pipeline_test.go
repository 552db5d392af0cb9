package live

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/containers"
)

// fakeAttributor knows PIDs from a map, which tests may change.
type fakeAttributor struct {
	mu   sync.Mutex
	pids map[int]containers.Container
}

func (f *fakeAttributor) Attribute(pid int) containers.Attribution {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.pids[pid]; ok {
		return containers.Attribution{Container: c, How: containers.ByPID}
	}
	return containers.Attribution{How: containers.Unknown}
}

func (f *fakeAttributor) set(pid int, c containers.Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pids[pid] = c
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func line(pid, nr int, code uint32) []byte {
	return fmt.Appendf(nil, `type=SECCOMP msg=audit(1795726947.184:107): pid=%d comm="app" exe="/app" sig=0 arch=c000003e syscall=%d compat=0 ip=0x1 code=0x%x`, pid, nr, code)
}

func newTestPipeline(t *testing.T, o PipelineOptions) (*Pipeline, *[]Event, *clock, *PromCounters) {
	t.Helper()
	ck := &clock{t: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)}
	var evs []Event
	o.Emit = func(e Event) { evs = append(evs, e) }
	o.Now = ck.now
	pc, err := NewPromCounters(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	o.Counters = pc
	return NewPipeline(o), &evs, ck, pc
}

var web = containers.Container{ID: "c1", Namespace: "shop", Pod: "web-1", Name: "app", Mode: "audit", Rules: []string{"trial"}}

func TestPipelineRateLimitsAndSummarises(t *testing.T) {
	attr := &fakeAttributor{pids: map[int]containers.Container{10: web}}
	p, evs, ck, pc := newTestPipeline(t, PipelineOptions{Attributor: attr, Window: 10 * time.Second, Delay: -1})

	for range 1000 {
		p.Handle(line(10, 83, record.RetLog)) // mkdir, hot
	}
	p.Handle(line(10, 84, record.RetErrno)) // rmdir refused: another key
	if len(*evs) != 2 {
		t.Fatalf("%d events before the window ends, want 2: %+v", len(*evs), *evs)
	}
	first := (*evs)[0]
	if first.Kind != KindRecord || first.Count != 1 || first.Pod != "web-1" || first.Namespace != "shop" || first.Container != "app" ||
		first.Syscall != "mkdir" || first.Action != "SCMP_ACT_LOG" || first.Refused || first.Mode != "audit" || first.Attribution != "pid" {
		t.Fatalf("first event: %+v", first)
	}
	if ev := (*evs)[1]; ev.Syscall != "rmdir" || !ev.Refused {
		t.Fatalf("second event: %+v", ev)
	}
	ck.add(5 * time.Second)
	p.Tick()
	if len(*evs) != 2 {
		t.Fatalf("summary before the window ended: %+v", (*evs)[2:])
	}
	ck.add(5 * time.Second)
	p.Tick()
	if len(*evs) != 3 {
		t.Fatalf("%d events after the window, want 3", len(*evs))
	}
	if s := (*evs)[2]; s.Kind != KindSummary || s.Count != 999 || s.Syscall != "mkdir" || s.Pod != "web-1" {
		t.Fatalf("summary: %+v", s)
	}
	// A new window: the hot syscall is reported once more, at once.
	p.Handle(line(10, 83, record.RetLog))
	if len(*evs) != 4 || (*evs)[3].Kind != KindRecord {
		t.Fatalf("new window: %+v", (*evs)[3:])
	}
	if got := value(t, pc.records.WithLabelValues("shop", "web-1", "app", "mkdir", "SCMP_ACT_LOG")); got != 1001 {
		t.Fatalf("records_total{mkdir} = %v, want 1001 (every record counted)", got)
	}
	if got := value(t, pc.suppressed); got != 999 {
		t.Fatalf("suppressed = %v", got)
	}
}

func TestPipelineBurstAndMaxKeys(t *testing.T) {
	p, evs, _, pc := newTestPipeline(t, PipelineOptions{Burst: 3, MaxKeys: 5, Delay: -1})
	for pid := 1; pid <= 7; pid++ {
		p.Handle(line(pid, 83, record.RetLog)) // unknown PIDs: one key each
	}
	if len(*evs) != 3 {
		t.Fatalf("%d events emitted, want the burst of 3", len(*evs))
	}
	p.Flush()
	// keys 4 and 5 summarised (1 each), 6 and 7 over MaxKeys: overflow.
	var summaries, overflow int
	for _, e := range (*evs)[3:] {
		switch {
		case e.Attribution == "overflow":
			overflow = e.Count
		case e.Kind == KindSummary:
			summaries++
			if e.Attribution != "unknown" || e.Namespace != "" || e.PID < 4 {
				t.Errorf("summary: %+v", e)
			}
		}
	}
	if summaries != 2 || overflow != 2 {
		t.Fatalf("summaries %d overflow %d, want 2 2: %+v", summaries, overflow, (*evs)[3:])
	}
	if got := value(t, pc.suppressed); got != 4 {
		t.Fatalf("suppressed = %v, want 4", got)
	}
}

// A record can be read before containerd reports the container's PID
// (PostStartContainer): unknown PIDs wait Delay and are attributed again.
func TestPipelineDelaysUnknownPIDs(t *testing.T) {
	attr := &fakeAttributor{pids: map[int]containers.Container{}}
	p, evs, ck, _ := newTestPipeline(t, PipelineOptions{Attributor: attr, Delay: time.Second})
	p.Handle(line(42, 83, record.RetLog))
	p.Handle(line(43, 83, record.RetLog))
	if len(*evs) != 0 {
		t.Fatalf("unknown PID emitted at once: %+v", *evs)
	}
	attr.set(42, web)
	ck.add(500 * time.Millisecond)
	p.Tick()
	if len(*evs) != 0 {
		t.Fatal("emitted before the delay")
	}
	ck.add(600 * time.Millisecond)
	p.Tick()
	if len(*evs) != 2 || (*evs)[0].Pod != "web-1" || (*evs)[1].Attribution != "unknown" || (*evs)[1].PID != 43 {
		t.Fatalf("after the delay: %+v", *evs)
	}
}

func TestPipelineCountsMalformed(t *testing.T) {
	p, evs, _, pc := newTestPipeline(t, PipelineOptions{Delay: -1})
	p.Handle([]byte("type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=44"))
	p.Handle([]byte("type=SECCOMP msg=audit(1.000:1): pid=1"))
	p.Handle([]byte("audit: type=1326 garbage"))
	if len(*evs) != 0 || value(t, pc.malformed) != 2 {
		t.Fatalf("events %v malformed %v", *evs, value(t, pc.malformed))
	}
	if _, err := NewPromCounters(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if _, err := NewPromCounters(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPromCounters(reg); err == nil {
		t.Fatal("registering twice: no error")
	}
}

func TestPipelineRunOverCapturedLog(t *testing.T) {
	var evs []Event
	p := NewPipeline(PipelineOptions{Emit: func(e Event) { evs = append(evs, e) }})
	if err := p.Run(context.Background(), source.Files{"../testdata/auditd-enriched.log"}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 8 {
		t.Fatalf("%d events from 8 records: %+v", len(evs), evs)
	}
	for _, e := range evs {
		if e.Kind != KindRecord || e.Known() {
			t.Errorf("event %+v", e)
		}
	}
}

// value reads a counter's current value.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// BenchmarkPipeline: parse, attribute (registry hit), count and rate-limit
// one hot syscall, as the daemon does under a LOG storm.
func BenchmarkPipeline(b *testing.B) {
	reg := containers.NewWithProc(b.TempDir())
	reg.Upsert(containers.Container{ID: "c1", Namespace: "shop", Pod: "web-1", Name: "app", PID: 10})
	pc, err := NewPromCounters(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	emitted := 0
	p := NewPipeline(PipelineOptions{Attributor: reg, Counters: pc, Delay: -1, Emit: func(Event) { emitted++ }})
	l := line(10, 83, record.RetLog)
	b.ReportAllocs()
	for b.Loop() {
		p.Handle(l)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if emitted != 1 {
		b.Fatalf("%d events emitted for one hot key in one window", emitted)
	}
}

// BenchmarkPipelineMixed is a storm from a busy node: 50 containers, each
// logging several syscalls, on both architectures, with one record in ten
// from a process no container owns (a registry miss, looked up in /proc).
func BenchmarkPipelineMixed(b *testing.B) {
	reg := containers.NewWithProc(b.TempDir())
	for i := range 50 {
		reg.Upsert(containers.Container{ID: fmt.Sprintf("c%d", i), Namespace: "shop", Pod: fmt.Sprintf("web-%d", i), Name: "app", PID: 1000 + i})
	}
	pc, err := NewPromCounters(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for i := range 1000 {
		pid := 1000 + i%50
		if i%10 == 9 {
			pid = 90000 + i // no container
		}
		lines = append(lines, line(pid, []int{83, 84, 250, 321, 165, 0}[i%6], record.RetLog))
	}
	emitted := 0
	p := NewPipeline(PipelineOptions{Attributor: reg, Counters: pc, Delay: -1, Emit: func(Event) { emitted++ }})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Handle(lines[i%len(lines)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if emitted == 0 {
		b.Fatal("no event emitted")
	}
}

// A container the registry forgets takes its series with it; another
// container's and the unattributed ones stay. Wired as the daemon wires it
// (containers.OnForget -> Forget), after the removal's grace.
func TestPromCountersForgetRemovedContainers(t *testing.T) {
	reg := prometheus.NewRegistry()
	pc, err := NewPromCounters(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := containers.NewWithProc(t.TempDir())
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	r.OnForget(func(c containers.Container) { pc.Forget(c.Namespace, c.Pod, c.Name) })
	series := func() int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "nri_seccomp_audit_records_total" {
				return len(mf.GetMetric())
			}
		}
		return 0
	}
	for i := range 100 {
		c := containers.Container{ID: fmt.Sprintf("%064x", i), Namespace: "ns", Pod: fmt.Sprintf("p%d", i), Name: "app"}
		r.Upsert(c)
		for _, sc := range []string{"mkdir", "rmdir"} {
			pc.Observe(&Event{Namespace: c.Namespace, Pod: c.Pod, Container: c.Name, Syscall: sc, Action: "SCMP_ACT_LOG"})
		}
	}
	pc.Observe(&Event{Syscall: "mkdir", Action: "SCMP_ACT_LOG"}) // unattributed
	if n := series(); n != 201 {
		t.Fatalf("%d series, want 201", n)
	}
	for i := range 99 {
		r.Remove(fmt.Sprintf("%064x", i))
	}
	// A restarted container: same namespace, pod and name, a new id. The
	// old one's removal must not delete the series the new one shares.
	r.Upsert(containers.Container{ID: fmt.Sprintf("%064x", 1000), Namespace: "ns", Pod: "p0", Name: "app"})
	if n := series(); n != 201 {
		t.Fatalf("%d series within the grace period, want 201", n)
	}
	now = now.Add(containers.ContainerGrace)
	r.Expire()
	// Left: p99 (running), p0 (restarted), the unattributed one.
	if n := series(); n != 5 {
		t.Fatalf("%d series after the grace period, want 5", n)
	}
	if n := pc.Forget("", "", ""); n != 0 {
		t.Fatalf("Forget of the empty labels deleted %d series", n)
	}
}
