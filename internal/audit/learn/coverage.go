package learn

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// ErrSelection marks a workload selection record cannot use.
var ErrSelection = errors.New("bad workload selection")

// Selecting a workload. The inputs record identifies a container by
// namespace, pod name, container name and container id: the audit events
// and the decision log carry no pod labels and no owner reference, so a
// label selector cannot be evaluated offline. A workload's replicas and
// their replacements are found by their names instead, which Kubernetes
// generates from the owner's:
//
//	Deployment   OWNER-HASH-XXXXX   (HASH: the pod template's, 1-10 characters)
//	ReplicaSet, DaemonSet, Job
//	             OWNER-XXXXX
//	CronJob      OWNER-MINUTES-XXXXX (the Job's scheduled time)
//	StatefulSet  OWNER-ORDINAL
//
// XXXXX and HASH come from Kubernetes' "safe" alphabet, which has no vowels
// (utilrand.SafeEncodeString), so an owner name cannot swallow another
// workload's name part: owner "web" does not select "web-api-7d4b9c-x2x9q".

// safeAlphabet is k8s.io/apimachinery/pkg/util/rand's alphabet for generated
// name parts.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func generated(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		if strings.IndexByte(safeAlphabet, c) < 0 {
			return false
		}
	}
	return true
}

func digits(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// OwnedBy reports whether pod is a name Kubernetes generates for a pod of
// owner (a Deployment, ReplicaSet, DaemonSet, Job, CronJob or StatefulSet).
func OwnedBy(owner, pod string) bool {
	rest, ok := strings.CutPrefix(pod, owner+"-")
	if !ok || owner == "" {
		return false
	}
	if digits(rest, 10) {
		return true // StatefulSet ordinal
	}
	parts := strings.Split(rest, "-")
	switch len(parts) {
	case 1:
		return generated(parts[0], 5, 5)
	case 2:
		return (generated(parts[0], 1, 10) || digits(parts[0], 10)) && generated(parts[1], 5, 5)
	}
	return false
}

// checkSelection reports what makes o unusable: no namespace, not exactly
// one of Pod and Owner, or an Owner that is not a Kubernetes name.
func (o ProfileOptions) checkSelection() error {
	switch {
	case o.Namespace == "":
		return fmt.Errorf("%w: a namespace is required", ErrSelection)
	case o.Pod == "" && o.Owner == "":
		return fmt.Errorf("%w: a pod or an owner is required", ErrSelection)
	case o.Pod != "" && o.Owner != "":
		return fmt.Errorf("%w: a pod or an owner, not both", ErrSelection)
	case o.Owner != "" && !dnsLabel(o.Owner):
		return fmt.Errorf("%w: owner %q: not a Kubernetes object name (lower-case letters, digits and '-', at most 253 characters)", ErrSelection, printable.String(o.Owner))
	}
	return nil
}

// dnsLabel checks an owner's name: a DNS subdomain without dots (owners of
// pods have such names; a dot never appears in a generated pod name's tail).
func dnsLabel(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// selects reports whether a pod's records belong to the workload.
func (o ProfileOptions) selects(ns, pod string) bool {
	if ns != o.Namespace {
		return false
	}
	if o.Owner != "" {
		return OwnedBy(o.Owner, pod)
	}
	return pod == o.Pod
}

// Coverage says what a recorded profile rests on: which pods and runs, over
// which time, how many records. A profile allows only what these runs did.
type Coverage struct {
	Pods []string `json:"pods"`
	// Runs counts container instances: each replica's container, and each
	// restart of it (a new container id), is one run.
	Runs      int                 `json:"runs"`
	Records   int                 `json:"records"`
	Syscalls  int                 `json:"syscalls"`
	First     time.Time           `json:"first_record,omitzero"`
	Last      time.Time           `json:"last_record,omitzero"`
	Container []ContainerCoverage `json:"containers"`
	// Unattributed counts the records of the input that no container was
	// matched to, made between First and Last: possibly the workload's,
	// lost to the profile. UnattributedNotAllowed are their syscalls the
	// profile does not allow.
	Unattributed           int      `json:"unattributed_records"`
	UnattributedNotAllowed []string `json:"unattributed_not_allowed"`
}

// ContainerCoverage is the coverage and convergence of one container name
// across the selected pods.
type ContainerCoverage struct {
	// Container is the container's name, or "unattributed: EXE".
	Container string    `json:"container"`
	Pods      int       `json:"pods"`
	Runs      int       `json:"runs"`
	Records   int       `json:"records"`
	Syscalls  int       `json:"syscalls"`
	First     time.Time `json:"first_record,omitzero"`
	Last      time.Time `json:"last_record,omitzero"`
	// LastNew is when the syscall seen last for the first time was first
	// seen (by any run), and LastNewSyscalls which ones were first seen
	// then. Zero when no syscall was seen.
	LastNew         time.Time `json:"last_new_syscall_at,omitzero"`
	LastNewSyscalls []string  `json:"last_new_syscalls"`
	// QuietSeconds is how long the recording went on after LastNew (to the
	// last record of this container): "no new syscall in the last N".
	QuietSeconds int64 `json:"quiet_seconds"`
	// RunsWithoutNew counts the latest runs (by their first record) that
	// made no syscall the runs started before them had not made.
	RunsWithoutNew int `json:"runs_without_new_syscall"`
}

// run is one container instance's part: its first and last record, and
// the syscalls the profile takes from it with when each was first seen.
type run struct {
	pod, container string
	first, last    time.Time
	records        int
	used           map[string]time.Time
}

// newRun starts a run for a selected container report.
func newRun(c audit.ContainerReport) *run {
	r := &run{pod: c.Pod, container: printable.String(c.Container), records: c.Total, used: map[string]time.Time{}}
	if !c.Attributed {
		r.container = "unattributed: " + printable.String(c.Exe)
	}
	for _, s := range c.Syscalls {
		if r.first.IsZero() || s.First.Before(r.first) {
			r.first = s.First
		}
		if s.Last.After(r.last) {
			r.last = s.Last
		}
	}
	return r
}

// use notes that the profile allows name because this run made it at t.
func (r *run) use(name string, t time.Time) {
	if at, ok := r.used[name]; !ok || t.Before(at) {
		r.used[name] = t
	}
}

// coverage sums the runs up, per container name and in all.
func coverage(runs []*run, allowed int) Coverage {
	cov := Coverage{Runs: len(runs), Syscalls: allowed, Pods: []string{}, Container: []ContainerCoverage{}, UnattributedNotAllowed: []string{}}
	byName := map[string][]*run{}
	for _, r := range runs {
		cov.Records = audit.AddSat(cov.Records, r.records)
		cov.First, cov.Last = widen(cov.First, cov.Last, r.first, r.last)
		if r.pod != "" && !slices.Contains(cov.Pods, printable.String(r.pod)) {
			cov.Pods = append(cov.Pods, printable.String(r.pod))
		}
		byName[r.container] = append(byName[r.container], r)
	}
	slices.Sort(cov.Pods)
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		cov.Container = append(cov.Container, containerCoverage(name, byName[name]))
	}
	return cov
}

func widen(first, last, f, l time.Time) (time.Time, time.Time) {
	if !f.IsZero() && (first.IsZero() || f.Before(first)) {
		first = f
	}
	if l.After(last) {
		last = l
	}
	return first, last
}

// containerCoverage computes one container name's convergence: when each
// syscall was first seen by any run, the latest of those, and how many of
// the latest runs added nothing.
func containerCoverage(name string, runs []*run) ContainerCoverage {
	cc := ContainerCoverage{Container: name, Runs: len(runs), LastNewSyscalls: []string{}}
	slices.SortStableFunc(runs, func(a, b *run) int { return a.first.Compare(b.first) })
	pods := map[string]bool{}
	firstSeen := map[string]time.Time{}
	for _, r := range runs {
		pods[r.pod] = true
		cc.Records = audit.AddSat(cc.Records, r.records)
		cc.First, cc.Last = widen(cc.First, cc.Last, r.first, r.last)
		for n, t := range r.used {
			if at, ok := firstSeen[n]; !ok || t.Before(at) {
				firstSeen[n] = t
			}
		}
	}
	cc.Pods = len(pods)
	cc.Syscalls = len(firstSeen)
	for n, t := range firstSeen {
		switch {
		case t.After(cc.LastNew):
			cc.LastNew, cc.LastNewSyscalls = t, []string{printable.String(n)}
		case t.Equal(cc.LastNew):
			cc.LastNewSyscalls = append(cc.LastNewSyscalls, printable.String(n))
		}
	}
	slices.Sort(cc.LastNewSyscalls)
	if !cc.LastNew.IsZero() {
		cc.QuietSeconds = int64(cc.Last.Sub(cc.LastNew) / time.Second)
	}
	// Runs in order of their first record; a run is new if it made a
	// syscall no run started before it had made.
	seen := map[string]bool{}
	for _, r := range runs {
		added := false
		for n := range r.used {
			if !seen[n] {
				seen[n], added = true, true
			}
		}
		if added {
			cc.RunsWithoutNew = 0
		} else {
			cc.RunsWithoutNew++
		}
	}
	return cc
}

// NotCovered is the warning every recording carries.
const NotCovered = "the profile allows only the syscalls these runs made. Code paths they did not exercise " +
	"(error handling, rare requests, reloads, signals, log rotation, upgrades, failover) are not covered " +
	"and will fail with EPERM under it; keep the rule in audit mode until no new syscall appears over " +
	"the workload's whole cycle."

// WriteText writes the coverage for people.
func (c Coverage) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "coverage: %d %s (%s), %d %s, %d %s, %d %s seen",
		len(c.Pods), plural(len(c.Pods), "pod", "pods"), strings.Join(c.Pods, ", "),
		c.Runs, plural(c.Runs, "run", "runs"), c.Records, plural(c.Records, "record", "records"),
		c.Syscalls, plural(c.Syscalls, "syscall", "syscalls"))
	if !c.First.IsZero() {
		fmt.Fprintf(&b, ", %s to %s (%s)", stamp(c.First), stamp(c.Last), c.Last.Sub(c.First))
	}
	b.WriteString("\n")
	for _, cc := range c.Container {
		fmt.Fprintf(&b, "  container %s: %d %s, %d %s, %d %s, %d %s", cc.Container,
			cc.Pods, plural(cc.Pods, "pod", "pods"), cc.Runs, plural(cc.Runs, "run", "runs"),
			cc.Records, plural(cc.Records, "record", "records"), cc.Syscalls, plural(cc.Syscalls, "syscall", "syscalls"))
		if cc.LastNew.IsZero() {
			b.WriteString("; no syscall seen\n")
			continue
		}
		fmt.Fprintf(&b, "; last new syscall (%s) first seen %s: none new in the last %s and in the last %d of %d %s\n",
			strings.Join(cc.LastNewSyscalls, " "), stamp(cc.LastNew), time.Duration(cc.QuietSeconds)*time.Second,
			cc.RunsWithoutNew, cc.Runs, plural(cc.Runs, "run", "runs"))
	}
	if c.Unattributed > 0 {
		fmt.Fprintf(&b, "warning: %d %s made while these runs were recorded matched no container (a process that exited before it was attributed, or another workload's); the profile may miss them",
			c.Unattributed, plural(c.Unattributed, "record", "records"))
		if len(c.UnattributedNotAllowed) > 0 {
			fmt.Fprintf(&b, "; among them, not allowed: %s", strings.Join(c.UnattributedNotAllowed, " "))
		}
		b.WriteString(" (audit report lists them by executable)\n")
	}
	fmt.Fprintf(&b, "warning: %s\n", NotCovered)
	_, err := io.WriteString(w, b.String())
	return err
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
