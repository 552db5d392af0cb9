package nri

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/kubeevents"
)

// recordingSink remembers what it is told.
type recordingSink struct{ got []kubeevents.Decision }

func (r *recordingSink) Post(d kubeevents.Decision) { r.got = append(r.got, d) }

// The sink hears of decisions that set or changed a profile, with the pod's
// identity, every applied rule and the profile, and of nothing else.
func TestEventSink(t *testing.T) {
	tight := denyProfile("mkdir")
	for _, tc := range []struct {
		name     string
		decision *engine.Decision
		err      error
		want     []kubeevents.Decision
	}{{
		name: "changed",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "floor", Action: "inject", Mode: "enforce"}, {Name: "trial", Action: "tighten", Mode: "audit"}},
			Mode: "mixed", Changed: true, Seccomp: tight, Digest: "sha256:abc", PolicyRevision: "rev-1"},
		want: []kubeevents.Decision{{
			Namespace: "shop", Pod: "web", PodUID: "uid-web", Container: "app", ProfileType: "Unconfined",
			Rules:  []engine.RuleResult{{Name: "floor", Action: "inject", Mode: "enforce"}, {Name: "trial", Action: "tighten", Mode: "audit"}},
			Digest: "sha256:abc", PolicyRevision: "rev-1",
		}},
	}, {
		name:     "unchanged",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "floor", Action: "tighten", Mode: "enforce"}}, Mode: "enforce", Seccomp: tight},
	}, {
		name:     "exempt",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "agents", Action: "exempt"}}, Exempt: true},
	}, {
		name: "refused",
		err:  errors.New("boom"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordingSink{}
			logger, _ := testLogger()
			p, err := New(Options{Decider: &fakeDecider{Fn: func(engine.Input) (*engine.Decision, error) { return tc.decision, tc.err }}, Logger: logger, Events: sink})
			if err != nil {
				t.Fatal(err)
			}
			_, _, _ = p.CreateContainer(context.Background(), testPod("shop", "web"), testContainer("app"))
			if !reflect.DeepEqual(sink.got, tc.want) {
				t.Errorf("sink got %+v\nwant %+v", sink.got, tc.want)
			}
		})
	}
}
