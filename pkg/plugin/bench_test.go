package plugin

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/pkg/engine"
	"github.com/nri-seccomp/nri-seccomp/pkg/metrics"
)

// BenchmarkCreateContainer is the plugin's own work per container, in
// process, as the daemon runs it: the shipped policy, JSON decision lines,
// the decision log, metrics, then the validation call NRI makes next. NRI's
// transport is not included (test/bench section 2 measures the round trip).
func BenchmarkCreateContainer(b *testing.B) {
	e, err := engine.Load(filepath.Join("..", "..", "policies", "default-policy.yaml"), engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	builtins, err := engine.Builtins()
	if err != nil {
		b.Fatal(err)
	}
	rd := SeccompToNRI(builtins["runtime-default"])
	l := logrus.New()
	l.Out, l.Formatter = io.Discard, &logrus.JSONFormatter{}
	p, err := New(Options{Decider: e, Logger: logrus.NewEntry(l), DecisionLog: NewDecisionLog(io.Discard), Metrics: metrics.New(), Node: "node-1"})
	if err != nil {
		b.Fatal(err)
	}
	self := "10-seccomp"
	p.self.Store(&self)
	ownersFor := func(id string, adj *api.ContainerAdjustment) *api.OwningPlugins {
		o := api.NewOwningPlugins()
		if adj.GetLinux().GetSeccompPolicy() != nil {
			if err := o.ClaimSeccompPolicy(id, self); err != nil {
				b.Fatal(err)
			}
		}
		return o
	}
	for _, c := range []struct {
		name    string
		seccomp *api.LinuxSeccomp
	}{{"runtime-default", rd}, {"unconfined", nil}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				pod := &api.PodSandbox{Id: fmt.Sprintf("pod-%d", i%50), Name: fmt.Sprintf("web-%d", i%50), Namespace: "prod", Uid: "uid",
					Labels: map[string]string{"app": "web", "pod-template-hash": "abc"}}
				ctr := &api.Container{Id: fmt.Sprintf("ctr-%d", i), Name: "app", PodSandboxId: pod.Id,
					Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example.com/web:1"},
					Linux:       &api.LinuxContainer{SeccompPolicy: c.seccomp}}
				adj, _, err := p.CreateContainer(ctx, pod, ctr)
				if err != nil {
					b.Fatal(err)
				}
				err = p.ValidateContainerAdjustment(ctx, &api.ValidateContainerAdjustmentRequest{Pod: pod, Container: ctr, Adjust: adj,
					Owners: ownersFor(ctr.Id, adj)})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// The converted form is shared only between identical sections, and is what
// a fresh conversion gives.
func TestNRIPoliciesCache(t *testing.T) {
	var c nriPolicies
	a, b := denyProfile("mkdir"), denyProfile("bpf")
	pa := c.get(a)
	if !proto.Equal(pa, SeccompToNRI(a)) {
		t.Fatal("cached conversion differs from a fresh one")
	}
	if c.get(a) != pa {
		t.Fatal("the same section must reuse its conversion")
	}
	if pb := c.get(b); pb == pa || !proto.Equal(pb, SeccompToNRI(b)) {
		t.Fatal("a different section must get its own conversion")
	}
	if c.get(nil) != nil {
		t.Fatal("no section converts to no policy")
	}
	for range 2 * maxNRIPolicies {
		c.get(denyProfile("keyctl"))
	}
	if n := len(c.m); n > maxNRIPolicies {
		t.Fatalf("cache holds %d entries, bound is %d", n, maxNRIPolicies)
	}
}
