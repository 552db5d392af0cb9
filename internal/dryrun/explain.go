package dryrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
)

// ErrUsage marks a request that cannot describe any container.
var ErrUsage = errors.New("usage error")

// ExplainRequest describes a container the way a user types it on the
// command line.
type ExplainRequest struct {
	Namespace   string
	Pod         string
	Labels      map[string]string
	Annotations map[string]string
	Container   string
	Image       string
	// ProfileType is the seccompProfile type Kubernetes would send:
	// "" or Unconfined (no seccomp), RuntimeDefault or Localhost.
	ProfileType profile.Type
	// Profile is the seccomp section containerd would put in the spec for
	// that type: the RuntimeDefault profile, or the Localhost file.
	Profile *specs.LinuxSeccomp
}

// Explanation is what `explain` prints; with --output json it is encoded as
// is, so its field names are a public interface.
type Explanation struct {
	Input   ExplainedInput      `json:"input"`
	Rules   []string            `json:"rules"`
	Applied []ExplainRule       `json:"applied"`
	Skipped []ExplainRule       `json:"skipped"`
	Mode    string              `json:"mode"`
	Exempt  bool                `json:"exempt"`
	Changed bool                `json:"changed"`
	Seccomp *specs.LinuxSeccomp `json:"seccomp"`
	// Summary describes Seccomp for people: its default action, how many
	// syscalls each action covers, and what changed from the container's
	// own section. Nil when the container ends up without seccomp.
	Summary        *SectionSummary `json:"summary,omitempty"`
	Digest         string          `json:"digest,omitempty"`
	Notes          []string        `json:"notes"`
	PolicyRevision string          `json:"policy_revision,omitempty"`
	// Error is why the daemon would refuse the container; set together
	// with a non-nil error from Explain.
	Error string `json:"error,omitempty"`
}

// ExplainedInput echoes what the engine saw, after the same conversion the
// daemon does.
type ExplainedInput struct {
	Namespace   string            `json:"namespace"`
	Pod         string            `json:"pod"`
	Container   string            `json:"container"`
	Image       string            `json:"image"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	ProfileType string            `json:"profile_type"`
	HasSeccomp  bool              `json:"has_seccomp"`
}

// ExplainRule is one rule's part in the decision.
type ExplainRule struct {
	Name   string `json:"name"`
	Action string `json:"action,omitempty"`
	Mode   string `json:"mode,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// containerFromRequest builds the NRI view of the described container, the
// same messages containerd sends, so that explain goes through convert.InputFromNRI
// like the daemon.
func containerFromRequest(r ExplainRequest) (*api.PodSandbox, *api.Container, error) {
	pod := &api.PodSandbox{
		Id:          "explain",
		Name:        r.Pod,
		Uid:         "explain",
		Namespace:   r.Namespace,
		Labels:      maps.Clone(r.Labels),
		Annotations: maps.Clone(r.Annotations),
	}
	ctr := &api.Container{
		Id:    "explain",
		Name:  r.Container,
		Linux: &api.LinuxContainer{},
	}
	if r.Image != "" {
		ctr.Image = &api.Image{Name: r.Image}
	}
	switch r.ProfileType {
	case profile.TypeNone, profile.TypeUnconfined:
		if r.Profile != nil {
			return nil, nil, fmt.Errorf("%w: a container with profile type Unconfined has no seccomp profile; drop --profile or give --profile-type", ErrUsage)
		}
		ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_UNCONFINED}
	case profile.TypeRuntimeDefault, profile.TypeLocalhost:
		if r.Profile == nil {
			return nil, nil, fmt.Errorf("%w: profile type %s needs the profile the container would get (--profile FILE)", ErrUsage, r.ProfileType)
		}
		t := api.SecurityProfile_RUNTIME_DEFAULT
		if r.ProfileType == profile.TypeLocalhost {
			t = api.SecurityProfile_LOCALHOST
		}
		ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: t}
		ctr.Linux.SeccompPolicy = convert.SeccompToNRI(r.Profile)
	default:
		return nil, nil, fmt.Errorf("%w: unknown profile type %q (want Unconfined, RuntimeDefault or Localhost)", ErrUsage, r.ProfileType)
	}
	return pod, ctr, nil
}

// Explain makes the decision the daemon would make for the described
// container. When the daemon would refuse the container, the explanation is
// returned with Error set, together with an ErrRefused error.
func Explain(d Decider, r ExplainRequest) (*Explanation, error) {
	pod, ctr, err := containerFromRequest(r)
	if err != nil {
		return nil, err
	}
	e, err := ExplainNRI(d, pod, ctr)
	// Only here, not in explainNRI: the daemon's drift report explains
	// every running container and does not need the summary's diff.
	if err == nil && e.Seccomp != nil {
		var before *specs.LinuxSeccomp
		if e.Changed {
			before = r.Profile
			if before == nil {
				before = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
			}
		}
		e.Summary = summarise(e.Seccomp, before)
	}
	return e, err
}

// ExplainNRI explains the decision for a container as the runtime describes
// it: the explain command's synthetic one, or a running one in the drift
// report.
func ExplainNRI(d Decider, pod *api.PodSandbox, ctr *api.Container) (*Explanation, error) {
	in := convert.InputFromNRI(pod, ctr)
	e := &Explanation{
		Input: ExplainedInput{
			Namespace: in.Namespace, Pod: in.Pod, Container: in.Container, Image: in.Image,
			Labels: in.Labels, Annotations: in.Annotations,
			ProfileType: string(in.ProfileType), HasSeccomp: in.Current != nil,
		},
		Rules:   []string{},
		Applied: []ExplainRule{},
		Skipped: []ExplainRule{},
	}

	dec, notes, err := Evaluate(d, in)
	e.Notes = notes
	if e.Notes == nil {
		e.Notes = []string{}
	}
	if dec != nil {
		for _, rr := range dec.Rules {
			e.Rules = append(e.Rules, rr.Name)
			e.Applied = append(e.Applied, ExplainRule(rr))
		}
		for _, rr := range dec.Skipped {
			e.Skipped = append(e.Skipped, ExplainRule(rr))
		}
		e.Mode, e.Exempt, e.Changed = dec.Mode, dec.Exempt, dec.Changed
		e.Digest, e.PolicyRevision = convert.WrittenDigest(dec), dec.PolicyRevision
		// The section the container ends up with: the engine's result,
		// which is the current one when nothing changed.
		e.Seccomp = dec.Seccomp
	}
	if err != nil {
		err = fmt.Errorf("%w: %s/%s container %q: %w", ErrRefused, in.Namespace, in.Pod, in.Container, err)
		e.Error = err.Error()
		e.Changed, e.Seccomp = false, nil
		return e, err
	}
	return e, nil
}

// SectionSummary is the shape of a seccomp section at a glance.
type SectionSummary struct {
	DefaultAction string   `json:"default_action"`
	Architectures []string `json:"architectures"`
	Flags         []string `json:"flags"`
	// Actions counts the syscall names each action is written for; a name
	// with argument conditions counts once under each of its actions.
	Actions map[string]int `json:"actions"`
	// Changes are the calls whose verdict differs from what the container
	// had (no seccomp reads as allow-all); "*" stands for every call
	// neither section names. Empty when nothing changed.
	Changes []SyscallChange `json:"changes"`
	// ChangesError says why Changes could not be computed.
	ChangesError string `json:"changes_error,omitempty"`
}

// SyscallChange is one call's verdict before and after, spelt out.
type SyscallChange struct {
	Syscall string `json:"syscall"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

// summarise describes s; with before, also what changed from it.
func summarise(s, before *specs.LinuxSeccomp) *SectionSummary {
	sum := &SectionSummary{
		DefaultAction: string(s.DefaultAction),
		Architectures: []string{},
		Flags:         []string{},
		Actions:       map[string]int{},
		Changes:       []SyscallChange{},
	}
	for _, a := range s.Architectures {
		sum.Architectures = append(sum.Architectures, string(a))
	}
	for _, f := range s.Flags {
		sum.Flags = append(sum.Flags, string(f))
	}
	seen := map[string]bool{}
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			if k := string(sc.Action) + "\x00" + n; !seen[k] {
				seen[k] = true
				sum.Actions[string(sc.Action)]++
			}
		}
	}
	if before == nil {
		return sum
	}
	d, err := profiletool.Diff(before, s, profile.Native)
	if err != nil {
		sum.ChangesError = err.Error()
		return sum
	}
	for _, list := range [][]profiletool.DiffEntry{d.LooserInA, d.LooserInB, d.Changed} {
		for _, c := range list {
			sum.Changes = append(sum.Changes, SyscallChange{Syscall: c.Name, Before: c.A, After: c.B})
		}
	}
	slices.SortFunc(sum.Changes, func(a, b SyscallChange) int { return strings.Compare(a.Syscall, b.Syscall) })
	return sum
}

// maxTextChanges is how many changed calls the text output lists; JSON has
// them all.
const maxTextChanges = 20

// writeText writes the summary under the result line.
func (s *SectionSummary) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "  default action %s", s.DefaultAction)
	if len(s.Architectures) > 0 {
		fmt.Fprintf(b, "; architectures %s", strings.Join(s.Architectures, " "))
	}
	if len(s.Flags) > 0 {
		fmt.Fprintf(b, "; flags %s", strings.Join(s.Flags, " "))
	}
	b.WriteString("\n")
	if len(s.Actions) > 0 {
		var parts []string
		for _, a := range slices.Sorted(maps.Keys(s.Actions)) {
			parts = append(parts, fmt.Sprintf("%s %d", a, s.Actions[a]))
		}
		fmt.Fprintf(b, "  syscalls per action: %s\n", strings.Join(parts, ", "))
	}
	switch {
	case s.ChangesError != "":
		fmt.Fprintf(b, "  changes: cannot compare with the container's section: %s\n", s.ChangesError)
	case len(s.Changes) > 0:
		fmt.Fprintf(b, "  changed from what the container had (%d):\n", len(s.Changes))
		tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
		for i, c := range s.Changes {
			if i == maxTextChanges {
				fmt.Fprintf(tw, "    ... and %d more (--output json lists them all)\n", len(s.Changes)-i)
				break
			}
			fmt.Fprintf(tw, "    %s\t%s\t-> %s\n", c.Syscall, c.Before, c.After)
		}
		_ = tw.Flush() // writes to a strings.Builder cannot fail
	}
}

// WriteJSON writes e as one indented JSON object.
func (e *Explanation) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// WriteText writes a summary for people.
func (e *Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	in := e.Input
	fmt.Fprintf(&b, "container %s/%s %q", in.Namespace, in.Pod, in.Container)
	if in.Image != "" {
		fmt.Fprintf(&b, " (image %s)", in.Image)
	}
	seccomp := "no seccomp"
	if in.HasSeccomp {
		seccomp = "has a seccomp profile"
	}
	fmt.Fprintf(&b, "\n  profile type %s, %s\n", in.ProfileType, seccomp)

	if e.Error != "" {
		fmt.Fprintf(&b, "REFUSED: the daemon would fail the creation: %s\n", e.Error)
	}
	// Rule names in one column, whatever their length.
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	switch {
	case len(e.Applied) == 0:
		fmt.Fprintln(tw, "no rule applies")
	default:
		fmt.Fprintln(tw, "rules applied, in order:")
		for _, r := range e.Applied {
			what := r.Action
			if r.Mode != "" {
				what += " (" + r.Mode + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Name, what, r.Reason)
		}
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintln(tw, "rules not applied:")
		for _, r := range e.Skipped {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Name, r.Action, r.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case e.Error != "":
	case e.Exempt && !e.Changed:
		b.WriteString("result: exempt, the container keeps what it has\n")
	case e.Changed:
		fmt.Fprintf(&b, "result: seccomp set (mode %s, %s, %d syscall rules)\n", e.Mode, e.Digest, len(e.Seccomp.Syscalls))
	default:
		b.WriteString("result: unchanged\n")
	}
	if e.Summary != nil {
		e.Summary.writeText(&b)
	}
	if len(e.Notes) > 0 {
		b.WriteString("notes:\n")
		for _, n := range e.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	if e.PolicyRevision != "" {
		fmt.Fprintf(&b, "policy revision %s\n", e.PolicyRevision)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
