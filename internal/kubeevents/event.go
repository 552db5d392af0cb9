// Package kubeevents posts the plugin's seccomp decisions as Kubernetes
// Events on the pods they concern, so that `kubectl describe pod` shows which
// rule gave a container which profile, without access to the node.
//
// It speaks to the API server with net/http and hand-written JSON for the one
// object it creates (core/v1 Event) instead of client-go: the plugin needs
// two requests (create and patch), and client-go would add megabytes to a
// daemon that runs on every node. Posting is asynchronous: a decision is
// queued (bounded) and a single worker sends it; a full queue drops, counted,
// so the runtime never waits on the API server.
package kubeevents

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Decision is a decision that set or changed a container's seccomp profile:
// pure data, copied from the plugin's decision record.
type Decision struct {
	Namespace string
	Pod       string
	PodUID    string
	Container string
	// ProfileType is what the container had before the plugin: "" or
	// "Unconfined" (no seccomp), "RuntimeDefault", "Localhost".
	ProfileType    string
	Rules          []engine.RuleResult
	Digest         string // digest of the profile the container runs with
	PolicyRevision string
}

// Event reasons, one per kind of decision. Reason is what `kubectl get
// events --field-selector reason=...` filters on.
const (
	ReasonInjected  = "SeccompInjected"  // an enforcing profile given to a container without one
	ReasonTightened = "SeccompTightened" // an enforcing rule narrowed the container's profile
	ReasonAudit     = "SeccompAudit"     // only audit-mode rules: refusals are logged, not enforced
)

// Component is the Event source and reporting controller.
const Component = "nri-seccomp"

// maxMessage bounds an Event's message. events.k8s.io/v1 caps notes at 1 KiB;
// core/v1 has no cap, but kubectl prints the message on one line.
const maxMessage = 1024

// reason classifies d: audit when no enforcing rule applied, injected when
// an enforcing rule gave the container its first profile, else tightened.
func reason(d Decision) (reason, action string) {
	enforcing, injected := false, false
	for _, r := range d.Rules {
		if r.Mode == "audit" {
			continue
		}
		enforcing = true
		injected = injected || r.Action == "inject"
	}
	switch {
	case !enforcing:
		return ReasonAudit, "Audit"
	case injected:
		return ReasonInjected, "Inject"
	}
	return ReasonTightened, "Tighten"
}

// message is the Event's text: what happened to which container, which rules
// did it, and what a refused syscall looks like from inside.
func message(d Decision, why string) string {
	var b strings.Builder
	had := profile.Type(d.ProfileType).Normal()
	switch why {
	case ReasonInjected:
		fmt.Fprintf(&b, "nri-seccomp gave container %q a seccomp profile (it had %s)", d.Container, had)
	case ReasonTightened:
		fmt.Fprintf(&b, "nri-seccomp tightened the seccomp profile of container %q (it had %s)", d.Container, had)
	default:
		fmt.Fprintf(&b, "nri-seccomp set an audit-mode seccomp profile on container %q (it had %s)", d.Container, had)
	}
	b.WriteString("; rules: ")
	tail := fmt.Sprintf("; profile %s, policy revision %s. %s", orDash(d.Digest), orDash(d.PolicyRevision), consequence(why))
	rules := ruleList(d.Rules, maxMessage-b.Len()-len(tail))
	b.WriteString(rules)
	b.WriteString(tail)
	return truncate(b.String(), maxMessage)
}

func consequence(why string) string {
	if why == ReasonAudit {
		return "Syscalls these rules would refuse are only logged on the node."
	}
	return "Syscalls refused by enforcing rules fail with EPERM (or the rule's errno); audit-mode rules only log. Ask the cluster admin: nri-seccomp explain."
}

// ruleList names the rules, "name (action, mode)", within room bytes,
// ending with "and N more" when they do not all fit.
func ruleList(rules []engine.RuleResult, room int) string {
	if len(rules) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, r := range rules {
		item := fmt.Sprintf("%s (%s, %s)", r.Name, r.Action, r.Mode)
		if i > 0 {
			item = ", " + item
		}
		more := fmt.Sprintf(" and %d more", len(rules)-i)
		if b.Len()+len(item)+len(" and 9999 more") > room {
			b.WriteString(more)
			break
		}
		b.WriteString(item)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-3]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// ObjectReference is core/v1's reference to the Event's object (the Pod).
type ObjectReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
}

// ObjectMeta is the part of metav1.ObjectMeta an Event needs.
type ObjectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// EventSource is core/v1's EventSource.
type EventSource struct {
	Component string `json:"component"`
	Host      string `json:"host,omitempty"`
}

// Event is a core/v1 Event, with the fields this package sets. core/v1
// rather than events.k8s.io/v1: it is what `kubectl describe pod` lists
// (both are one resource in the API server), and its count and timestamps
// aggregate repeats with a merge patch.
type Event struct {
	APIVersion          string          `json:"apiVersion"`
	Kind                string          `json:"kind"`
	Metadata            ObjectMeta      `json:"metadata"`
	InvolvedObject      ObjectReference `json:"involvedObject"`
	Reason              string          `json:"reason"`
	Message             string          `json:"message"`
	Type                string          `json:"type"`
	Source              EventSource     `json:"source"`
	FirstTimestamp      string          `json:"firstTimestamp"`
	LastTimestamp       string          `json:"lastTimestamp"`
	Count               int             `json:"count"`
	Action              string          `json:"action"`
	ReportingController string          `json:"reportingComponent"`
	ReportingInstance   string          `json:"reportingInstance,omitempty"`
}

// newEvent builds the Event for count occurrences of d, from first to last.
func newEvent(d Decision, node string, first, last time.Time, count int) Event {
	why, action := reason(d)
	return Event{
		APIVersion: "v1",
		Kind:       "Event",
		Metadata:   ObjectMeta{Name: eventName(d.Pod, first), Namespace: d.Namespace},
		InvolvedObject: ObjectReference{
			APIVersion: "v1", Kind: "Pod", Namespace: d.Namespace, Name: d.Pod, UID: d.PodUID,
		},
		Reason:              why,
		Message:             message(d, why),
		Type:                "Normal",
		Source:              EventSource{Component: Component, Host: node},
		FirstTimestamp:      timestamp(first),
		LastTimestamp:       timestamp(last),
		Count:               count,
		Action:              action,
		ReportingController: Component,
		ReportingInstance:   node,
	}
}

// eventName is the pod's name and the time in hex, as client-go names
// events: unique per pod without asking the server. The pod part is cut so
// the whole stays a valid name (253 bytes).
func eventName(pod string, now time.Time) string {
	var n [8]byte
	u := uint64(now.UnixNano())
	for i := range n {
		n[7-i] = byte(u >> (8 * i))
	}
	suffix := "." + hex.EncodeToString(n[:])
	if max := 253 - len(suffix); len(pod) > max {
		pod = strings.TrimRight(pod[:max], ".-")
	}
	return pod + suffix
}

// timestamp is metav1.Time's JSON form: RFC 3339, UTC, whole seconds.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
