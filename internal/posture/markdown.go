package posture

import (
	"io"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// WriteMarkdown writes the report as a document an auditor can file: node
// and time, the policy and its rules, every container with its state and
// the rules that decided it, the refusals of the period, the controls the
// findings support, and the limits of what was read. Every string a
// container's creator chose goes through md: a pipe, a backtick or a newline
// in a pod name must not forge a table row or a line.
func (f Filed) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	node := f.Node
	if node == "" {
		node = "(unknown)"
	}
	ew.printf("# Seccomp posture of node %s\n\n", md(node))
	ew.printf("Taken %s by nri-seccomp %s (`nri-seccomp posture --output markdown`).\n\n",
		f.Time.UTC().Format(time.RFC3339), md(versionOr(f.Version)))
	f.summary(ew)
	f.policy(ew)
	f.containers(ew)
	f.refusals(ew)
	f.controls(ew)
	f.limits(ew)
	return ew.err
}

func versionOr(v string) string {
	if v == "" {
		return "(development build)"
	}
	return v
}

func (f Filed) summary(ew *errWriter) {
	byClass := map[Class]int{}
	for _, c := range f.Containers {
		byClass[c.Class]++
	}
	ew.printf("## Summary\n\n| | containers |\n|---|---:|\n")
	ew.printf("| running | %d |\n", len(f.Containers))
	for _, c := range Classes {
		ew.printf("| %s | %d |\n", c, byClass[c])
	}
	ew.printf("| **problems** | **%d** |\n\n", f.Problems)
	ew.printf("Host processes (in no container): %d.\n\n", f.HostProcesses)
}

func (f Filed) policy(ew *errWriter) {
	ew.printf("## Policy\n\n")
	p := f.Evidence.Policy
	if p == nil {
		ew.printf("Not given (`--policy`): the policy's revision and rules are not part of this report.\n\n")
		return
	}
	ew.printf("Revision %s, read from %s.\n\n", md(p.Revision), md(p.Path))
	ew.printf("| rule | action | mode | profile | deny | defined at |\n|---|---|---|---|---|---|\n")
	for _, r := range p.Rules {
		ew.printf("| %s | %s | %s | %s | %s | %s:%d |\n", md(r.Name), md(r.Action), md(r.Mode),
			md(r.Profile), md(strings.Join(r.Deny, ", ")), md(r.File), r.Line)
	}
	ew.printf("\n")
}

func (f Filed) containers(ew *errWriter) {
	ew.printf("## Containers\n\n")
	if len(f.Containers) == 0 {
		ew.printf("None running.\n\n")
		return
	}
	ew.printf("| state | container | containerd namespace | pod | image | reach | processes without seccomp | decided by | policy revision | seccomp section | problem |\n")
	ew.printf("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range f.Containers {
		pod := ""
		if c.Pod != "" {
			pod = c.PodNamespace + "/" + c.Pod
			if c.Name != "" {
				pod += "/" + c.Name
			}
		}
		decided := strings.Join(c.Rules, ", ")
		if decided != "" && c.Mode != "" {
			decided += " (" + c.Mode + ")"
		}
		ew.printf("| %s | %s | %s | %s | %s | %s | %d of %d | %s | %s | %s | %s |\n", c.Class, md(shortID(c.ID)),
			md(c.ContainerdNamespace), md(pod), md(c.Image), c.Reach, c.Unfiltered, c.Processes, md(decided),
			md(c.Revision), filterCell(c.Filter), md(c.Problem))
	}
	ew.printf("\n")
}

// filterCell words a decided container's Filter for the auditor.
func filterCell(f Filter) string {
	switch f {
	case FilterAsDecided:
		return "as decided"
	case FilterDiffers:
		return "**differs**"
	default:
		return string(f)
	}
}

func (f Filed) refusals(ew *errWriter) {
	ew.printf("## Refusals of the period\n\n")
	rep := f.Refusals
	if rep == nil {
		ew.printf("Not given (`--audit-events`): this report does not show the period's seccomp refusals.\n\n")
		return
	}
	since := "the whole file"
	if !rep.Since.IsZero() {
		since = "since " + rep.Since.UTC().Format(time.RFC3339)
	}
	ew.printf("From %s, %s: %d records, %d unreadable lines.\n\n", md(f.AuditSource), since, rep.Records, rep.Malformed)
	rows := 0
	for _, c := range rep.Containers {
		for _, s := range c.Syscalls {
			if !s.Refused {
				continue
			}
			if rows == 0 {
				ew.printf("| container | syscall | action | count | first | last |\n|---|---|---|---:|---|---|\n")
			}
			rows++
			ew.printf("| %s | %s | %s | %d | %s | %s |\n", md(refusalWho(c)), md(s.Syscall), md(s.Action), s.Count,
				s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339))
		}
	}
	if rows == 0 {
		ew.printf("No refusal in the period.\n")
	}
	ew.printf("\n")
}

func refusalWho(c audit.ContainerReport) string {
	if !c.Attributed {
		return "unattributed: " + c.Exe
	}
	return c.Namespace + "/" + c.Pod + "/" + c.Container
}

func (f Filed) controls(ew *errWriter) {
	ew.printf("## Controls\n\n")
	for _, c := range f.Controls {
		ew.printf("### %s: %s\n\n", md(c.Source), md(c.Title))
		ew.printf("- Status: **%s**\n- Finding: %s\n- Not shown: %s\n\n", c.Status, md(c.Finding), md(c.Limits))
	}
}

func (f Filed) limits(ew *errWriter) {
	ew.printf("## Limits of this report\n\n")
	ew.printf("- A snapshot: containers started after %s are not in it.\n", f.Time.UTC().Format(time.RFC3339))
	ew.printf("- Process states come from /proc (%d processes exited while read, %d could not be read).\n", f.Vanished, f.Unreadable)
	for _, n := range f.Notes {
		ew.printf("- %s\n", md(n))
	}
}

// md makes s safe in a markdown table cell or line: printable.String escapes
// control characters (a newline cannot end the row), and markdown's own
// characters are backslash-escaped so that a name cannot open a link, a
// code span, emphasis or HTML, or a new cell.
func md(s string) string {
	s = printable.String(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
