package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/pkg/registry"
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

// Report summarises seccomp records per container.
type Report struct {
	Since      time.Time         `json:"since,omitzero"`
	Records    int               `json:"records"`
	Malformed  int               `json:"malformed"`
	Containers []ContainerReport `json:"containers"`
}

// TimedAttributor attributes a PID as of a record's time; offline, PIDs are
// reused over a log's span. DecisionLogAttributor is one.
type TimedAttributor interface {
	AttributeAt(pid int, t time.Time) registry.Attribution
}

// ReportBuilder accumulates records and events into a Report.
type ReportBuilder struct {
	since     time.Time
	attr      TimedAttributor
	records   int
	malformed int
	groups    map[groupKey]*group
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

// AddLine reads one line: a JSON event written by `nri-seccomp run --audit`
// (already attributed, by the live registry) or a raw audit record in any
// form Parse reads. Other lines are skipped; unreadable ones counted.
func (b *ReportBuilder) AddLine(line []byte) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var ev Event
		if err := json.Unmarshal(trimmed, &ev); err != nil || ev.Syscall == "" || ev.Count <= 0 {
			b.malformed++
			return
		}
		if ev.Attribution == "overflow" {
			b.records += ev.Count // counted, but not attributable
			return
		}
		b.AddEvent(ev)
		return
	}
	rec, err := Parse(line)
	switch {
	case errors.Is(err, ErrNotSeccomp):
		return
	case err != nil:
		b.malformed++
		return
	}
	a := registry.Attribution{How: registry.Unknown}
	if b.attr != nil {
		a = b.attr.AttributeAt(rec.PID, rec.Time)
	}
	b.AddEvent(NewEvent(rec, a))
}

// AddEvent counts one event (Count records).
func (b *ReportBuilder) AddEvent(ev Event) {
	last := ev.LastTime
	if last.IsZero() {
		last = ev.Time
	}
	if !b.since.IsZero() && last.Before(b.since) {
		return
	}
	b.records += ev.Count
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
	c.Count += ev.Count
	if ev.Time.Before(c.First) {
		c.First = ev.Time
	}
	if last.After(c.Last) {
		c.Last = last
	}
	g.rep.Total += ev.Count
	if ev.Refused {
		g.rep.Refused += ev.Count
	}
}

// Read adds every line of r.
func (b *ReportBuilder) Read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		b.AddLine(sc.Bytes())
	}
	return sc.Err()
}

// Report returns the report: attributed containers by namespace, pod,
// container, then unattributed executables; syscalls by count, descending.
func (b *ReportBuilder) Report() Report {
	rep := Report{Since: b.since, Records: b.records, Malformed: b.malformed, Containers: []ContainerReport{}}
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

// WriteText writes the report as a table per container.
func (r Report) WriteText(w io.Writer) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d seccomp records", r.Records)
	if !r.Since.IsZero() {
		fmt.Fprintf(&sb, " since %s", r.Since.UTC().Format(time.RFC3339))
	}
	if r.Malformed > 0 {
		fmt.Fprintf(&sb, ", %d unreadable lines", r.Malformed)
	}
	sb.WriteString("\n")
	for _, c := range r.Containers {
		sb.WriteString("\n")
		switch {
		case c.Attributed && c.Pod == "":
			fmt.Fprintf(&sb, "container %s (no decision for it in the log)", shortID(c.ContainerID))
		case c.Attributed:
			fmt.Fprintf(&sb, "%s/%s container %s", c.Namespace, c.Pod, c.Container)
			if c.ContainerID != "" {
				fmt.Fprintf(&sb, " (%s)", shortID(c.ContainerID))
			}
			if c.Mode != "" {
				fmt.Fprintf(&sb, " mode=%s", c.Mode)
			}
			if len(c.Rules) > 0 {
				fmt.Fprintf(&sb, " rules=%s", strings.Join(c.Rules, ","))
			}
		default:
			fmt.Fprintf(&sb, "unattributed: %s", c.Exe)
			if c.ContainerID != "" {
				fmt.Fprintf(&sb, " (cgroup names container %s, not in the registry)", shortID(c.ContainerID))
			}
		}
		fmt.Fprintf(&sb, ": %d records, %d refused\n", c.Total, c.Refused)
		fmt.Fprintf(&sb, "  %-22s %-17s %-22s %8s  %-20s  %s\n", "SYSCALL", "ARCH", "ACTION", "COUNT", "FIRST", "LAST")
		for _, s := range c.Syscalls {
			fmt.Fprintf(&sb, "  %-22s %-17s %-22s %8d  %-20s  %s\n", s.Syscall, strings.TrimPrefix(s.Arch, "SCMP_ARCH_"), s.Action, s.Count,
				s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339))
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// DecisionLogAttributor attributes PIDs offline from a decision log written
// by `nri-seccomp run --decision-log`: decision lines give a container id's
// pod and name, "started" lines its init PID and start time. Only init PIDs
// are known this way; processes started inside a container later (exec,
// children) are attributed only by the live daemon, which reads
// /proc/PID/cgroup, and whose events (`run --audit-events`) a report reads
// too.
type DecisionLogAttributor struct {
	byID  map[string]registry.Container
	byPID map[int][]pidStart
}

type pidStart struct {
	at time.Time
	id string
}

// decisionLine holds the fields of both decision-log line kinds.
type decisionLine struct {
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
	Digest      string    `json:"digest"`
	Error       string    `json:"error"`
}

// ErrDecisionLog marks an unreadable decision log.
var ErrDecisionLog = errors.New("bad decision log")

// ReadDecisionLog reads a decision log.
func ReadDecisionLog(r io.Reader) (*DecisionLogAttributor, error) {
	d := &DecisionLogAttributor{byID: map[string]registry.Container{}, byPID: map[int][]pidStart{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l decisionLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrDecisionLog, n, err)
		}
		switch {
		case l.ContainerID == "":
		case l.Event == "started" && l.PID > 0:
			d.byPID[l.PID] = append(d.byPID[l.PID], pidStart{l.Time, l.ContainerID})
		case l.Event == "" && l.Error == "":
			d.byID[l.ContainerID] = registry.Container{ID: l.ContainerID, Namespace: l.Namespace, Pod: l.Pod,
				PodUID: l.PodUID, Name: l.Container, Rules: l.Rules, Mode: l.Mode, Digest: l.Digest}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecisionLog, err)
	}
	for _, s := range d.byPID {
		sort.Slice(s, func(i, j int) bool { return s[i].at.Before(s[j].at) })
	}
	return d, nil
}

// startSlack: the "started" line is written after the task started, so the
// container's first records can be stamped a little before it.
const startSlack = 5 * time.Second

// AttributeAt returns the container whose init had pid at t: the last one
// started (within startSlack) before t.
func (d *DecisionLogAttributor) AttributeAt(pid int, t time.Time) registry.Attribution {
	starts := d.byPID[pid]
	for i := len(starts) - 1; i >= 0; i-- {
		if !starts[i].at.After(t.Add(startSlack)) {
			c, ok := d.byID[starts[i].id]
			if !ok {
				c = registry.Container{ID: starts[i].id}
			}
			return registry.Attribution{Container: c, How: registry.ByPID}
		}
	}
	return registry.Attribution{How: registry.Unknown}
}
