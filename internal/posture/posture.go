package posture

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Class is what posture concludes about one container.
type Class string

const (
	// ClassDecided: the plugin decided the container's profile (a
	// decision-log line names it) and the policy did not exempt it.
	ClassDecided Class = "decided"
	// ClassExempt: the plugin saw the container and the policy exempted it.
	ClassExempt Class = "exempt"
	// ClassFilteredOtherwise: its processes have a seccomp filter, but no
	// decision of the plugin names it (the runtime's default profile, one
	// of its own, or a decision log that was not given).
	ClassFilteredOtherwise Class = "filtered-otherwise"
	// ClassUnfiltered: some process of the container runs without seccomp
	// and nothing explains it.
	ClassUnfiltered Class = "unfiltered"
)

// Reach says whether the plugin can see a container at all: only
// containers created through CRI pass through NRI.
type Reach string

const (
	// ReachNRI: created through CRI (kubelet, crictl); NRI shows it to the
	// plugin.
	ReachNRI Reach = "nri"
	// ReachSandbox: a CRI pod sandbox (pause); NRI never shows it.
	ReachSandbox Reach = "sandbox"
	// ReachOutside: containerd knows it but it was not created through CRI
	// (ctr run, nerdctl, a client of containerd's API): NRI never shows it.
	ReachOutside Reach = "outside"
	// ReachUnknown: containerd (if asked) does not know the id: another
	// runtime, another containerd, or a container that just exited.
	ReachUnknown Reach = "unknown"
)

// Filter says whether a decided container still has the seccomp section
// nri-seccomp decided, as containerd holds it in the container's OCI spec
// (the kernel's loaded filter is not read back).
type Filter string

const (
	// FilterAsDecided: the spec's section has the digest the plugin logged.
	FilterAsDecided Filter = "as-decided"
	// FilterDiffers: it has another digest, or no section at all: a problem.
	FilterDiffers Filter = "differs"
	// FilterUnknown: containerd was not asked or its spec did not decode,
	// or the decision carries no digest or one of another digest format.
	FilterUnknown Filter = "unknown"
)

// Decision is the plugin's decision for one container, from its decision
// log.
type Decision struct {
	Rules  []string
	Mode   string
	Exempt bool
	// Revision is the policy revision that decided; Digest is
	// profile.Digest of the seccomp section the plugin answered (the
	// decision log's policy_revision and digest).
	Revision, Digest string
	// Pod identity as the plugin logged it, for containers containerd
	// was not asked about.
	Namespace, Pod, Container string
}

// Container is one row of the report. JSON field names are a public
// interface: every field is always present, empty when unknown.
type Container struct {
	ID string `json:"container_id"`
	// Runtime side, from containerd.
	ContainerdNamespace string `json:"containerd_namespace"`
	Image               string `json:"image"`
	PodNamespace        string `json:"pod_namespace"`
	Pod                 string `json:"pod"`
	Name                string `json:"container"`
	Reach               Reach  `json:"reach"`
	// Kernel side.
	Processes  int `json:"processes"`
	Unfiltered int `json:"unfiltered_processes"`
	// MaxFilters is the largest Seccomp_filters of its processes, -1 when
	// the kernel does not print it.
	MaxFilters int `json:"max_filters"`
	// Plugin side.
	Class    Class    `json:"class"`
	Rules    []string `json:"rules"`
	Mode     string   `json:"mode"`
	Revision string   `json:"policy_revision"`
	// Filter is set for decided containers that are not exempt: whether
	// SeccompDigest (the OCI spec's section, "" when containerd was not
	// asked or the spec has none) is DecidedDigest (the plugin's answer).
	Filter        Filter `json:"filter"`
	SeccompDigest string `json:"seccomp_digest"`
	DecidedDigest string `json:"decided_digest"`
	Problem       string `json:"problem"`
}

// Report is the posture of the node.
type Report struct {
	Containers []Container `json:"containers"`
	// Problems counts containers with a Problem.
	Problems      int      `json:"problems"`
	HostProcesses int      `json:"host_processes"`
	Vanished      int      `json:"vanished_processes"`
	Unreadable    int      `json:"unreadable_processes"`
	Truncated     bool     `json:"truncated"`
	Notes         []string `json:"notes"`
}

// Input is what Build joins. Meta and Decisions may be nil when containerd
// or the decision log was not asked; the notes then say what is unknown.
type Input struct {
	Scan      Scan
	Meta      map[string]Meta
	Decisions map[string]Decision
}

// Build classifies every container of the scan. A container is a problem
// when one of its processes has no seccomp filter, unless the policy
// exempted it or it is a CRI pod sandbox (which NRI never shows the plugin
// and which runs only the pause binary); a decided container whose
// processes lack the filter is a problem too: the runtime did not apply
// what the plugin returned, and so is one whose OCI spec (as containerd
// holds it) has another seccomp section than the one the plugin decided.
func Build(in Input) Report {
	r := Report{HostProcesses: in.Scan.HostProcesses, Vanished: in.Scan.Vanished,
		Unreadable: in.Scan.Unreadable, Truncated: in.Scan.Truncated, Notes: []string{}}
	for id, procs := range in.Scan.Containers {
		c := container(id, procs, in)
		if c.Problem != "" {
			r.Problems++
		}
		r.Containers = append(r.Containers, c)
	}
	sort.Slice(r.Containers, func(i, j int) bool { return less(r.Containers[i], r.Containers[j]) })
	if r.Containers == nil {
		r.Containers = []Container{}
	}
	r.Notes = notes(in, r)
	return r
}

// less orders problems first, then by containerd namespace, pod, name, id.
func less(a, b Container) bool {
	if (a.Problem != "") != (b.Problem != "") {
		return a.Problem != ""
	}
	ka := []string{a.ContainerdNamespace, a.PodNamespace, a.Pod, a.Name, a.ID}
	kb := []string{b.ContainerdNamespace, b.PodNamespace, b.Pod, b.Name, b.ID}
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

func container(id string, procs []Process, in Input) Container {
	c := Container{ID: id, Processes: len(procs), MaxFilters: -1, Rules: []string{}}
	for _, p := range procs {
		if !p.Filtered() {
			c.Unfiltered++
		}
		c.MaxFilters = max(c.MaxFilters, p.Filters)
	}
	c.Reach = ReachUnknown
	if m, ok := in.Meta[id]; ok {
		c.ContainerdNamespace, c.Image = m.Namespace, m.Image
		c.PodNamespace, c.Pod, c.Name = m.Labels[LabelPodNamespace], m.Labels[LabelPodName], m.Labels[LabelContainerName]
		c.Reach = reachOf(m)
	}
	d, decided := in.Decisions[id]
	if decided {
		if c.Pod == "" { // containerd not asked: the plugin's view
			c.PodNamespace, c.Pod, c.Name = d.Namespace, d.Pod, d.Container
		}
		if c.Reach == ReachUnknown && in.Meta == nil {
			c.Reach = ReachNRI // the plugin saw it, so NRI showed it
		}
		c.Mode, c.Revision = d.Mode, d.Revision
		if d.Rules != nil {
			c.Rules = d.Rules
		}
	}
	c.Class, c.Problem = classify(c, d, decided)
	if decided && !d.Exempt {
		m, asked := in.Meta[id]
		c.Filter, c.SeccompDigest, c.DecidedDigest = filterOf(m, asked, d)
		if c.Filter == FilterDiffers {
			c.Problem = joinProblems(c.Problem, fmt.Sprintf("seccomp section differs from the one nri-seccomp decided: digest %s, decided %s",
				digestOrNone(c.SeccompDigest), d.Digest))
		}
	}
	return c
}

// filterOf compares the seccomp section containerd holds for the container
// with the one the plugin decided, by profile.CompareDigests: the digest the
// decision log carries is of the section as the runtime writes it. A
// decision logged in another digest format (an older release's log) says
// nothing either way: unknown, not differs.
func filterOf(m Meta, asked bool, d Decision) (f Filter, spec, decided string) {
	if !asked || !m.SpecRead {
		return FilterUnknown, "", d.Digest
	}
	if d.Digest == "" {
		return FilterUnknown, m.Seccomp, ""
	}
	switch profile.CompareDigests(m.Seccomp, d.Digest) {
	case profile.DigestsEqual:
		return FilterAsDecided, m.Seccomp, d.Digest
	case profile.DigestsIncomparable:
		return FilterUnknown, m.Seccomp, d.Digest
	default:
		return FilterDiffers, m.Seccomp, d.Digest
	}
}

func digestOrNone(d string) string {
	if d == "" {
		return "none (no seccomp section)"
	}
	return d
}

func joinProblems(a, b string) string {
	if a == "" {
		return b
	}
	return strings.Join([]string{a, b}, "; ")
}

func reachOf(m Meta) Reach {
	switch m.CRIKind() {
	case "container":
		return ReachNRI
	case "sandbox":
		return ReachSandbox
	default:
		return ReachOutside
	}
}

// classify returns the class and, for a problem, why.
func classify(c Container, d Decision, decided bool) (Class, string) {
	switch {
	case decided && d.Exempt:
		return ClassExempt, ""
	case decided && c.Unfiltered > 0:
		return ClassDecided, "decided by nri-seccomp but runs without seccomp: the runtime did not apply the profile"
	case decided:
		return ClassDecided, ""
	case c.Unfiltered == 0:
		return ClassFilteredOtherwise, ""
	case c.Reach == ReachSandbox:
		return ClassUnfiltered, "" // pause only; see Build
	case c.Reach == ReachOutside:
		return ClassUnfiltered, "runs without seccomp; created outside CRI, so nri-seccomp never saw it"
	case c.Reach == ReachUnknown:
		return ClassUnfiltered, "runs without seccomp; not a container of the containerd asked, so nri-seccomp never saw it"
	default:
		return ClassUnfiltered, "runs without seccomp and no decision of nri-seccomp names it"
	}
}

func notes(in Input, r Report) []string {
	var n []string
	if in.Meta == nil {
		n = append(n, "containerd was not asked: no namespaces, images or pod names, no way to tell containers outside CRI, and containers whose id is not 64 hex digits (ctr run NAME) are missed")
	}
	if in.Decisions == nil {
		n = append(n, "no decision log: no container is known to be decided by nri-seccomp")
	}
	if r.Truncated {
		n = append(n, "the process table was read only in part (too many processes)")
	}
	if r.Unreadable > 0 {
		n = append(n, fmt.Sprintf("%d container processes could not be read (not root, or a status without a Seccomp line): their containers may be missing", r.Unreadable))
	}
	if n == nil {
		return []string{}
	}
	return n
}
