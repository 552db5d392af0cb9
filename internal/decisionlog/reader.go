package decisionlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// Line holds the fields of both line kinds (Entry and Started) as a reader
// needs them.
type Line struct {
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	ContainerID string    `json:"container_id"`
	PID         int       `json:"pid"`
	Namespace   string    `json:"namespace"`
	Pod         string    `json:"pod"`
	PodUID      string    `json:"pod_uid"`
	Container   string    `json:"container"`
	Rules       []string  `json:"rules"`
	Mode        string    `json:"mode"`
	Exempt      bool      `json:"exempt"`
	Digest      string    `json:"digest"`
	Revision    string    `json:"policy_revision"`
	Error       string    `json:"error"`
}

// IsStarted reports whether l is a started line naming an init PID.
func (l *Line) IsStarted() bool { return l.Event == EventStarted && l.PID > 0 }

// IsDecision reports whether l is a decision that let the container run (a
// refused container never starts).
func (l *Line) IsDecision() bool { return l.Event == "" && l.Error == "" }

// ErrBadLog marks an unreadable decision log.
var ErrBadLog = errors.New("bad decision log")

// MaxLine bounds one decision-log line; the plugin writes < 4 KiB.
const MaxLine = 1 << 20

// Read calls fn with every line of r that decodes, with its number (from 1).
// A line that is not JSON (one cut short by a crash mid-write) or is longer
// than MaxLine is skipped: skipped gets its number and why. It returns how
// many lines decoded, and an error only when r cannot be read.
func Read(r io.Reader, fn func(n int, l Line), skipped func(n int, msg string)) (good int, err error) {
	err = boundedio.ReadLines(context.Background(), r, MaxLine, func(n int, raw []byte) {
		line := bytes.TrimSpace(raw)
		if len(line) == 0 {
			return
		}
		var l Line
		if err := json.Unmarshal(line, &l); err != nil {
			skipped(n, fmt.Sprintf("not a decision-log line: %v", err))
			return
		}
		good++
		fn(n, l)
	}, func(n int, size int64) {
		skipped(n, fmt.Sprintf("line of %d bytes, over the limit of %d: skipped", size, MaxLine))
	})
	return good, err
}
