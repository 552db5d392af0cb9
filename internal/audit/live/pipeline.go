package live

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/containers"
)

// Attributor names the container a host PID belongs to; *containers.Registry
// is one.
type Attributor interface {
	Attribute(pid int) containers.Attribution
}

// Event kinds.
const (
	// KindRecord is one record, emitted as it arrives.
	KindRecord = "record"
	// KindSummary counts the records of one container, syscall and
	// action that were held back during a window (rate limiting).
	KindSummary = "summary"
)

// Event is a decoded, attributed seccomp record, or a summary of several.
type Event struct {
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// LastTime and Count describe a summary: Count records, the first at
	// Time, the last at LastTime. Count is 1 for a record.
	LastTime time.Time `json:"last_time,omitzero"`
	Count    int       `json:"count"`
	Node     string    `json:"node,omitempty"`

	Namespace   string `json:"namespace"`
	Pod         string `json:"pod"`
	Container   string `json:"container"`
	ContainerID string `json:"container_id,omitempty"`
	// Attribution says how the PID was matched (containers.How); "unknown"
	// when it was not: the event is kept, with what the record says.
	Attribution string   `json:"attribution"`
	Rules       []string `json:"rules,omitempty"`
	Mode        string   `json:"mode,omitempty"`
	Digest      string   `json:"digest,omitempty"`

	PID       int    `json:"pid"`
	Comm      string `json:"comm"`
	Exe       string `json:"exe"`
	Arch      string `json:"arch"`
	Syscall   string `json:"syscall"`
	SyscallNr int    `json:"syscall_nr"`
	Action    string `json:"action"`
	Refused   bool   `json:"refused"`
}

// Known reports whether the event names a container in the registry: its
// attribution is one of the registry's ways of matching a PID. An event
// without one (read from a file that lacks the field) is not.
func (e *Event) Known() bool { return KnownAttribution(e.Attribution) }

// KnownAttribution reports whether a, an event's attribution field, is one
// of the registry's ways of matching a PID.
func KnownAttribution(a string) bool {
	switch containers.How(a) {
	case containers.ByPID, containers.ByFork, containers.ByCgroup, containers.ByAncestor, containers.ByCache:
		return true
	}
	return false
}

// Counters receives every record, before rate limiting, and what the
// pipeline could not use. PromCounters implements it.
type Counters interface {
	Observe(e *Event)
	Suppressed(n int)
	Malformed()
}

// PipelineOptions configures a Pipeline.
type PipelineOptions struct {
	// Attributor finds containers; nil leaves every event unknown.
	Attributor Attributor
	// Emit receives events, from one goroutine at a time.
	Emit func(Event)
	// Counters, when set, counts every record.
	Counters Counters
	// Window is the rate-limiting period: within one, the first record of
	// a container+syscall+action is emitted and the rest summarised at
	// its end. 10s when 0.
	Window time.Duration
	// Burst caps the records emitted one by one per window, all keys
	// together; the rest go into summaries. 200 when 0.
	Burst int
	// MaxKeys caps the distinct keys tracked per window (memory); records
	// beyond it are counted as suppressed only. 10000 when 0.
	MaxKeys int
	// Delay is how long a record whose PID is unknown waits before it is
	// attributed again: containerd reports a container's PID after the
	// task started, and its first syscalls can be logged before that.
	// 1s when 0; negative: no wait.
	Delay time.Duration
	Node  string
	// Now is time.Now unless set (tests).
	Now func() time.Time
}

type aggKey struct {
	container string // container id, or "" with pid for unknown ones
	pid       int
	arch      string
	nr        int
	code      uint32
}

type aggregate struct {
	first     Event
	held      int
	heldFirst time.Time
	heldLast  time.Time
}

type pendingRecord struct {
	rec     record.Record
	arrived time.Time
}

// maxPending bounds records waiting for a late PID.
const maxPending = 4096

// Pipeline turns raw lines into events: parse, attribute, count, rate
// limit. It is safe for concurrent use (Handle from a source, Tick from a
// timer).
type Pipeline struct {
	o PipelineOptions

	mu          sync.Mutex
	windowStart time.Time
	emitted     int
	keys        map[aggKey]*aggregate
	order       []aggKey
	overflow    int
	pending     []pendingRecord
}

// NewPipeline returns a pipeline with defaults filled in.
func NewPipeline(o PipelineOptions) *Pipeline {
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.Burst <= 0 {
		o.Burst = 200
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 10000
	}
	if o.Delay == 0 {
		o.Delay = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Emit == nil {
		o.Emit = func(Event) {}
	}
	return &Pipeline{o: o, keys: map[aggKey]*aggregate{}, windowStart: o.Now()}
}

// Handle processes one raw line; other lines than seccomp records are
// ignored, malformed ones counted.
func (p *Pipeline) Handle(line []byte) {
	rec, err := record.Parse(line)
	if err != nil {
		if !errors.Is(err, record.ErrNotSeccomp) && p.o.Counters != nil {
			p.o.Counters.Malformed()
		}
		return
	}
	p.HandleRecord(rec)
}

// HandleRecord processes one parsed record.
func (p *Pipeline) HandleRecord(rec record.Record) {
	now := p.o.Now()
	a := p.attribute(rec.PID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !a.Known() && p.o.Delay > 0 && len(p.pending) < maxPending {
		p.pending = append(p.pending, pendingRecord{rec, now})
		return
	}
	p.process(rec, a, now)
}

func (p *Pipeline) attribute(pid int) containers.Attribution {
	if p.o.Attributor == nil {
		return containers.Attribution{How: containers.Unknown}
	}
	return p.o.Attributor.Attribute(pid)
}

// process counts and rate-limits one attributed record. p.mu is held.
func (p *Pipeline) process(rec record.Record, a containers.Attribution, now time.Time) {
	ev := NewEvent(rec, a)
	ev.Node = p.o.Node
	if p.o.Counters != nil {
		p.o.Counters.Observe(&ev)
	}
	k := aggKey{container: a.Container.ID, arch: rec.Arch, nr: rec.Syscall, code: rec.Code}
	if !a.Known() {
		k.pid = rec.PID
	}
	agg, ok := p.keys[k]
	if !ok {
		if len(p.keys) >= p.o.MaxKeys {
			p.overflow++
			if p.o.Counters != nil {
				p.o.Counters.Suppressed(1)
			}
			return
		}
		agg = &aggregate{first: ev}
		p.keys[k] = agg
		p.order = append(p.order, k)
		if p.emitted < p.o.Burst {
			p.emitted++
			p.o.Emit(ev)
			return
		}
	}
	if agg.held == 0 {
		agg.heldFirst = rec.Time
	}
	agg.held++
	agg.heldLast = rec.Time
	if p.o.Counters != nil {
		p.o.Counters.Suppressed(1)
	}
}

// NewEvent builds the event for one record and its attribution.
func NewEvent(rec record.Record, a containers.Attribution) Event {
	ev := Event{
		Kind: KindRecord, Time: rec.Time, Count: 1,
		Attribution: string(a.How),
		PID:         rec.PID, Comm: rec.Comm, Exe: rec.Exe,
		Arch: rec.Arch, Syscall: rec.SyscallLabel(), SyscallNr: rec.Syscall,
		Action: rec.Action, Refused: rec.Refused(),
	}
	if ev.Attribution == "" {
		ev.Attribution = string(containers.Unknown)
	}
	if a.Known() {
		c := a.Container
		ev.Namespace, ev.Pod, ev.Container, ev.ContainerID = c.Namespace, c.Pod, c.Name, c.ID
		ev.Rules, ev.Mode, ev.Digest = c.Rules, c.Mode, c.Digest
	} else {
		ev.ContainerID = a.ContainerID
	}
	return ev
}

// Tick attributes records that waited long enough and, at the end of a
// window, emits the summaries of what was held back. Call it often (Run
// does, every Window/10).
func (p *Pipeline) Tick() {
	now := p.o.Now()
	p.mu.Lock()
	var due []pendingRecord
	keep := p.pending[:0]
	for _, pr := range p.pending {
		if now.Sub(pr.arrived) >= p.o.Delay {
			due = append(due, pr)
		} else {
			keep = append(keep, pr)
		}
	}
	p.pending = keep
	p.mu.Unlock()

	for _, pr := range due {
		a := p.attribute(pr.rec.PID) // /proc reads: without the lock
		p.mu.Lock()
		p.process(pr.rec, a, now)
		p.mu.Unlock()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.windowStart) >= p.o.Window {
		p.flushLocked()
		p.windowStart = now
	}
}

// Flush attributes every waiting record now and emits all summaries: the
// end of the input.
func (p *Pipeline) Flush() {
	p.mu.Lock()
	due := p.pending
	p.pending = nil
	p.mu.Unlock()
	now := p.o.Now()
	for _, pr := range due {
		a := p.attribute(pr.rec.PID)
		p.mu.Lock()
		p.process(pr.rec, a, now)
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
}

func (p *Pipeline) flushLocked() {
	for _, k := range p.order {
		agg := p.keys[k]
		if agg.held == 0 {
			continue
		}
		ev := agg.first
		ev.Kind, ev.Count, ev.Time, ev.LastTime = KindSummary, agg.held, agg.heldFirst, agg.heldLast
		p.o.Emit(ev)
	}
	if p.overflow > 0 {
		p.o.Emit(Event{Kind: KindSummary, Time: p.windowStart, LastTime: p.o.Now(), Count: p.overflow,
			Node: p.o.Node, Attribution: "overflow", Syscall: "*", Action: "*"})
	}
	clear(p.keys)
	p.order, p.overflow, p.emitted = p.order[:0], 0, 0
}

// Run feeds src's lines through the pipeline until src ends or ctx is done,
// then flushes.
func (p *Pipeline) Run(ctx context.Context, src source.Source) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tick := max(p.o.Window/10, 50*time.Millisecond)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.Tick()
			}
		}
	}()
	err := src.Run(ctx, p.Handle)
	cancel()
	wg.Wait()
	p.Flush()
	return err
}
