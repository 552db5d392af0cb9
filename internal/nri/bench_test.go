package nri

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
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
	rd := convert.SeccompToNRI(builtins["runtime-default"])
	// The daemon logs to a file (its stderr), in containerd/log's JSON
	// format, with its node field.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	l := logrus.New()
	l.Out, l.Formatter = devNull, &logrus.JSONFormatter{TimestampFormat: log.RFC3339NanoFixed}
	p, err := New(Options{Decider: e, Logger: logrus.NewEntry(l).WithField("node", "node-1"), DecisionLog: decisionlog.NewWriter(io.Discard), Metrics: metrics.New(), Node: "node-1"})
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

// The converted form is shared between decisions whose sections have the
// same content (the same digest), whichever copy each holds, and is what a
// fresh conversion gives; a decision without a digest is converted anew.
func TestNRIPoliciesCache(t *testing.T) {
	var c nriPolicies
	dec := func(s *specs.LinuxSeccomp) *engine.Decision {
		return &engine.Decision{Changed: true, Seccomp: s, Digest: profile.Digest(s)}
	}
	a, b := denyProfile("mkdir"), denyProfile("bpf")
	pa := c.get(dec(a))
	if !proto.Equal(pa, convert.SeccompToNRI(a)) {
		t.Fatal("cached conversion differs from a fresh one")
	}
	if c.get(dec(a)) != pa || c.get(dec(denyProfile("mkdir"))) != pa {
		t.Fatal("the same section, in the same or another copy, must reuse its conversion")
	}
	if pb := c.get(dec(b)); pb == pa || !proto.Equal(pb, convert.SeccompToNRI(b)) {
		t.Fatal("a different section must get its own conversion")
	}
	if c.get(&engine.Decision{}) != nil {
		t.Fatal("no section converts to no policy")
	}
	undigested := &engine.Decision{Changed: true, Seccomp: b}
	if p := c.get(undigested); p == c.get(undigested) || !proto.Equal(p, convert.SeccompToNRI(b)) {
		t.Fatal("a decision without a digest must be converted each time, never cached")
	}
	for i := range 2 * maxNRIPolicies {
		c.get(dec(denyProfile(fmt.Sprint("keyctl", i))))
	}
	if st := c.stats(); st.Len > maxNRIPolicies || st.Clears == 0 || st.Hits < 2 {
		t.Fatalf("cache stats %+v: want at most %d entries, emptied when full, the hits above counted", st, maxNRIPolicies)
	}
}

// A plugin deciding with the engine reports the engine's caches and its
// own, and their counters move as containers are decided.
func TestPluginCacheStats(t *testing.T) {
	e, err := engine.Load(filepath.Join("..", "..", "policies", "default-policy.yaml"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Decider: e, Logger: logrus.NewEntry(logrus.New())})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := p.CreateContainer(context.Background(), testPod("prod", "web"), testContainer("app")); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]cache.Stats{}
	for _, st := range p.CacheStats() {
		got[st.Name] = st
	}
	for _, name := range []string{"decisions", "outcomes", "models", "written", "nri-sections"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no stats for the %s cache: %+v", name, got)
		}
	}
	if d := got["decisions"]; d.Hits != 1 || d.Misses != 1 || d.Len != 1 {
		t.Errorf("the same container twice: decisions %+v, want one miss then one hit", d)
	}
}

// same agrees with proto.Equal: any field that differs, in any position,
// makes two policies different; equal content in separate messages is the
// same policy, whether or not want came from the cache.
func TestNRIPoliciesSame(t *testing.T) {
	var c nriPolicies
	base := denyProfile("mkdir", "keyctl")
	want := c.get(&engine.Decision{Changed: true, Seccomp: base, Digest: profile.Digest(base)})
	fresh := convert.SeccompToNRI(base)
	for _, w := range []*api.LinuxSeccomp{want, fresh} {
		if ok, err := c.same(convert.SeccompToNRI(base), w); err != nil || !ok {
			t.Fatalf("equal policies compare different: %v, %v", ok, err)
		}
	}
	mutations := map[string]func(p *api.LinuxSeccomp){
		"default action": func(p *api.LinuxSeccomp) { p.DefaultAction = "SCMP_ACT_KILL_PROCESS" },
		"architectures":  func(p *api.LinuxSeccomp) { p.Architectures = append(p.Architectures, "SCMP_ARCH_X86") },
		"flags":          func(p *api.LinuxSeccomp) { p.Flags = []string{"SECCOMP_FILTER_FLAG_LOG"} },
		"listener":       func(p *api.LinuxSeccomp) { p.ListenerPath = "/run/x.sock" },
		"syscall name":   func(p *api.LinuxSeccomp) { p.Syscalls[0].Names[0] = "rmdir" },
		"syscall action": func(p *api.LinuxSeccomp) { p.Syscalls[0].Action = "SCMP_ACT_ALLOW" },
		"errno":          func(p *api.LinuxSeccomp) { p.Syscalls[0].ErrnoRet = &api.OptionalUInt32{Value: 38} },
		"one rule fewer": func(p *api.LinuxSeccomp) { p.Syscalls = p.Syscalls[1:] },
		"argument": func(p *api.LinuxSeccomp) {
			p.Syscalls[0].Args = append(p.Syscalls[0].Args, &api.LinuxSeccompArg{Index: 1, Value: 2, Op: "SCMP_CMP_EQ"})
		},
	}
	for name, mutate := range mutations {
		// A fresh section: NRI's conversion shares slices with its input.
		got := convert.SeccompToNRI(denyProfile("mkdir", "keyctl"))
		mutate(got)
		if proto.Equal(got, want) {
			t.Fatalf("%s: the mutation changed nothing; the case tests nothing", name)
		}
		for _, w := range []*api.LinuxSeccomp{want, fresh} {
			if ok, err := c.same(got, w); err != nil || ok {
				t.Errorf("%s: a different policy compares the same (%v, %v)", name, ok, err)
			}
		}
	}
	if ok, _ := c.same(nil, want); ok {
		t.Error("no policy is not the policy")
	}
	if ok, _ := c.same(nil, nil); !ok {
		t.Error("no policy is no policy")
	}
}
