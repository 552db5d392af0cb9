package live

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// PromCounters counts seccomp audit records for Prometheus:
//
//	nri_seccomp_audit_records_total{namespace,pod,container,syscall,action}
//	nri_seccomp_audit_events_suppressed_total
//	nri_seccomp_audit_malformed_records_total
//	nri_seccomp_audit_lines_skipped_total
//
// and, when process events are followed (ObserveProcesses),
//
//	nri_seccomp_audit_process_events_lost_total
//	nri_seccomp_audit_tracked_processes
//
// Every record is counted, rate limiting or not. Records whose PID matched
// no container have empty namespace, pod and container labels. The series
// of a container are deleted when the registry forgets it (Forget: a
// minute after its removal, so that scrapes see its last increase), so the
// series follow what runs instead of growing with every pod ever seen.
type PromCounters struct {
	reg        prometheus.Registerer
	records    *prometheus.CounterVec
	suppressed prometheus.Counter
	malformed  prometheus.Counter
	skipped    prometheus.Counter
	procLost   prometheus.Counter
}

// NewPromCounters registers the counters on reg.
func NewPromCounters(reg prometheus.Registerer) (*PromCounters, error) {
	c := &PromCounters{
		reg: reg,
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "nri_seccomp", Subsystem: "audit", Name: "records_total",
			Help: "Kernel seccomp audit records, by container and syscall and seccomp action.",
		}, []string{"namespace", "pod", "container", "syscall", "action"}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nri_seccomp", Subsystem: "audit", Name: "events_suppressed_total",
			Help: "Seccomp audit records not emitted one by one (rate limiting); they are in summary events.",
		}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nri_seccomp", Subsystem: "audit", Name: "malformed_records_total",
			Help: "Lines that looked like seccomp audit records but could not be read.",
		}),
		procLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nri_seccomp", Subsystem: "audit", Name: "process_events_lost_total",
			Help: "Times the kernel's process-events connector dropped events (ENOBUFS); records of processes created meanwhile are attributed from /proc.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "nri_seccomp", Subsystem: "audit", Name: "lines_skipped_total",
			Help: "Lines of the followed audit log skipped unread for being over the line limit (64 KiB); each is also a warning in the log.",
		}),
	}
	for _, col := range []prometheus.Collector{c.records, c.suppressed, c.malformed, c.skipped} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("audit metrics: %w", err)
		}
	}
	return c, nil
}

// Observe counts one record.
func (c *PromCounters) Observe(e *Event) {
	c.records.WithLabelValues(e.Namespace, e.Pod, e.Container, e.Syscall, e.Action).Inc()
}

// Suppressed counts records held back by rate limiting.
func (c *PromCounters) Suppressed(n int) { c.suppressed.Add(float64(n)) }

// Malformed counts one unreadable record.
func (c *PromCounters) Malformed() { c.malformed.Inc() }

// ProcessEventsLost counts one loss on the process-events connector.
func (c *PromCounters) ProcessEventsLost() { c.procLost.Inc() }

// ObserveProcesses exports the lost-events counter and a gauge of the
// processes the registry's table holds (n is called at each scrape).
func (c *PromCounters) ObserveProcesses(n func() int) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "nri_seccomp", Subsystem: "audit", Name: "tracked_processes",
		Help: "Processes in the attribution table: live ones, and exited ones for a minute.",
	}, func() float64 { return float64(n()) })
	for _, col := range []prometheus.Collector{c.procLost, g} {
		if err := c.reg.Register(col); err != nil {
			return fmt.Errorf("audit metrics: %w", err)
		}
	}
	return nil
}

// Forget deletes the series of a container (namespace, pod, name) that is
// gone for good. Unattributed records (empty labels) are never deleted.
func (c *PromCounters) Forget(namespace, pod, container string) int {
	if namespace == "" && pod == "" && container == "" {
		return 0
	}
	return c.records.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "pod": pod, "container": container})
}

// SkippedLine counts one line of the source skipped for its length. Not
// part of Counters: only a followed file skips lines (the kernel log's
// records are bounded), and the daemon wires it to the follower's Warn.
func (c *PromCounters) SkippedLine() { c.skipped.Inc() }
