package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
)

// Record is one decision as written to the decision log, one JSON object per
// line. It is also the source of the structured log line, so the two cannot
// disagree.
type Record struct {
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

	// applied is what the metrics count: each applied rule with its
	// action and mode (the log only names the rules).
	applied []metrics.AppliedRule
	// start is when CreateContainer was called (monotonic): the metrics'
	// latency runs from it to the end of the record.
	start time.Time
}

// DecisionLog appends Records as JSON lines. It is safe for concurrent use:
// NRI serialises CreateContainer calls today, but nothing in the protocol
// promises that.
type DecisionLog struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

// NewDecisionLog writes records to w.
func NewDecisionLog(w io.Writer) *DecisionLog {
	return &DecisionLog{w: w}
}

// OpenDecisionLog opens (or creates) path for appending. Appending, rather
// than truncating, keeps the history across daemon restarts; rotation is left
// to logrotate with copytruncate.
func OpenDecisionLog(path string) (*DecisionLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%w: decision log: %w", ErrConfig, err)
	}
	return &DecisionLog{w: f, c: f}, nil
}

// Write appends one record. Each record is written with a single Write call
// so that concurrent writers, and readers tailing the file, never see half a
// line.
func (l *DecisionLog) Write(r Record) error {
	if l == nil {
		return nil
	}
	buf := lineBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 {
			lineBufs.Put(buf)
		}
	}()
	*buf = append(r.appendJSON((*buf)[:0]), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(*buf); err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	return nil
}

// writeLine appends v as one JSON line, in a single Write call.
func (l *DecisionLog) writeLine(v any) error {
	if l == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("decision log: encoding record: %w", err)
	}
	data = append(data, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(data); err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	return nil
}

// Close closes the file opened by OpenDecisionLog.
func (l *DecisionLog) Close() error {
	if l == nil || l.c == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Close()
}
