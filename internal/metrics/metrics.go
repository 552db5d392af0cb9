// Package metrics holds nri-seccomp's Prometheus collectors and the state
// behind its health endpoints. The plugin reports what happens; this package
// only counts and answers HTTP. Every method is safe on a nil *Metrics, so
// that a daemon started without --metrics-addr pays nothing and the plugin
// needs no "if metrics != nil" at every call site.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
)

const namespace = "nri_seccomp"

// Outcomes of one CreateContainer decision.
const (
	OutcomeChanged   = "changed"   // a seccomp adjustment was returned
	OutcomeUnchanged = "unchanged" // rules matched or not, nothing to change
	OutcomeExempt    = "exempt"    // an exempt rule stopped evaluation
	OutcomeRefused   = "refused"   // no decision: the creation was failed
)

// Error kinds counted in nri_seccomp_errors_total.
const (
	ErrorDecision    = "decision"     // engine error or panic: container refused
	ErrorDecisionLog = "decision_log" // a decision record could not be written
	ErrorReload      = "reload"       // a new policy was rejected; the old one stays
	ErrorValidation  = "validation"   // a container adjustment was rejected
)

// Metrics is the set of collectors plus the health state. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	decisions     *prometheus.CounterVec
	ruleApplied   *prometheus.CounterVec
	errs          *prometheus.CounterVec
	latency       prometheus.Histogram
	validations   *prometheus.CounterVec
	policyInfo    *prometheus.GaugeVec
	reloads       *prometheus.CounterVec
	reloadOK      prometheus.Gauge
	reloadTime    prometheus.Gauge
	connected     prometheus.Gauge
	connects      prometheus.Counter
	drift         prometheus.Gauge
	driftChecked  prometheus.Gauge
	driftedByRule *prometheus.GaugeVec
	posture       postureCollectors

	mu          sync.Mutex
	isConnected bool
	revision    string // "" while no policy is held
	reloadErr   string // last reload error; "" after a success
	revisionSet bool
}

// New returns Metrics registered on a fresh registry, with the Go and
// process collectors so that memory and file descriptors are visible too.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "decisions_total",
			Help: "CreateContainer decisions by outcome (changed, unchanged, exempt, refused) and mode (enforce, audit, or empty when no rule applied).",
		}, []string{"outcome", "mode"}),
		ruleApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rule_applications_total",
			Help: "Rules applied to created containers, by rule name, action (inject, tighten, exempt) and mode (enforce, audit).",
		}, []string{"rule", "action", "mode"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "errors_total",
			Help: "Errors by kind: decision (container refused), decision_log, reload (new policy rejected, old one kept), validation (adjustment rejected).",
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "decision_duration_seconds",
			Help: "Time to answer CreateContainer inside the plugin, decision and log lines. Every container creation on the node waits for it.",
			// From 10us (a cached decision) to ~1s (NRI's request
			// timeout is 2s by default: past it the plugin is dropped).
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}),
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "validations_total",
			Help: "ValidateContainerAdjustment answers by result (accepted, rejected) and reason.",
		}, []string{"result", "reason"}),
		policyInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "policy_info",
			Help: "The policy in force: 1 for its revision, no series while none is loaded.",
		}, []string{"revision"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "policy_reloads_total",
			Help: "Policy reload attempts by result (success, unchanged, failure).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "policy_last_reload_success",
			Help: "1 if the last policy load succeeded, 0 if it failed (the previous policy is still enforced).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "policy_last_reload_timestamp_seconds",
			Help: "Unix time of the last policy load attempt.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "runtime_connected",
			Help: "1 while registered with the runtime's NRI, 0 otherwise (containers may then start without the plugin).",
		}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "runtime_connections_total",
			Help: "Successful registrations with the runtime; more than one means reconnects.",
		}),
		drift: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "drift_containers",
			Help: "Running containers, at the last synchronization, whose seccomp differs from what the current policy would give them.",
		}),
		driftChecked: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "drift_checked_containers",
			Help: "Running containers examined at the last synchronization.",
		}),
		driftedByRule: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "drift_containers_by_rule",
			Help: "Drifted containers at the last synchronization, by a rule the current policy would apply to them.",
		}, []string{"rule"}),
		posture: newPostureCollectors(),
	}
	m.reg.MustRegister(m.decisions, m.ruleApplied, m.errs, m.latency, m.validations,
		m.policyInfo, m.reloads, m.reloadOK, m.reloadTime, m.connected, m.connects,
		m.drift, m.driftChecked, m.driftedByRule,
		m.posture.containers, m.posture.problems, m.posture.hostProcs,
		m.posture.scans, m.posture.duration, m.posture.last,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Known label values start at zero, so that a rate() over them has a
	// series before the first event.
	for _, k := range []string{ErrorDecision, ErrorDecisionLog, ErrorReload, ErrorValidation} {
		m.errs.WithLabelValues(k)
	}
	return m
}

// Registry is the registry the collectors live on.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Decision records one CreateContainer answer.
func (m *Metrics) Decision(outcome, mode string, rules []engine.RuleResult, took time.Duration) {
	if m == nil {
		return
	}
	m.decisions.WithLabelValues(outcome, mode).Inc()
	for _, r := range rules {
		m.ruleApplied.WithLabelValues(r.Name, r.Action, r.Mode).Inc()
	}
	if outcome == OutcomeRefused {
		m.errs.WithLabelValues(ErrorDecision).Inc()
	}
	m.latency.Observe(took.Seconds())
}

// Error counts an error of the given kind (one of the Error* constants).
func (m *Metrics) Error(kind string) {
	if m == nil {
		return
	}
	m.errs.WithLabelValues(kind).Inc()
}

// Validation records one ValidateContainerAdjustment answer. reason is empty
// for an accepted adjustment.
func (m *Metrics) Validation(rejected bool, reason string) {
	if m == nil {
		return
	}
	if rejected {
		m.validations.WithLabelValues("rejected", reason).Inc()
		m.errs.WithLabelValues(ErrorValidation).Inc()
		return
	}
	m.validations.WithLabelValues("accepted", "").Inc()
}

// PolicyLoaded records a successful load (at start or by a reload):
// revision is now in force. changed is false for a reload that found the
// same revision.
func (m *Metrics) PolicyLoaded(revision string, changed bool, at time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if changed || !m.revisionSet {
		m.policyInfo.Reset()
		m.policyInfo.WithLabelValues(revision).Set(1)
		m.reloads.WithLabelValues("success").Inc()
	} else {
		m.reloads.WithLabelValues("unchanged").Inc()
	}
	m.revision, m.revisionSet, m.reloadErr = revision, true, ""
	m.reloadOK.Set(1)
	m.reloadTime.Set(float64(at.UnixNano()) / 1e9)
}

// PolicyLoadFailed records a rejected policy; the previous one, if any,
// stays in force and keeps its policy_info series.
func (m *Metrics) PolicyLoadFailed(err error, at time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reloadErr = err.Error()
	m.reloads.WithLabelValues("failure").Inc()
	m.errs.WithLabelValues(ErrorReload).Inc()
	m.reloadOK.Set(0)
	m.reloadTime.Set(float64(at.UnixNano()) / 1e9)
}

// Connected records the runtime connection state.
func (m *Metrics) Connected(up bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if up && !m.isConnected {
		m.connects.Inc()
	}
	m.isConnected = up
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

// Drift records the result of a synchronization's drift check.
func (m *Metrics) Drift(checked, drifted int, byRule map[string]int) {
	if m == nil {
		return
	}
	m.driftChecked.Set(float64(checked))
	m.drift.Set(float64(drifted))
	m.driftedByRule.Reset()
	for r, n := range byRule {
		m.driftedByRule.WithLabelValues(r).Set(float64(n))
	}
}

// Ready reports whether the daemon does its job: connected to the runtime
// and holding a policy whose last load succeeded. reasons lists what is
// wrong otherwise.
func (m *Metrics) Ready() (ok bool, reasons []string) {
	if m == nil {
		return false, []string{"metrics disabled"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.isConnected {
		reasons = append(reasons, "not connected to the runtime's NRI socket: containers may be created without the plugin")
	}
	if !m.revisionSet {
		reasons = append(reasons, "no valid policy loaded: containers are refused")
	}
	if m.reloadErr != "" {
		if m.revisionSet {
			reasons = append(reasons, "the last policy reload failed; still enforcing revision "+m.revision+": "+m.reloadErr)
		} else {
			reasons = append(reasons, "policy load failed: "+m.reloadErr)
		}
	}
	return len(reasons) == 0, reasons
}
