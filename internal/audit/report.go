package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// SyscallCount is one syscall+action of one container in a report.
type SyscallCount struct {
	Syscall string    `json:"syscall"`
	Arch    string    `json:"arch"`
	Action  string    `json:"action"`
	Refused bool      `json:"refused"`
	Count   int       `json:"count"`
	First   time.Time `json:"first_seen"`
	Last    time.Time `json:"last_seen"`
}

// ContainerReport is what one container (or one unattributed executable)
// was seen to do.
type ContainerReport struct {
	Namespace   string `json:"namespace"`
	Pod         string `json:"pod"`
	Container   string `json:"container"`
	ContainerID string `json:"container_id,omitempty"`
	// Attributed is false for records whose PID matched no container;
	// they are grouped by executable (Exe) instead.
	Attributed bool           `json:"attributed"`
	Exe        string         `json:"exe,omitempty"`
	Mode       string         `json:"mode,omitempty"`
	Rules      []string       `json:"rules,omitempty"`
	Total      int            `json:"total"`
	Refused    int            `json:"refused"`
	Syscalls   []SyscallCount `json:"syscalls"`
}

// Report summarises seccomp records per container. Counts saturate at the
// largest int rather than wrap.
type Report struct {
	Since   time.Time `json:"since,omitzero"`
	Records int       `json:"records"`
	// Malformed counts the lines that were skipped as unreadable (each
	// also a warning).
	Malformed int `json:"malformed"`
	// WarningCount counts every warning; Warnings holds the first
	// maxWarnings of them.
	WarningCount int               `json:"warning_count"`
	Warnings     []source.Warning  `json:"warnings,omitempty"`
	Containers   []ContainerReport `json:"containers"`
}

// maxWarnings bounds the warnings a report keeps (it counts them all): one
// bad line per record of a large log must not make the report as large.
const maxWarnings = 100

// TimedAttributor attributes a PID as of a record's time; offline, PIDs are
// reused over a log's span. DecisionLogAttributor is one.
type TimedAttributor interface {
	AttributeAt(pid int, t time.Time) containers.Attribution
}

// ReportBuilder accumulates records and events into a Report.
type ReportBuilder struct {
	since        time.Time
	attr         TimedAttributor
	records      int
	malformed    int
	warnings     []source.Warning
	warningCount int
	groups       map[groupKey]*group
}

type groupKey struct {
	containerID string
	ns, pod, c  string
	exe         string // unattributed only
}

type countKey struct {
	syscall, arch, action string
}

type group struct {
	rep    ContainerReport
	counts map[countKey]*SyscallCount
}

// NewReportBuilder counts records at or after since (zero: all), attributing
// raw records with attr (nil: every raw record is unattributed).
func NewReportBuilder(since time.Time, attr TimedAttributor) *ReportBuilder {
	return &ReportBuilder{since: since, attr: attr, groups: map[groupKey]*group{}}
}

// AddLine reads one line whose position is unknown; see AddLineAt.
func (b *ReportBuilder) AddLine(line []byte) { b.AddLineAt(source.Pos{}, line) }

// AddLineAt reads one line: a JSON event written by `nri-seccomp run
// --audit-events` (already attributed, by the live registry) or a raw audit
// record in any form Parse reads. Other lines are skipped; unreadable ones
// are counted and named in a warning with their position.
func (b *ReportBuilder) AddLineAt(pos source.Pos, line []byte) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var ev live.Event
		if err := json.Unmarshal(trimmed, &ev); err != nil {
			b.malformedAt(pos, fmt.Sprintf("not an audit event: %v", err))
			return
		}
		warn, err := checkEvent(&ev)
		if err != nil {
			b.malformedAt(pos, "audit event: "+err.Error())
			return
		}
		if warn != "" {
			b.Warn(source.Warning{File: pos.File, Line: pos.Line, Msg: warn})
		}
		if ev.Attribution == attributionOverflow {
			b.records = AddSat(b.records, ev.Count) // counted, but not attributable
			return
		}
		b.AddEvent(ev)
		return
	}
	rec, err := record.Parse(line)
	switch {
	case errors.Is(err, record.ErrNotSeccomp):
		return
	case err != nil:
		b.malformedAt(pos, err.Error())
		return
	}
	a := containers.Attribution{How: containers.Unknown}
	if b.attr != nil {
		a = b.attr.AttributeAt(rec.PID, rec.Time)
	}
	b.AddEvent(live.NewEvent(rec, a))
}

func (b *ReportBuilder) malformedAt(pos source.Pos, msg string) {
	b.malformed = AddSat(b.malformed, 1)
	b.Warn(source.Warning{File: pos.File, Line: pos.Line, Msg: msg})
}

// Warn adds a warning to the report (the first maxWarnings are kept, all
// are counted).
func (b *ReportBuilder) Warn(w source.Warning) {
	b.warningCount = AddSat(b.warningCount, 1)
	if len(b.warnings) < maxWarnings {
		b.warnings = append(b.warnings, w)
	}
}

// attributionOverflow marks the daemon's summary of records beyond its key
// limit (Pipeline.flushLocked).
const attributionOverflow = "overflow"

// checkEvent checks an event read from a file and fixes what the file may
// not decide. The kernel's action decides whether a call was refused, not
// the event's own "refused" field; an attribution the daemon never writes
// (or none) makes the event unattributed, and an unattributed event's pod
// fields are dropped (nothing vouches for them). err is for an event that
// cannot be counted; warn for one counted after such a fix.
func checkEvent(ev *live.Event) (warn string, err error) {
	if ev.Count <= 0 {
		return "", fmt.Errorf("count %d: want 1 or more", ev.Count)
	}
	if ev.Attribution == attributionOverflow {
		return "", nil
	}
	if ev.Syscall == "" {
		return "", errors.New("no syscall")
	}
	code, ok := record.ActionCode(ev.Action)
	if !ok {
		return "", fmt.Errorf("action %q: not a seccomp action", ev.Action)
	}
	var warns []string
	if refused := record.CodeRefused(code); refused != ev.Refused {
		warns = append(warns, fmt.Sprintf("refused=%t contradicts action %s: counted as refused=%t", ev.Refused, ev.Action, refused))
		ev.Refused = refused
	}
	if !live.KnownAttribution(ev.Attribution) {
		if ev.Attribution != string(containers.Unknown) {
			warns = append(warns, fmt.Sprintf("attribution %q: not one the daemon writes; counted as unattributed", ev.Attribution))
		}
		ev.Attribution = string(containers.Unknown)
		ev.Namespace, ev.Pod, ev.Container = "", "", ""
		ev.Rules, ev.Mode, ev.Digest = nil, "", ""
	}
	return strings.Join(warns, "; "), nil
}

// AddEvent counts one event (Count records).
func (b *ReportBuilder) AddEvent(ev live.Event) {
	last := ev.LastTime
	if last.IsZero() {
		last = ev.Time
	}
	if !b.since.IsZero() && last.Before(b.since) {
		return
	}
	b.records = AddSat(b.records, ev.Count)
	k := groupKey{containerID: ev.ContainerID, ns: ev.Namespace, pod: ev.Pod, c: ev.Container}
	known := ev.Known()
	if !known {
		k = groupKey{containerID: ev.ContainerID, exe: ev.Exe}
	}
	g, ok := b.groups[k]
	if !ok {
		g = &group{rep: ContainerReport{
			Namespace: ev.Namespace, Pod: ev.Pod, Container: ev.Container, ContainerID: ev.ContainerID,
			Attributed: known, Mode: ev.Mode, Rules: slices.Clone(ev.Rules),
		}, counts: map[countKey]*SyscallCount{}}
		if !known {
			g.rep.Exe = ev.Exe
		}
		b.groups[k] = g
	}
	ck := countKey{ev.Syscall, ev.Arch, ev.Action}
	c, ok := g.counts[ck]
	if !ok {
		c = &SyscallCount{Syscall: ev.Syscall, Arch: ev.Arch, Action: ev.Action, Refused: ev.Refused, First: ev.Time, Last: last}
		g.counts[ck] = c
	}
	c.Count = AddSat(c.Count, ev.Count)
	if ev.Time.Before(c.First) {
		c.First = ev.Time
	}
	if last.After(c.Last) {
		c.Last = last
	}
	g.rep.Total = AddSat(g.rep.Total, ev.Count)
	if ev.Refused {
		g.rep.Refused = AddSat(g.rep.Refused, ev.Count)
	}
}

// Read adds every line of r, which is named name in warnings. A line longer
// than source.MaxLine is skipped with a warning.
func (b *ReportBuilder) Read(name string, r io.Reader) error {
	return boundedio.ReadLines(context.Background(), r, source.MaxLine, func(n int, line []byte) { b.AddLineAt(source.Pos{File: name, Line: n}, line) },
		func(n int, size int64) {
			b.malformedAt(source.Pos{File: name, Line: n}, fmt.Sprintf("line of %d bytes, over the limit of %d: skipped", size, source.MaxLine))
		})
}

// Report returns the report: attributed containers by namespace, pod,
// container, then unattributed executables; syscalls by count, descending.
func (b *ReportBuilder) Report() Report {
	rep := Report{Since: b.since, Records: b.records, Malformed: b.malformed, WarningCount: b.warningCount,
		Warnings: slices.Clone(b.warnings), Containers: []ContainerReport{}}
	for _, g := range b.groups {
		cr := g.rep
		for _, c := range g.counts {
			cr.Syscalls = append(cr.Syscalls, *c)
		}
		sort.Slice(cr.Syscalls, func(i, j int) bool {
			a, b := cr.Syscalls[i], cr.Syscalls[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			if a.Syscall != b.Syscall {
				return a.Syscall < b.Syscall
			}
			if a.Arch != b.Arch {
				return a.Arch < b.Arch
			}
			return a.Action < b.Action
		})
		rep.Containers = append(rep.Containers, cr)
	}
	sort.Slice(rep.Containers, func(i, j int) bool {
		a, b := rep.Containers[i], rep.Containers[j]
		if a.Attributed != b.Attributed {
			return a.Attributed
		}
		for _, p := range [][2]string{{a.Namespace, b.Namespace}, {a.Pod, b.Pod}, {a.Container, b.Container}, {a.Exe, b.Exe}, {a.ContainerID, b.ContainerID}} {
			if p[0] != p[1] {
				return p[0] < p[1]
			}
		}
		return false
	})
	return rep
}

// WriteText writes the report as a table per container. Every string that
// comes from the input goes through printable.String: a container names its own
// executable, and a newline or terminal escape in it must not forge lines.
func (r Report) WriteText(w io.Writer) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d seccomp records", r.Records)
	if !r.Since.IsZero() {
		fmt.Fprintf(&sb, " since %s", r.Since.UTC().Format(time.RFC3339))
	}
	if r.Malformed > 0 {
		fmt.Fprintf(&sb, ", %d unreadable lines", r.Malformed)
	}
	if r.WarningCount > 0 {
		fmt.Fprintf(&sb, ", %d warnings", r.WarningCount)
	}
	sb.WriteString("\n")
	for _, wn := range r.Warnings {
		fmt.Fprintf(&sb, "warning: %s\n", wn) // String escapes
	}
	if n := r.WarningCount - len(r.Warnings); n > 0 {
		fmt.Fprintf(&sb, "warning: ... and %d more\n", n)
	}
	for _, c := range r.Containers {
		sb.WriteString("\n")
		switch {
		case c.Attributed && c.Pod == "":
			fmt.Fprintf(&sb, "container %s (no decision for it in the log)", shortID(c.ContainerID))
		case c.Attributed:
			fmt.Fprintf(&sb, "%s/%s container %s", printable.String(c.Namespace), printable.String(c.Pod), printable.String(c.Container))
			if c.ContainerID != "" {
				fmt.Fprintf(&sb, " (%s)", shortID(c.ContainerID))
			}
			if c.Mode != "" {
				fmt.Fprintf(&sb, " mode=%s", printable.String(c.Mode))
			}
			if len(c.Rules) > 0 {
				fmt.Fprintf(&sb, " rules=%s", printable.String(strings.Join(c.Rules, ",")))
			}
		default:
			fmt.Fprintf(&sb, "unattributed: %s", printable.String(c.Exe))
			if c.ContainerID != "" {
				fmt.Fprintf(&sb, " (cgroup names container %s, not in the registry)", shortID(c.ContainerID))
			}
		}
		fmt.Fprintf(&sb, ": %d records, %d refused\n", c.Total, c.Refused)
		fmt.Fprintf(&sb, "  %-22s %-17s %-22s %8s  %-20s  %s\n", "SYSCALL", "ARCH", "ACTION", "COUNT", "FIRST", "LAST")
		for _, s := range c.Syscalls {
			fmt.Fprintf(&sb, "  %-22s %-17s %-22s %8d  %-20s  %s\n", printable.String(s.Syscall), printable.String(strings.TrimPrefix(s.Arch, "SCMP_ARCH_")), printable.String(s.Action), s.Count,
				s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339))
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// shortID is the first 12 characters of a container id, printable.
func shortID(id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return printable.String(id)
}

// DecisionLogAttributor attributes PIDs offline from a decision log written
// by `nri-seccomp run --decision-log`: decision lines give a container id's
// pod and name, "started" lines its init PID and start time. Only init PIDs
// are known this way; processes started inside a container later (exec,
// children) are attributed only by the live daemon, which reads
// /proc/PID/cgroup, and whose events (`run --audit-events`) a report reads
// too.
type DecisionLogAttributor struct {
	byID map[string]containers.Container
	// exempt holds the ids whose last decision was an exempt rule.
	exempt map[string]bool
	// revision holds each id's policy revision at its last decision.
	revision map[string]string
	byPID    map[int][]pidStart
	// Warnings name the lines that were skipped (the first maxWarnings;
	// WarningCount counts them all).
	Warnings     []source.Warning
	WarningCount int
}

type pidStart struct {
	at time.Time
	id string
}

// ReadDecisionLog reads a decision log, named name in warnings and errors.
// A line that is not JSON (one cut short by a crash mid-write) or is longer
// than decisionlog.MaxLine is skipped with a warning naming it; a file without
// a single readable line, or one that cannot be read, is an error.
func ReadDecisionLog(name string, r io.Reader) (*DecisionLogAttributor, error) {
	d := &DecisionLogAttributor{byID: map[string]containers.Container{}, exempt: map[string]bool{},
		revision: map[string]string{}, byPID: map[int][]pidStart{}}
	warn := func(n int, msg string) {
		d.WarningCount = AddSat(d.WarningCount, 1)
		if len(d.Warnings) < maxWarnings {
			d.Warnings = append(d.Warnings, source.Warning{File: name, Line: n, Msg: "decision log: " + msg})
		}
	}
	good, err := decisionlog.Read(r, func(_ int, l decisionlog.Line) {
		switch {
		case l.ContainerID == "":
		case l.IsStarted():
			d.byPID[l.PID] = append(d.byPID[l.PID], pidStart{l.Time, l.ContainerID})
		case l.IsDecision():
			d.byID[l.ContainerID] = containers.Container{ID: l.ContainerID, Namespace: l.Namespace, Pod: l.Pod,
				PodUID: l.PodUID, Name: l.Container, Rules: l.Rules, Mode: l.Mode, Digest: l.Digest}
			d.exempt[l.ContainerID] = l.Exempt
			d.revision[l.ContainerID] = l.Revision
		}
	}, warn)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", decisionlog.ErrBadLog, printable.String(name), err)
	}
	if good == 0 && d.WarningCount > 0 {
		return nil, fmt.Errorf("%w: %s: not one readable line (%d skipped; first: %s)", decisionlog.ErrBadLog, printable.String(name), d.WarningCount, d.Warnings[0])
	}
	for _, s := range d.byPID {
		sort.Slice(s, func(i, j int) bool { return s[i].at.Before(s[j].at) })
	}
	return d, nil
}

// Decided is the last decision the log holds for one container.
type Decided struct {
	containers.Container
	// Exempt: the policy exempted the container (it keeps its own profile).
	Exempt bool
	// PolicyRevision is the revision of the policy that decided (the
	// record's policy_revision; "" in logs written before it existed).
	PolicyRevision string
}

// Decisions returns the last decision logged for each container id, for
// callers that join the log with other views of the node (posture).
func (d *DecisionLogAttributor) Decisions() map[string]Decided {
	out := make(map[string]Decided, len(d.byID))
	for id, c := range d.byID {
		out[id] = Decided{Container: c, Exempt: d.exempt[id], PolicyRevision: d.revision[id]}
	}
	return out
}

// startSlack: the "started" line is written after the task started, so the
// container's first records can be stamped a little before it.
const startSlack = 5 * time.Second

// AttributeAt returns the container whose init had pid at t: the last one
// started (within startSlack) before t.
func (d *DecisionLogAttributor) AttributeAt(pid int, t time.Time) containers.Attribution {
	starts := d.byPID[pid]
	for i := len(starts) - 1; i >= 0; i-- {
		if !starts[i].at.After(t.Add(startSlack)) {
			c, ok := d.byID[starts[i].id]
			if !ok {
				c = containers.Container{ID: starts[i].id}
			}
			return containers.Attribution{Container: c, How: containers.ByPID}
		}
	}
	return containers.Attribution{How: containers.Unknown}
}
