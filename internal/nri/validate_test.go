package nri

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	validator "github.com/containerd/nri/plugins/default-validator"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// otherPlugin is a second NRI plugin that sets a seccomp policy of its own,
// the way a misconfigured or hostile plugin could loosen ours.
type otherPlugin struct {
	namespace string // acts on this namespace only
}

func (o *otherPlugin) CreateContainer(_ context.Context, pod *api.PodSandbox, _ *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	if pod.GetNamespace() != o.namespace {
		return nil, nil, nil
	}
	adj := &api.ContainerAdjustment{}
	adj.SetLinuxSeccompPolicy(convert.SeccompToNRI(denyProfile("nothing-much")))
	return adj, nil, nil
}

func startOtherPlugin(t *testing.T, socket, idx, namespace string) {
	t.Helper()
	s, err := stub.New(&otherPlugin{namespace: namespace}, stub.WithPluginName("other"), stub.WithPluginIdx(idx), stub.WithSocketPath(socket))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// runPlugin runs p like startPlugin, and returns a function that stops it
// the way a crash looks to the runtime: the connection closes and nothing
// reconnects.
func runPlugin(t *testing.T, p *Plugin, socket string) (crash func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, RunOptions{Socket: socket, Name: "seccomp", Idx: "10",
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	}()
	stopped := false
	crash = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(crash)
	return crash
}

func newValidatingPlugin(t *testing.T, fn func(engine.Input) (*engine.Decision, error), disable bool) (*Plugin, *metrics.Metrics, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger()
	m := metrics.New()
	p, err := New(Options{Decider: &fakeDecider{Fn: fn}, Logger: logger, Metrics: m, DisableValidation: disable})
	if err != nil {
		t.Fatal(err)
	}
	return p, m, logs
}

func requireValidator() adaptation.Option {
	return adaptation.WithDefaultValidator(&validator.DefaultValidatorConfig{
		Enable:          true,
		RequiredPlugins: []string{"seccomp"},
	})
}

func TestIntegrationValidationRejectsForeignSeccomp(t *testing.T) {
	for _, disable := range []bool{false, true} {
		name := "validating"
		if disable {
			name = "validation disabled"
		}
		t.Run(name, func(t *testing.T) {
			h := newRuntimeHarness(t)
			h.start()
			p, m, logs := newValidatingPlugin(t, policyDecider, disable)
			startPlugin(t, p, h.socket)
			// Index 20: the other plugin answers after ours, so
			// our CreateContainer cannot see what it does.
			startOtherPlugin(t, h.socket, "20", "other")
			h.waitPlugins(2)

			// prod: ours injects, the other does nothing: accepted.
			rsp, err := h.create(testPod("prod", "web"), testContainer("app"))
			if err != nil || adjustedPolicy(rsp) == nil {
				t.Fatalf("prod: %v %v", rsp, err)
			}
			// other: ours asks for nothing, the other plugin sets
			// a policy.
			rsp, err = h.create(testPod("other", "x"), testContainer("x"))
			if disable {
				if err != nil || adjustedPolicy(rsp) == nil {
					t.Fatalf("without validation, the other plugin's policy should pass: %v %v", rsp, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("created with another plugin's seccomp policy: %+v", adjustedPolicy(rsp))
			}
			for _, want := range []string{"nri-seccomp rejected the container adjustment", `other/x container "x"`, `seccomp policy set by plugin "20-other"`, `only "10-seccomp" may set it`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
			if !strings.Contains(logs.String(), "container adjustment rejected") {
				t.Errorf("rejection not logged: %s", logs.String())
			}
			if got := metricValue(t, m, "nri_seccomp_validations_total", map[string]string{"result": "rejected", "reason": reasonForeignOwner}); got != 1 {
				t.Errorf("rejected validations = %v, want 1", got)
			}
			if got := metricValue(t, m, "nri_seccomp_validations_total", map[string]string{"result": "accepted", "reason": ""}); got != 1 {
				t.Errorf("accepted validations = %v, want 1", got)
			}
			if n := p.answers.len(); n != 0 {
				t.Errorf("%d answers left after validation, want 0", n)
			}
		})
	}
}

// The crash window of containerd 2.4.2 (containerd/nri#316): the plugin's
// connection is gone, but NRI only drops the plugin when a call fails, so
// the first creation after a crash skips it. Without validation that
// container is created unadjusted even with required_plugins; with it, the
// validation call to the same dead plugin fails and NRI refuses it.
func TestIntegrationValidationClosesCrashWindow(t *testing.T) {
	for _, disable := range []bool{false, true} {
		name := "validating"
		if disable {
			name = "validation disabled"
		}
		t.Run(name, func(t *testing.T) {
			h := newRuntimeHarness(t)
			h.opts = []adaptation.Option{requireValidator()}
			h.start()
			p, _, _ := newValidatingPlugin(t, policyDecider, disable)
			crash := runPlugin(t, p, h.socket)
			h.waitPlugins(2) // with the builtin validator
			if rsp, err := h.create(testPod("prod", "web"), testContainer("before")); err != nil || adjustedPolicy(rsp) == nil {
				t.Fatalf("before the crash: %v %v", rsp, err)
			}

			crash()
			// The runtime saw the connection close, and still
			// counts the plugin.
			time.Sleep(50 * time.Millisecond)
			if n := h.count.n.Load(); n != 2 {
				t.Fatalf("runtime counts %d plugins after the crash; the window needs it to still count ours", n)
			}

			rsp, err := h.create(testPod("prod", "web"), testContainer("after-crash-1"))
			if disable {
				if err != nil || adjustedPolicy(rsp) != nil {
					t.Fatalf("without validation: want the known window (created unadjusted), got %v %v", rsp, err)
				}
			} else {
				if err == nil {
					t.Fatalf("first creation after the crash was created (adjusted: %v): the window is open", adjustedPolicy(rsp) != nil)
				}
				if !strings.Contains(err.Error(), "validator plugin 10-seccomp failed") {
					t.Errorf("refused, but not by the dead validator: %v", err)
				}
			}
			// From then on the plugin is gone and required: refused
			// either way.
			_, err = h.create(testPod("prod", "web"), testContainer("after-crash-2"))
			if err == nil || !strings.Contains(err.Error(), `required plugin "seccomp" not present`) {
				t.Fatalf("second creation after the crash: %v, want refused as missing", err)
			}
		})
	}
}

// The timeout window: a plugin slower than plugin_request_timeout is dropped
// and the creation goes on without it. As a validator, the plugin is asked
// again on the connection NRI just closed, fails, and the creation is
// refused.
func TestIntegrationValidationClosesTimeoutWindow(t *testing.T) {
	adaptation.SetPluginRequestTimeout(300 * time.Millisecond)
	t.Cleanup(func() { adaptation.SetPluginRequestTimeout(2 * time.Second) })

	for _, disable := range []bool{false, true} {
		name := "validating"
		if disable {
			name = "validation disabled"
		}
		t.Run(name, func(t *testing.T) {
			h := newRuntimeHarness(t)
			h.opts = []adaptation.Option{requireValidator()}
			h.start()
			release := make(chan struct{})
			hang := func(in engine.Input) (*engine.Decision, error) {
				if in.Namespace == "hang" {
					<-release
				}
				return policyDecider(in)
			}
			p, _, _ := newValidatingPlugin(t, hang, disable)
			startPlugin(t, p, h.socket)
			t.Cleanup(func() { close(release) }) // runs before the plugin stops
			h.waitPlugins(2)                     // with the builtin validator

			start := time.Now()
			pod := testPod("hang", "x")
			pod.Namespace = "hang"
			rsp, err := h.create(pod, testContainer("hung"))
			if took := time.Since(start); took < 300*time.Millisecond {
				t.Fatalf("the creation took %s, less than the request timeout: the plugin did not hang", took)
			}
			if disable {
				if err != nil || adjustedPolicy(rsp) != nil {
					t.Fatalf("without validation: want the known window (created unadjusted), got %v %v", rsp, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("the creation that timed out was created (adjusted: %v): the window is open", adjustedPolicy(rsp) != nil)
			}
			if !strings.Contains(err.Error(), "validator plugin 10-seccomp failed") {
				t.Errorf("refused, but not by the timed-out validator: %v", err)
			}
		})
	}
}

// checkAdjustment's rules, with requests built by hand: the cases two real
// plugins cannot produce against NRI (it refuses two owners itself).
func TestCheckAdjustment(t *testing.T) {
	injected := convert.SeccompToNRI(denyProfile("mkdir", "mkdirat", "app"))
	other := convert.SeccompToNRI(denyProfile("bpf"))
	req := func(ns string, policy *api.LinuxSeccomp, owner string) *api.ValidateContainerAdjustmentRequest {
		r := &api.ValidateContainerAdjustmentRequest{
			Pod:       testPod(ns, "web"),
			Container: testContainer("app"),
			Owners:    api.NewOwningPlugins(),
		}
		if policy != nil {
			r.Adjust = &api.ContainerAdjustment{}
			r.Adjust.SetLinuxSeccompPolicy(policy)
		}
		if owner != "" {
			if err := r.Owners.ClaimSeccompPolicy(r.Container.Id, owner); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	tests := []struct {
		name   string
		answer *api.LinuxSeccomp // recorded answer; unset: none
		record bool
		req    *api.ValidateContainerAdjustmentRequest
		reason string // "" = accepted
		msg    string
	}{
		{name: "our answer, applied", record: true, answer: injected, req: req("prod", injected, "10-seccomp")},
		{name: "no change, none made", record: true, req: req("other", nil, "")},
		{name: "our answer, missing", record: true, answer: injected, req: req("prod", nil, ""),
			reason: reasonMissing, msg: "the policy requires a seccomp adjustment and the adjustment has none"},
		{name: "our answer, replaced", record: true, answer: injected, req: req("prod", other, "10-seccomp"),
			reason: reasonAltered, msg: "differs from the one nri-seccomp decided"},
		{name: "no change, but one claimed by us", record: true, req: req("other", other, "10-seccomp"),
			reason: reasonAltered, msg: "the policy asked for no change"},
		{name: "foreign owner", record: true, answer: injected, req: req("prod", other, "05-loose"),
			reason: reasonForeignOwner, msg: `seccomp policy set by plugin "05-loose"`},
		// No recorded answer: the policy is asked again.
		{name: "no record, recomputed, applied", req: req("prod", injected, "10-seccomp")},
		{name: "no record, recomputed, missing", req: req("prod", nil, ""),
			reason: reasonMissing, msg: "requires a seccomp adjustment"},
		{name: "no record, engine fails", req: req("fail", nil, ""),
			reason: reasonUnverifiable, msg: "cannot compute the expected seccomp policy: engine exploded"},
		{name: "no owners at all", req: &api.ValidateContainerAdjustmentRequest{Pod: testPod("other", "web"), Container: testContainer("app")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, m, _ := newValidatingPlugin(t, policyDecider, false)
			self := "10-seccomp"
			p.self.Store(&self)
			if tt.record {
				p.answers.put("ctr-app", tt.answer, time.Now())
			}
			err := p.ValidateContainerAdjustment(context.Background(), tt.req)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrValidation saying %q", err, tt.msg)
			}
			if got := metricValue(t, m, "nri_seccomp_validations_total", map[string]string{"result": "rejected", "reason": tt.reason}); got != 1 {
				t.Errorf("rejections with reason %s = %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestAnswerBookPrunesStaleAnswers(t *testing.T) {
	var b answerBook
	t0 := time.Now()
	for i := range 64 {
		b.put("old-"+string(rune('a'+i%26))+string(rune('a'+i/26)), nil, t0)
	}
	if n := b.len(); n != 64 {
		t.Fatalf("%d answers, want 64", n)
	}
	b.put("fresh", nil, t0.Add(2*answerTTL))
	if n := b.len(); n != 1 {
		t.Fatalf("%d answers after a put past the TTL, want only the fresh one", n)
	}
	if _, ok := b.take("fresh"); !ok {
		t.Fatal("fresh answer lost")
	}
	if _, ok := b.take("fresh"); ok {
		t.Fatal("an answer can be taken twice")
	}
}
