package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// postureCollectors are the gauges of the daemon's periodic posture scan
// (internal/posture.Monitor): every container on the node, whatever created
// it, by class.
type postureCollectors struct {
	containers *prometheus.GaugeVec
	problems   prometheus.Gauge
	hostProcs  prometheus.Gauge
	scans      *prometheus.CounterVec
	duration   prometheus.Gauge
	last       prometheus.Gauge
}

func newPostureCollectors() postureCollectors {
	return postureCollectors{
		containers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "containers",
			Help: "Running containers on the node at the last posture scan, by state: decided (by nri-seccomp), filtered_otherwise (a seccomp filter nri-seccomp did not give), exempt (by policy), unfiltered (a process without seccomp; pod sandboxes included).",
		}, []string{"state"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "posture_problem_containers",
			Help: "Containers at the last posture scan with a process that runs without seccomp and that nothing explains (not exempt, not a pod sandbox), or decided by nri-seccomp but running without its filter.",
		}),
		hostProcs: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "posture_host_processes",
			Help: "Processes in no container at the last posture scan; near zero means the daemon does not see the host's processes (no host PID namespace).",
		}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "posture_scans_total",
			Help: "Posture scans by result (success, failure: /proc could not be read).",
		}, []string{"result"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "posture_scan_duration_seconds",
			Help: "Time the last successful posture scan took (/proc walk, containerd's list, join).",
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "posture_last_scan_timestamp_seconds",
			Help: "Unix time of the last successful posture scan.",
		}),
	}
}

// PostureScanned records one posture scan (internal/posture.Monitor): the
// containers per state label value, every state present.
func (m *Metrics) PostureScanned(byState map[string]int, problems, hostProcesses int, took time.Duration) {
	if m == nil {
		return
	}
	for state, n := range byState {
		m.posture.containers.WithLabelValues(state).Set(float64(n))
	}
	m.posture.problems.Set(float64(problems))
	m.posture.hostProcs.Set(float64(hostProcesses))
	m.posture.scans.WithLabelValues("success").Inc()
	m.posture.duration.Set(took.Seconds())
	m.posture.last.Set(float64(time.Now().UnixNano()) / 1e9)
}

// PostureScanFailed counts a scan that could not run; the gauges keep the
// last scan's values, and posture_last_scan_timestamp_seconds shows its age.
func (m *Metrics) PostureScanFailed() {
	if m == nil {
		return
	}
	m.posture.scans.WithLabelValues("failure").Inc()
}
