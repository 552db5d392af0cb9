package posture

import (
	"fmt"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
)

// Evidence is what turns a posture report into one an auditor can file:
// where and when it was taken, the policy in force, the refusals of the
// period, and the controls each finding bears on. Every field is printed in
// the markdown report and is a key of the JSON report (null when not given).
type Evidence struct {
	Node    string    `json:"node"`
	Time    time.Time `json:"time"`
	Version string    `json:"version"`
	// Policy is the policy read with --policy; nil when not given.
	Policy *PolicyInfo `json:"policy"`
	// Refusals summarises the audit events of the period (--audit-events,
	// --since); nil when not given.
	Refusals *audit.Report `json:"refusals"`
	// AuditSource names the file the refusals were read from.
	AuditSource string `json:"audit_source"`
}

// PolicyInfo is the policy a report was taken under.
type PolicyInfo struct {
	Path     string       `json:"path"`
	Revision string       `json:"revision"`
	Rules    []PolicyRule `json:"rules"`
}

// PolicyRule is one rule of the policy, as an auditor reads it.
type PolicyRule struct {
	Name    string   `json:"name"`
	Action  string   `json:"action"`
	Mode    string   `json:"mode"`
	Profile string   `json:"profile"`
	Deny    []string `json:"deny"`
	File    string   `json:"file"`
	Line    int      `json:"line"`
}

// Control statuses.
const (
	// StatusMet: every running container that must have a filter has one.
	StatusMet = "met"
	// StatusMetWithExceptions: met, but for containers the policy exempts
	// (documented exceptions, each named).
	StatusMetWithExceptions = "met with exceptions"
	// StatusNotMet: some container runs without seccomp unexplained.
	StatusNotMet = "not met"
	// StatusNotShown: the report has no data for the control.
	StatusNotShown = "not shown"
)

// Control is one line of the controls section: a control, what this report
// shows about it, and a status that claims no more than that.
type Control struct {
	ID      string `json:"id"`
	Source  string `json:"source"`
	Title   string `json:"title"`
	Status  string `json:"status"`
	Finding string `json:"finding"`
	// Limits says what the data does not show.
	Limits string `json:"limits"`
}

// Filed is the JSON form of a report with its evidence: the posture
// report's keys plus node, time, version, policy, refusals and controls.
type Filed struct {
	Report
	Evidence
	Controls []Control `json:"controls"`
}

// File returns the report with its evidence and the controls it supports.
func File(r Report, ev Evidence) Filed {
	return Filed{Report: r, Evidence: ev, Controls: Controls(r, ev)}
}

// tally counts the containers a control is about: every container except
// pod sandboxes (which run only pause, and which NRI never shows a plugin).
type tally struct {
	total, filtered, decided, other, exempt, exemptUnfiltered, problems int
}

func count(r Report) tally {
	var t tally
	for _, c := range r.Containers {
		if c.Reach == ReachSandbox {
			continue
		}
		t.total++
		if c.Unfiltered == 0 {
			t.filtered++
		}
		switch c.Class {
		case ClassDecided:
			t.decided++
		case ClassFilteredOtherwise:
			t.other++
		case ClassExempt:
			t.exempt++
			if c.Unfiltered > 0 {
				t.exemptUnfiltered++
			}
		}
		if c.Problem != "" {
			t.problems++
		}
	}
	return t
}

// Controls maps the report's findings onto the controls they bear on. The
// findings are the kernel's view of running processes (and, when given,
// the audit events of the period); a control's wording that asks for more
// (pod definitions, a specific profile) is named in Limits, not claimed.
func Controls(r Report, ev Evidence) []Control {
	t := count(r)
	status := StatusMet
	switch {
	case t.problems > 0:
		status = StatusNotMet
	case t.exemptUnfiltered > 0:
		status = StatusMetWithExceptions
	}
	finding := fmt.Sprintf("%d of %d running containers (pod sandboxes not counted) run every process under a seccomp filter, as the kernel reports it (/proc/PID/status Seccomp: 2); %d were decided by nri-seccomp's policy, %d filtered by a profile nri-seccomp did not give, %d exempted by a policy rule (%d of them without a filter); %d run without seccomp unexplained.",
		t.filtered, t.total, t.decided, t.other, t.exempt, t.exemptUnfiltered, t.problems)
	if r.Truncated || r.Unreadable > 0 {
		finding += " The process table was not read completely (see the notes)."
		if status == StatusMet {
			status = StatusNotShown
		}
	}
	cis := Control{
		ID: "CIS-K8s-5.7.2", Source: "CIS Kubernetes Benchmark",
		Title:   "5.7.2 Ensure that the seccomp profile is set to docker/default (RuntimeDefault) in your pod definitions",
		Status:  status,
		Finding: finding,
		Limits:  "Shows the seccomp state of the processes running at the time of the report, not the pod definitions; for containers filtered otherwise it does not show which profile (RuntimeDefault or another).",
	}
	nsa := Control{
		ID: "NSA-CISA-K8s-seccomp", Source: "NSA/CISA Kubernetes Hardening Guidance (v1.2)",
		Title:   "Pod security: restrict containers' system calls with seccomp profiles",
		Status:  status,
		Finding: finding,
		Limits:  "Shows that a filter is in force, not what it allows; the rules nri-seccomp applied are listed per container and in the policy section.",
	}
	logging := Control{
		ID: "NSA-CISA-K8s-seccomp-audit", Source: "NSA/CISA Kubernetes Hardening Guidance (v1.2)",
		Title:  "Audit logging and threat detection: log seccomp refusals",
		Status: StatusNotShown,
		Limits: "Counts only refusals the kernel logged (SCMP_ACT_LOG, or filters with the log flag) and that reached the audit events file; the kernel rate-limits its records.",
	}
	if rep := ev.Refusals; rep != nil {
		refused := 0
		for _, c := range rep.Containers {
			refused += c.Refused
		}
		// Refusals in the file show they are logged; none shows nothing:
		// none happened, or none was logged.
		if refused > 0 {
			logging.Status = StatusMet
		}
		logging.Finding = fmt.Sprintf("%d seccomp audit records in the period, %d of them refusals, in %d groups (container or executable), read from the audit events file.",
			rep.Records, refused, len(rep.Containers))
		if refused == 0 {
			logging.Finding += " With no refusal recorded, this report cannot tell whether none happened or none was logged."
		}
		if rep.Malformed > 0 {
			logging.Finding += fmt.Sprintf(" %d lines could not be read.", rep.Malformed)
		}
	} else {
		logging.Finding = "No audit events were given (--audit-events): this report does not show whether refusals are logged."
	}
	return []Control{cis, nsa, logging}
}
