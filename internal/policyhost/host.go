// Package policyhost owns the policy's lifecycle in the daemon: the policy
// in force, swapped whole; a reload (SIGHUP, a file change) that keeps the
// policy in force when the new one is bad; the watch on its files; and a
// policy the runtime's configuration names instead.
package policyhost

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/log"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
)

// Decider makes the seccomp decision for one container. *engine.Engine
// implements it; tests use fakes.
type Decider interface {
	Decide(engine.Input) (*engine.Decision, error)
}

// Metrics is told of every load: *metrics.Metrics implements it (nil-safe).
type Metrics interface {
	PolicyLoaded(revision string, changed bool, at time.Time)
	PolicyLoadFailed(err error, at time.Time)
}

// Options configures a Host.
type Options struct {
	// Decider is the policy in force at the start; nil: none yet (the
	// runtime's configuration is to name one).
	Decider Decider
	// Path is where Decider was loaded from; Reload loads it again.
	Path string
	// Loader loads a policy from a file or directory; nil: Reload and
	// Load fail.
	Loader func(path string) (Decider, error)
	Logger *log.Entry
	// Metrics may be nil.
	Metrics Metrics
	// Now is the clock of the metrics' timestamps.
	Now func() time.Time
	// OnChange, when set, is called after another policy came into force.
	OnChange func()
}

// Host holds the policy in force.
type Host struct {
	loader   func(path string) (Decider, error)
	logger   *log.Entry
	metrics  Metrics
	now      func() time.Time
	onChange func()

	// cur is the policy in force. Swapped whole by a reload or a runtime
	// configuration; a decision loads it once, so a creation gets the old
	// or the new policy, never a mix.
	cur atomic.Pointer[policyState]
	// mu serialises reloads, so two of them cannot interleave load and
	// swap and leave the older policy in force.
	mu sync.Mutex
	// moved tells Watch that the policy now comes from another path
	// (named by the runtime configuration).
	moved chan struct{}
}

// New returns a Host; with a Decider, its load is reported to Metrics.
func New(o Options) *Host {
	h := &Host{loader: o.Loader, logger: o.Logger, metrics: o.Metrics, now: o.Now, onChange: o.OnChange,
		moved: make(chan struct{}, 1)}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logger == nil {
		h.logger = log.L
	}
	if h.metrics == nil {
		h.metrics = noMetrics{}
	}
	if o.Decider != nil {
		st := newPolicyState(o.Decider, o.Path)
		h.cur.Store(st)
		h.metrics.PolicyLoaded(st.revision, true, h.now())
	} else if o.Path != "" {
		h.cur.Store(&policyState{path: o.Path})
	}
	return h
}

// Current is the policy in force; nil before the first one.
func (h *Host) Current() Decider { return h.cur.Load().get() }

// CanLoad reports whether the host has a loader (Load, Reload).
func (h *Host) CanLoad() bool { return h.loader != nil }

// Load loads the policy at path without putting it in force (Use does).
func (h *Host) Load(path string) (Decider, error) { return h.loader(path) }

// Use puts d, loaded from path, in force and returns its revision.
func (h *Host) Use(d Decider, path string) (revision string) {
	st := newPolicyState(d, path)
	h.swap(st)
	return st.revision
}

type noMetrics struct{}

func (noMetrics) PolicyLoaded(string, bool, time.Time) {}
func (noMetrics) PolicyLoadFailed(error, time.Time)    {}
