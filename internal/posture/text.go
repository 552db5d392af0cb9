package posture

import (
	"fmt"
	"io"
	"strings"

	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// WriteText writes the report for people, one container per line, problems
// first. Names, images and labels are chosen by whoever created the
// container, so every one goes through printable.String: a newline or a
// terminal escape in a pod name must not forge or hide a line.
func (r Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, c := range r.Containers {
		ew.printf("%s\n", line(c))
	}
	ew.printf("%d containers, %d problems; %d host processes", len(r.Containers), r.Problems, r.HostProcesses)
	if r.Vanished > 0 {
		ew.printf(", %d exited while read", r.Vanished)
	}
	ew.printf("\n")
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	return ew.err
}

func line(c Container) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %s", c.Class, shortID(c.ID))
	if c.ContainerdNamespace != "" {
		fmt.Fprintf(&b, " ns=%s", printable.String(c.ContainerdNamespace))
	}
	if c.Pod != "" {
		fmt.Fprintf(&b, " pod=%s/%s", printable.String(c.PodNamespace), printable.String(c.Pod))
	}
	if c.Name != "" {
		fmt.Fprintf(&b, " container=%s", printable.String(c.Name))
	}
	if c.Image != "" {
		fmt.Fprintf(&b, " image=%s", printable.String(c.Image))
	}
	fmt.Fprintf(&b, " reach=%s", c.Reach)
	if len(c.Rules) > 0 {
		rules := make([]string, len(c.Rules))
		for i, r := range c.Rules {
			rules[i] = printable.String(r)
		}
		fmt.Fprintf(&b, " rules=%s", strings.Join(rules, ","))
	}
	if c.Mode != "" {
		fmt.Fprintf(&b, " mode=%s", printable.String(c.Mode))
	}
	if c.Revision != "" {
		fmt.Fprintf(&b, " revision=%s", printable.String(c.Revision))
	}
	if c.Filter != "" {
		fmt.Fprintf(&b, " filter=%s", c.Filter)
	}
	fmt.Fprintf(&b, " processes=%d unfiltered=%d", c.Processes, c.Unfiltered)
	if c.Problem != "" {
		fmt.Fprintf(&b, "\n  problem: %s", c.Problem)
	}
	return b.String()
}

// shortID is the first 12 digits, as ctr and crictl print ids.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// errWriter keeps the first write error, so that WriteText checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
