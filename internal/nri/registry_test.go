package nri

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// The registry follows a container through the lifecycle events: the
// decision at creation, the PID at start, gone at removal; a refused
// container is never recorded.
func TestRegistryLifecycle(t *testing.T) {
	logger, _ := testLogger()
	var dl bytes.Buffer
	d := &fakeDecider{Fn: func(in engine.Input) (*engine.Decision, error) {
		if in.Container == "bad" {
			return nil, fmt.Errorf("no")
		}
		return &engine.Decision{Rules: []engine.RuleResult{{Name: "trial", Action: "tighten", Mode: "audit"}}, Mode: "audit",
			Changed: true, Seccomp: denyProfile("mkdir"), Digest: "sha256:d"}, nil
	}}
	p, err := New(Options{Decider: d, Logger: logger, DecisionLog: decisionlog.NewWriter(&dl), Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	reg := containers.NewWithProc(t.TempDir())
	p.SetRegistry(reg)
	p.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	ctx := context.Background()
	pod := testPod("ns", "web")
	ctr := testContainer("app")

	if _, _, err := p.CreateContainer(ctx, pod, ctr); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.CreateContainer(ctx, pod, testContainer("bad")); err == nil {
		t.Fatal("bad container was not refused")
	}
	if _, ok := reg.Get("ctr-bad"); ok {
		t.Fatal("a refused container is in the registry")
	}
	c, ok := reg.Get("ctr-app")
	if !ok || c.Mode != "audit" || c.Digest != "sha256:d" || c.Namespace != "ns" || c.Pod != "web" || c.Name != "app" || c.PID != 0 {
		t.Fatalf("after create: %+v %v", c, ok)
	}

	// StartContainer comes once the task exists, PostStartContainer once it
	// runs; either may carry the init PID.
	if err := p.StartContainer(ctx, pod, ctr); err != nil {
		t.Fatal(err)
	}
	ctr.Pid = 4242
	if err := p.PostStartContainer(ctx, pod, ctr); err != nil {
		t.Fatal(err)
	}
	a := reg.Attribute(4242)
	if a.How != containers.ByPID || a.Container.Name != "app" || a.Container.Mode != "audit" || len(a.Container.Rules) != 1 {
		t.Fatalf("attribution of the init PID: %+v", a)
	}
	lines := testutil.JSONLines(t, dl.String())
	last := lines[len(lines)-1]
	if last["event"] != "started" || last["container_id"] != "ctr-app" || last["pid"] != 4242.0 || last["node"] != "n1" || last["namespace"] != nil {
		t.Fatalf("start line: %v", last)
	}

	if !reg.Attribute(4242).Known() {
		t.Fatal("a started container is not attributed")
	}
	if err := p.RemoveContainer(ctx, pod, ctr); err != nil {
		t.Fatal(err)
	}
	if reg.Attribute(4242).Known() {
		t.Fatal("a removed container is still attributed")
	}
}

// A removed container leaves nothing in the plugin's own state: an answer
// no validation took (another plugin failed the creation) goes with it.
func TestRemoveContainerDropsAnswer(t *testing.T) {
	p, err := New(Options{Decider: &fakeDecider{}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetRegistry(containers.NewWithProc(t.TempDir()))
	p.answers.put("ctr-app", nil, time.Now())
	p.answers.put("ctr-other", nil, time.Now())
	if err := p.RemoveContainer(context.Background(), testPod("ns", "p"), testContainer("app")); err != nil {
		t.Fatal(err)
	}
	if n := p.answers.len(); n != 1 {
		t.Fatalf("%d answers after removal, want 1 (the other container's)", n)
	}
	if _, ok := p.answers.take("ctr-app"); ok {
		t.Fatal("the removed container's answer is still there")
	}
}

func TestSyncRegistry(t *testing.T) {
	p, err := New(Options{Decider: &fakeDecider{}})
	if err != nil {
		t.Fatal(err)
	}
	p.syncRegistry(nil, nil) // no registry: no-op
	reg := containers.NewWithProc(t.TempDir())
	p.SetRegistry(reg)
	reg.Upsert(containers.Container{ID: "gone", PID: 7})
	pod := testPod("ns", "web")
	running := testContainer("run")
	running.PodSandboxId, running.State, running.Pid = pod.Id, api.ContainerState_CONTAINER_RUNNING, 11
	stopped := testContainer("stopped")
	stopped.PodSandboxId, stopped.State, stopped.Pid = pod.Id, api.ContainerState_CONTAINER_STOPPED, 12
	orphan := testContainer("orphan")
	orphan.PodSandboxId, orphan.State = "nope", api.ContainerState_CONTAINER_CREATED
	p.syncRegistry([]*api.PodSandbox{pod}, []*api.Container{running, stopped, orphan})
	var got []string
	for _, c := range reg.List() {
		got = append(got, fmt.Sprintf("%s/%s/%s:%d", c.Namespace, c.Pod, c.Name, c.PID))
	}
	if strings.Join(got, " ") != "//orphan:0 ns/web/run:11" {
		t.Fatalf("after sync: %v", got)
	}
}

func TestEventsWithoutRegistry(t *testing.T) {
	var dl bytes.Buffer
	p, err := New(Options{Decider: &fakeDecider{}, DecisionLog: decisionlog.NewWriter(&dl)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctr := testContainer("app")
	ctr.Pid = 9
	for _, err := range []error{
		p.PostStartContainer(ctx, testPod("ns", "p"), ctr),
		p.RemoveContainer(ctx, testPod("ns", "p"), ctr),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The PID still goes to the decision log for offline attribution.
	if !strings.Contains(dl.String(), `"event":"started"`) {
		t.Fatalf("decision log: %q", dl.String())
	}
}

// The plugin subscribes only to the calls it needs: each one is a round
// trip on the pod's start path.
func TestEventMask(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     Options
		registry bool
		want     []api.Event
	}{
		{"shipped: validation", Options{}, false, []api.Event{api.Event_CREATE_CONTAINER, api.Event_VALIDATE_CONTAINER_ADJUSTMENT}},
		{"no validation", Options{DisableValidation: true}, false, []api.Event{api.Event_CREATE_CONTAINER}},
		{"decision log", Options{DecisionLog: decisionlog.NewWriter(io.Discard)}, false,
			[]api.Event{api.Event_CREATE_CONTAINER, api.Event_VALIDATE_CONTAINER_ADJUSTMENT, api.Event_POST_START_CONTAINER}},
		{"audit registry", Options{DisableValidation: true}, true,
			[]api.Event{api.Event_CREATE_CONTAINER, api.Event_START_CONTAINER, api.Event_POST_START_CONTAINER, api.Event_REMOVE_CONTAINER}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Decider = &fakeDecider{}
			p, err := New(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.registry {
				p.SetRegistry(containers.NewWithProc(t.TempDir()))
			}
			mask, err := p.Configure(context.Background(), "", "containerd", "v2.4.2")
			if err != nil {
				t.Fatal(err)
			}
			var want api.EventMask
			want.Set(c.want...)
			if mask != want {
				t.Fatalf("subscribed to %s, want %s", mask.PrettyString(), want.PrettyString())
			}
		})
	}
}

// The daemon's posture scan learns decisions through Options.OnDecision:
// every record, refused ones included, with the fields the log has.
func TestOnDecision(t *testing.T) {
	d := &fakeDecider{Fn: func(in engine.Input) (*engine.Decision, error) {
		if in.Container == "bad" {
			return nil, fmt.Errorf("no")
		}
		return &engine.Decision{Rules: []engine.RuleResult{{Name: "ops", Action: "exempt", Mode: "enforce"}}, Mode: "enforce", Exempt: true}, nil
	}}
	var got []decisionlog.Entry
	p, err := New(Options{Decider: d, OnDecision: func(r decisionlog.Entry) { got = append(got, r) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pod := testPod("ns", "web")
	if _, _, err := p.CreateContainer(ctx, pod, testContainer("app")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.CreateContainer(ctx, pod, testContainer("bad")); err == nil {
		t.Fatal("bad container was not refused")
	}
	if len(got) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(got), got)
	}
	if r := got[0]; r.ContainerID != "ctr-app" || !r.Exempt || r.Error != "" || strings.Join(r.Rules, ",") != "ops" || r.Namespace != "ns" || r.Pod != "web" {
		t.Fatalf("first record: %+v", r)
	}
	if r := got[1]; r.ContainerID != "ctr-bad" || r.Error == "" {
		t.Fatalf("second record: %+v", r)
	}
}
