package dryrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/nritest"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

func TestExplainJSON(t *testing.T) {
	d := &nritest.FakeDecider{Fn: nritest.PolicyDecider}
	e, err := Explain(d, ExplainRequest{
		Namespace: "prod", Pod: "web", Container: "app", Image: "registry.example.com/app:1",
		Labels: map[string]string{"tier": "web"}, Annotations: map[string]string{"a/container.app": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got["rules"], []any{"inject"}) || got["mode"] != "enforce" || got["changed"] != true || got["digest"] != "sha256:app" {
		t.Errorf("decision fields: %v", got)
	}
	sc, ok := got["seccomp"].(map[string]any)
	if !ok || sc["defaultAction"] != "SCMP_ACT_ALLOW" {
		t.Errorf("seccomp = %v, want a runtime-spec LinuxSeccomp object", got["seccomp"])
	}
	in := got["input"].(map[string]any)
	if in["profile_type"] != "Unconfined" || in["has_seccomp"] != false || in["image"] != "registry.example.com/app:1" {
		t.Errorf("input = %v", in)
	}
	// The same annotation scoping as the daemon.
	if in["annotations"].(map[string]any)["a"] != "x" {
		t.Errorf("annotations = %v", in["annotations"])
	}
	for _, k := range []string{"applied", "skipped", "notes", "exempt"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	// The engine saw what the daemon would give it.
	calls := d.Calls()
	if len(calls) != 1 || calls[0].Current != nil || calls[0].ProfileType != profile.TypeUnconfined || calls[0].Labels["tier"] != "web" {
		t.Errorf("engine input = %+v", calls)
	}
}

func TestExplainNoMatchPrintsNullSeccomp(t *testing.T) {
	e, err := Explain(&nritest.FakeDecider{Fn: nritest.PolicyDecider}, ExplainRequest{Namespace: "other", Pod: "p", Container: "c"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if v, ok := got["seccomp"]; !ok || v != nil {
		t.Errorf("seccomp = %v (present %v), want null", v, ok)
	}
	if !reflect.DeepEqual(got["rules"], []any{}) || got["changed"] != false || got["mode"] != "" {
		t.Errorf("got %v", got)
	}
	skipped := got["skipped"].([]any)
	if len(skipped) != 1 || skipped[0].(map[string]any)["reason"] != "namespace does not match" {
		t.Errorf("skipped = %v", skipped)
	}
}

func TestExplainCurrentProfile(t *testing.T) {
	d := &nritest.FakeDecider{Fn: nritest.PolicyDecider}
	current := nritest.DenyProfile("bpf")
	for _, pt := range []profile.Type{profile.TypeRuntimeDefault, profile.TypeLocalhost} {
		e, err := Explain(d, ExplainRequest{Namespace: "prod", Pod: "p", Container: "c", ProfileType: pt, Profile: current})
		if err != nil {
			t.Fatal(err)
		}
		calls := d.Calls()
		last := calls[len(calls)-1]
		if last.ProfileType != pt || !reflect.DeepEqual(last.Current, current) {
			t.Errorf("%s: engine input %q %+v", pt, last.ProfileType, last.Current)
		}
		if !e.Input.HasSeccomp || e.Rules[0] != "floor" {
			t.Errorf("%s: explanation %+v", pt, e)
		}
	}
}

func TestExplainUsageErrors(t *testing.T) {
	for _, r := range []ExplainRequest{
		{ProfileType: profile.TypeLocalhost},
		{ProfileType: profile.TypeRuntimeDefault},
		{ProfileType: profile.TypeUnconfined, Profile: nritest.DenyProfile("x")},
		{Profile: nritest.DenyProfile("x")},
		{ProfileType: "unconfined"},
	} {
		d := &nritest.FakeDecider{Fn: nritest.PolicyDecider}
		if _, err := Explain(d, r); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: err = %v, want ErrUsage", r, err)
		}
		if len(d.Calls()) != 0 {
			t.Errorf("%+v: the engine was asked", r)
		}
	}
}

func TestExplainRefusal(t *testing.T) {
	for ns, cause := range map[string]string{"fail": "engine exploded", "boom": "panic in the engine: assignment to entry in nil map"} {
		e, err := Explain(&nritest.FakeDecider{Fn: nritest.PolicyDecider}, ExplainRequest{Namespace: ns, Pod: "p", Container: "c"})
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("%s: err = %v, want ErrRefused", ns, err)
		}
		if e == nil || !strings.Contains(e.Error, cause) || e.Seccomp != nil || e.Changed {
			t.Fatalf("%s: explanation = %+v", ns, e)
		}
		var buf bytes.Buffer
		if err := e.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "REFUSED: the daemon would fail the creation") {
			t.Errorf("%s: text = %s", ns, buf.String())
		}
	}
}

func TestExplainText(t *testing.T) {
	d := &nritest.FakeDecider{Fn: func(engine.Input) (*engine.Decision, error) {
		return &engine.Decision{
			Rules:   []engine.RuleResult{{Name: "inject-default", Action: "inject", Mode: "enforce", Reason: "profileTypes matched Unconfined"}},
			Skipped: []engine.RuleResult{{Name: "node-agents", Reason: `namespace "prod" does not match [kube-system]`}},
			Mode:    "enforce", Changed: true, Seccomp: nritest.DenyProfile("mkdir"), Digest: "sha256:d",
			Notes: []string{"approximation"}, PolicyRevision: "sha256:rev",
		}, nil
	}}
	e, err := Explain(d, ExplainRequest{Namespace: "prod", Pod: "web", Container: "app", Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`container prod/web "app" (image img)`,
		"profile type Unconfined, no seccomp",
		"inject-default", "profileTypes matched Unconfined",
		"rules not applied:", `namespace "prod" does not match [kube-system]`,
		"result: seccomp set (mode enforce, sha256:d, 1 syscall rules)",
		"  - approximation",
		"policy revision sha256:rev",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// TestSectionSummaryText: the text lists at most maxTextChanges changed
// calls and says how many more JSON has.
func TestSectionSummaryText(t *testing.T) {
	s := &SectionSummary{DefaultAction: "SCMP_ACT_ERRNO", Architectures: []string{"SCMP_ARCH_X86_64"},
		Actions: map[string]int{"SCMP_ACT_ALLOW": 3, "SCMP_ACT_ERRNO": 1}}
	for i := range maxTextChanges + 5 {
		s.Changes = append(s.Changes, SyscallChange{Syscall: fmt.Sprintf("call%02d", i), Before: "SCMP_ACT_ALLOW", After: "SCMP_ACT_ERRNO(EPERM)"})
	}
	var b strings.Builder
	s.writeText(&b)
	out := b.String()
	for _, want := range []string{
		"  default action SCMP_ACT_ERRNO; architectures SCMP_ARCH_X86_64\n",
		"  syscalls per action: SCMP_ACT_ALLOW 3, SCMP_ACT_ERRNO 1\n",
		"  changed from what the container had (25):\n",
		"    call19  SCMP_ACT_ALLOW  -> SCMP_ACT_ERRNO(EPERM)\n",
		"    ... and 5 more (--output json lists them all)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "call20") {
		t.Errorf("lists more than %d changes:\n%s", maxTextChanges, out)
	}
}
