package kubeevents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
)

// Defaults for Options.
const (
	DefaultQueueSize = 256
	// DefaultInterval spaces requests to the API server: at most 10 a
	// second from each node, the rate client-go's event broadcaster allows.
	DefaultInterval = 100 * time.Millisecond
	// maxKnown bounds the events remembered for aggregation. Past it the
	// memory is emptied: a repeat then creates a new Event instead of
	// counting on the old one, which costs one object, not correctness.
	maxKnown = 4096
)

// Results counted in nri_seccomp_kube_events_total.
const (
	ResultCreated    = "created"    // a new Event
	ResultPatched    = "patched"    // a repeat counted on an existing Event
	ResultAggregated = "aggregated" // a repeat merged while still queued
	ResultDropped    = "dropped"    // the queue was full
	ResultForbidden  = "forbidden"  // 401/403: missing RBAC or a bad token
	ResultFailed     = "failed"     // any other error; not retried
)

// Options configures a Sink.
type Options struct {
	Server Server
	// Node is the reporting instance (the Event's source host).
	Node string
	// QueueSize bounds the decisions waiting to be sent; 0: DefaultQueueSize.
	QueueSize int
	// Interval is the least time between two requests; 0: DefaultInterval,
	// <0: none (tests).
	Interval time.Duration
	// Registerer receives the counters; nil: not exported.
	Registerer prometheus.Registerer
	Logger     *log.Entry
	// Client replaces the HTTP client built from Server (tests).
	Client *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// key identifies the decisions that aggregate into one Event: the same pod,
// container and decision (a restarting container is decided again), under
// the same policy revision, which the Event's message names.
type key struct {
	podUID, namespace, pod, container string
	reason, rules, digest, revision   string
}

// item is a decision waiting to be sent, with the repeats merged into it.
type item struct {
	d           Decision
	count       int
	first, last time.Time
}

// known is an Event already created, for counting repeats on it.
type known struct {
	name  string
	count int
}

// Sink posts decisions as Events. Post never blocks; Run sends.
type Sink struct {
	server   Server
	client   *http.Client
	node     string
	interval time.Duration
	logger   *log.Entry
	now      func() time.Time
	results  *prometheus.CounterVec

	mu       sync.Mutex
	queue    []key
	pending  map[key]*item
	capacity int
	known    map[key]known
	wake     chan struct{}
	// warned: the missing-permission error was logged (once per process:
	// it repeats for every event until the RBAC is fixed).
	warned map[string]bool
}

// New returns a Sink; it checks the server's credentials and registers the
// counters.
func New(opts Options) (*Sink, error) {
	s := &Sink{
		server:   opts.Server,
		client:   opts.Client,
		node:     opts.Node,
		interval: opts.Interval,
		logger:   opts.Logger,
		now:      opts.Now,
		capacity: opts.QueueSize,
		pending:  map[key]*item{},
		known:    map[key]known{},
		wake:     make(chan struct{}, 1),
		warned:   map[string]bool{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nri_seccomp_kube_events_total",
			Help: "Decisions posted as Kubernetes Events, by result: created, patched (a repeat counted on an existing Event), aggregated (merged while queued), dropped (queue full), forbidden (401/403), failed.",
		}, []string{"result"}),
	}
	if s.capacity <= 0 {
		s.capacity = DefaultQueueSize
	}
	if s.interval == 0 {
		s.interval = DefaultInterval
	}
	if s.logger == nil {
		s.logger = log.L
	}
	if s.now == nil {
		s.now = time.Now
	}
	if _, err := parseServer(s.server.URL); err != nil {
		return nil, err
	}
	if s.client == nil {
		c, err := s.server.httpClient()
		if err != nil {
			return nil, err
		}
		s.client = c
	}
	for _, r := range []string{ResultCreated, ResultPatched, ResultAggregated, ResultDropped, ResultForbidden, ResultFailed} {
		s.results.WithLabelValues(r)
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.results); err != nil {
			return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
		}
	}
	return s, nil
}

// Post queues d. It never blocks: a repeat of a queued decision is merged
// into it, and a decision that finds the queue full is dropped and counted.
func (s *Sink) Post(d Decision) {
	k := keyOf(d)
	now := s.now()
	s.mu.Lock()
	if it, ok := s.pending[k]; ok {
		it.count++
		it.last = now
		s.mu.Unlock()
		s.count(ResultAggregated)
		return
	}
	if len(s.queue) >= s.capacity {
		s.mu.Unlock()
		s.count(ResultDropped)
		return
	}
	d.Rules = append([]engine.RuleResult(nil), d.Rules...) // the caller's slice may change
	s.pending[k] = &item{d: d, count: 1, first: now, last: now}
	s.queue = append(s.queue, k)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func keyOf(d Decision) key {
	why, _ := reason(d)
	names := make([]string, len(d.Rules))
	for i, r := range d.Rules {
		names[i] = r.Name + "/" + r.Action + "/" + r.Mode
	}
	return key{
		podUID: d.PodUID, namespace: d.Namespace, pod: d.Pod, container: d.Container,
		reason: why, rules: strings.Join(names, ","), digest: d.Digest, revision: d.PolicyRevision,
	}
}

// Run sends queued decisions until ctx ends; what is still queued then is
// abandoned.
func (s *Sink) Run(ctx context.Context) {
	var last time.Time
	for {
		last = s.drain(ctx, last)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// drain sends until the queue is empty or ctx ends, spacing requests by the
// interval; last is when the previous request went, and the result is when
// the latest did.
func (s *Sink) drain(ctx context.Context, last time.Time) time.Time {
	for ctx.Err() == nil {
		k, it, ok := s.next()
		if !ok {
			break
		}
		if wait := s.interval - time.Since(last); s.interval > 0 && !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return last
			case <-t.C:
			}
		}
		last = time.Now()
		s.send(ctx, k, it)
	}
	return last
}

// next takes the oldest queued decision.
func (s *Sink) next() (key, item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return key{}, item{}, false
	}
	k := s.queue[0]
	s.queue[0] = key{}
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	it := *s.pending[k]
	delete(s.pending, k)
	return k, it, true
}

// send counts it on the Event already made for k, or creates one. A patch
// that finds the Event gone (events expire after an hour) creates a new one.
func (s *Sink) send(ctx context.Context, k key, it item) {
	s.mu.Lock()
	prev, seen := s.known[k]
	s.mu.Unlock()
	if seen {
		total := prev.count + it.count
		status, err := s.patch(ctx, it.d.Namespace, prev.name, total, it.last)
		if err == nil {
			s.remember(k, known{name: prev.name, count: total})
			s.count(ResultPatched)
			return
		}
		if status != http.StatusNotFound {
			s.failed(status, err, it.d)
			return
		}
	}
	ev := newEvent(it.d, s.node, it.first, it.last, it.count)
	if status, err := s.create(ctx, ev); err != nil {
		s.failed(status, err, it.d)
		return
	}
	s.remember(k, known{name: ev.Metadata.Name, count: it.count})
	s.count(ResultCreated)
}

func (s *Sink) remember(k key, v known) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.known[k]; !ok && len(s.known) >= maxKnown {
		clear(s.known)
	}
	s.known[k] = v
}

// failed counts and logs a request that did not succeed. A permission error
// is logged once: it is a deployment mistake and repeats for every event.
func (s *Sink) failed(status int, err error, d Decision) {
	entry := s.logger.WithError(err).WithField("pod", d.Namespace+"/"+d.Pod)
	if status == http.StatusForbidden || status == http.StatusUnauthorized {
		s.count(ResultForbidden)
		if s.warnOnce("forbidden") {
			entry.Warn("cannot post Kubernetes Events: the service account needs create and patch on events (the chart's events.enabled grants them); further refusals are only counted")
		}
		return
	}
	s.count(ResultFailed)
	if s.warnOnce("failed") {
		entry.Warn("cannot post a Kubernetes Event; further failures are logged at debug level and counted")
		return
	}
	entry.Debug("cannot post a Kubernetes Event")
}

func (s *Sink) warnOnce(what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warned[what] {
		return false
	}
	s.warned[what] = true
	return true
}

func (s *Sink) count(result string) { s.results.WithLabelValues(result).Inc() }

// Counts returns the counters by result (tests, and the docs' examples).
func (s *Sink) Counts() map[string]int {
	out := map[string]int{}
	for _, r := range []string{ResultCreated, ResultPatched, ResultAggregated, ResultDropped, ResultForbidden, ResultFailed} {
		out[r] = int(counterValue(s.results.WithLabelValues(r)))
	}
	return out
}

func (s *Sink) create(ctx context.Context, ev Event) (int, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encoding the event: %w", err)
	}
	path := "/api/v1/namespaces/" + url.PathEscape(ev.Metadata.Namespace) + "/events"
	return s.do(ctx, http.MethodPost, path, "application/json", body)
}

// patch sets the count and last time of an existing Event (a JSON merge
// patch: the two fields and nothing else).
func (s *Sink) patch(ctx context.Context, namespace, name string, count int, last time.Time) (int, error) {
	body, err := json.Marshal(struct {
		Count         int    `json:"count"`
		LastTimestamp string `json:"lastTimestamp"`
	}{count, timestamp(last)})
	if err != nil {
		return 0, fmt.Errorf("encoding the patch: %w", err)
	}
	path := "/api/v1/namespaces/" + url.PathEscape(namespace) + "/events/" + url.PathEscape(name)
	return s.do(ctx, http.MethodPatch, path, "application/merge-patch+json", body)
}

// maxErrorBody bounds how much of an error response is read for the log.
const maxErrorBody = 4 << 10

// do sends one request and returns the status; any status but 2xx is an
// error carrying the server's message (a metav1.Status).
func (s *Sink) do(ctx context.Context, method, path, contentType string, body []byte) (int, error) {
	token, err := s.server.token()
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, s.server.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", Component)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(msg, &st) == nil && st.Message != "" {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, st.Message)
	}
	return resp.StatusCode, fmt.Errorf("%s %s: %s", method, path, resp.Status)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
