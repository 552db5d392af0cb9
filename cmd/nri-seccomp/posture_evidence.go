package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/posture"
)

// evidenceFlags are posture's flags for the report an auditor files
// (--output markdown, and the extra keys of --output json).
type evidenceFlags struct {
	policy *string
	events *string
	since  *time.Duration
	node   *string
	now    func() time.Time
}

func addEvidenceFlags(fs *flag.FlagSet) *evidenceFlags {
	return &evidenceFlags{
		policy: fs.String("policy", "", "the policy `file` or directory in force: its revision and rules go into the report"),
		events: fs.String("audit-events", "", "the daemon's --audit-events `file`: the refusals of the period go into the report"),
		since:  fs.Duration("since", 0, "the period of --audit-events: events of this `duration` before now (0: the whole file)"),
		node:   fs.String("node", os.Getenv("NODE_NAME"), "node name in the report (default $NODE_NAME, else the host name)"),
		now:    time.Now,
	}
}

// read loads what the flags name. attr attributes raw audit records (from
// the decision log), or is nil.
func (e *evidenceFlags) read(attr *audit.DecisionLogAttributor, stderr io.Writer) (posture.Evidence, error) {
	ev := posture.Evidence{Node: *e.node, Time: e.now().UTC(), Version: version}
	if ev.Node == "" {
		ev.Node, _ = os.Hostname()
	}
	if *e.since < 0 {
		return ev, errors.New("--since: negative")
	}
	if *e.since > 0 && *e.events == "" {
		return ev, errors.New("--since needs --audit-events")
	}
	if *e.policy != "" {
		p, err := policyInfo(*e.policy)
		if err != nil {
			return ev, err
		}
		ev.Policy = p
	}
	if *e.events != "" {
		rep, err := refusals(*e.events, ev.Time, *e.since, attr, stderr)
		if err != nil {
			return ev, err
		}
		ev.Refusals, ev.AuditSource = rep, *e.events
	}
	return ev, nil
}

// policyInfo loads the policy with the daemon's loader: the revision is the
// one the daemon reports for the same files.
func policyInfo(path string) (*posture.PolicyInfo, error) {
	eng, err := loadEngine(path)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	pol := eng.Policy()
	info := &posture.PolicyInfo{Path: path, Revision: pol.Revision, Rules: []posture.PolicyRule{}}
	for _, r := range pol.Rules {
		deny := []string{}
		for _, d := range r.Deny {
			deny = append(deny, d.Name)
		}
		info.Rules = append(info.Rules, posture.PolicyRule{Name: r.Name, Action: string(r.Action), Mode: string(r.Mode),
			Profile: r.Profile, Deny: deny, File: r.File, Line: r.Line})
	}
	return info, nil
}

// refusals reads the audit events file with audit report's reader.
func refusals(name string, now time.Time, since time.Duration, attr *audit.DecisionLogAttributor, stderr io.Writer) (*audit.Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--audit-events: %w", err)
	}
	defer f.Close()
	var from time.Time
	if since > 0 {
		from = now.Add(-since)
	}
	var ta audit.TimedAttributor
	if attr != nil {
		ta = attr
	}
	b := audit.NewReportBuilder(from, ta)
	if err := b.Read(name, f); err != nil {
		return nil, fmt.Errorf("--audit-events: %w", err)
	}
	rep := b.Report()
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w) // String is safe to print
	}
	return &rep, nil
}
