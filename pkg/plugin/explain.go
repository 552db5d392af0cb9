package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"text/tabwriter"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	ProfileType ProfileType
	// Profile is the seccomp section containerd would put in the spec for
	// that type: the RuntimeDefault profile, or the Localhost file.
	Profile *specs.LinuxSeccomp
}

// Explanation is what `explain` prints; with --output json it is encoded as
// is, so its field names are a public interface.
type Explanation struct {
	Input          ExplainedInput      `json:"input"`
	Rules          []string            `json:"rules"`
	Applied        []ExplainRule       `json:"applied"`
	Skipped        []ExplainRule       `json:"skipped"`
	Mode           string              `json:"mode"`
	Exempt         bool                `json:"exempt"`
	Changed        bool                `json:"changed"`
	Seccomp        *specs.LinuxSeccomp `json:"seccomp"`
	Digest         string              `json:"digest,omitempty"`
	Notes          []string            `json:"notes"`
	PolicyRevision string              `json:"policy_revision,omitempty"`
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
// same messages containerd sends, so that explain goes through InputFromNRI
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
	case ProfileTypeNone, ProfileTypeUnconfined:
		if r.Profile != nil {
			return nil, nil, fmt.Errorf("%w: a container with profile type Unconfined has no seccomp profile; drop --profile or give --profile-type", ErrUsage)
		}
		ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_UNCONFINED}
	case ProfileTypeRuntimeDefault, ProfileTypeLocalhost:
		if r.Profile == nil {
			return nil, nil, fmt.Errorf("%w: profile type %s needs the profile the container would get (--profile FILE)", ErrUsage, r.ProfileType)
		}
		t := api.SecurityProfile_RUNTIME_DEFAULT
		if r.ProfileType == ProfileTypeLocalhost {
			t = api.SecurityProfile_LOCALHOST
		}
		ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: t}
		ctr.Linux.SeccompPolicy = SeccompToNRI(r.Profile)
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
	return explainNRI(d, pod, ctr)
}

// explainNRI explains the decision for a container as the runtime describes
// it: the explain command's synthetic one, or a running one in the drift
// report.
func explainNRI(d Decider, pod *api.PodSandbox, ctr *api.Container) (*Explanation, error) {
	in := InputFromNRI(pod, ctr)
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

	dec, notes, err := evaluate(d, in)
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
		e.Digest, e.PolicyRevision = dec.Digest, dec.PolicyRevision
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
