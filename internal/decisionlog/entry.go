// Package decisionlog owns the decision log's format: the line written for
// each decision (Entry) and for each started container (Started), the
// writer (with its hand-written encoder) and the reader every consumer
// (audit report, posture) decodes it with.
package decisionlog

import "time"

// Entry is one decision as written to the decision log, one JSON object per
// line. It is also the source of the structured log line, so the two cannot
// disagree.
type Entry struct {
	Time           time.Time `json:"time"`
	Node           string    `json:"node,omitempty"`
	Namespace      string    `json:"namespace"`
	Pod            string    `json:"pod"`
	PodUID         string    `json:"pod_uid,omitempty"`
	Container      string    `json:"container"`
	ContainerID    string    `json:"container_id,omitempty"`
	Image          string    `json:"image,omitempty"`
	ProfileType    string    `json:"profile_type"`
	Rules          []string  `json:"rules"`
	Mode           string    `json:"mode"`
	Exempt         bool      `json:"exempt"`
	Changed        bool      `json:"changed"`
	Digest         string    `json:"digest,omitempty"`
	PolicyRevision string    `json:"policy_revision,omitempty"`
	Notes          []string  `json:"notes,omitempty"`
	// LatencyMicros is the time to decide, up to this record; writing the
	// log lines comes after (nri_seccomp_decision_duration_seconds counts it).
	LatencyMicros int64 `json:"latency_us"`
	// Error is set when no decision could be made and the container's
	// creation was refused.
	Error string `json:"error,omitempty"`
}

// EventStarted marks a decision-log line that gives a started container's
// init PID rather than a decision.
const EventStarted = "started"

// Started is the decision-log line written when a container starts. It
// names the container by id only: the decision line before it has the pod,
// and a reader looking for a pod's decision cannot mistake this line for
// one.
type Started struct {
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	Node        string    `json:"node,omitempty"`
	ContainerID string    `json:"container_id"`
	PID         int       `json:"pid"`
}
