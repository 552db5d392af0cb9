package nri

import (
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
)

// metricValue is the value of the series name{labels} on m's registry, 0
// when it does not exist (a counter never incremented).
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case s.GetCounter() != nil:
				return s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				return s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				return float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// Every CreateContainer answer is counted by outcome, mode and rule, and
// its latency observed; refusals also count as errors.
func TestCreateContainerMetrics(t *testing.T) {
	h := newRuntimeHarness(t)
	h.start()
	p, m, _ := newValidatingPlugin(t, policyDecider, false)
	startPlugin(t, p, h.socket)
	h.waitPlugins(1)
	if got := metricValue(t, m, "nri_seccomp_runtime_connected", nil); got != 1 {
		t.Errorf("runtime_connected = %v after registration, want 1", got)
	}
	for _, c := range []struct{ ns, name string }{{"prod", "a"}, {"prod", "b"}, {"kube-system", "c"}, {"other", "d"}, {"fail", "e"}} {
		_, _ = h.create(testPod(c.ns, c.name), testContainer(c.name))
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"nri_seccomp_decisions_total", map[string]string{"outcome": "changed", "mode": "enforce"}, 2},
		{"nri_seccomp_decisions_total", map[string]string{"outcome": "exempt"}, 1},
		{"nri_seccomp_decisions_total", map[string]string{"outcome": "unchanged"}, 1},
		{"nri_seccomp_decisions_total", map[string]string{"outcome": "refused"}, 1},
		{"nri_seccomp_rule_applications_total", map[string]string{"rule": "inject", "action": "inject"}, 2},
		{"nri_seccomp_rule_applications_total", map[string]string{"rule": "node-agents", "action": "exempt"}, 1},
		{"nri_seccomp_errors_total", map[string]string{"kind": "decision"}, 1},
		{"nri_seccomp_decision_duration_seconds", nil, 5},
		{"nri_seccomp_validations_total", map[string]string{"result": "accepted"}, 4},
		// Two containers in prod, each answered with its own section.
		{"nri_seccomp_cache_entries", map[string]string{"cache": "nri-sections"}, 2},
		{"nri_seccomp_cache_misses_total", map[string]string{"cache": "nri-sections"}, 2},
	} {
		if got := metricValue(t, m, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	h.stop()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, m, "nri_seccomp_runtime_connected", nil) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := metricValue(t, m, "nri_seccomp_runtime_connected", nil); got != 0 {
		t.Errorf("runtime_connected = %v after the runtime went away, want 0", got)
	}
}

// The latency histogram counts everything the runtime waits for, the log
// lines included; the decision record's latency_us stops at the decision.
func TestDecisionDurationIncludesLogging(t *testing.T) {
	m := metrics.New()
	var dl syncBuffer
	d := &fakeDecider{Fn: func(engine.Input) (*engine.Decision, error) {
		return &engine.Decision{Changed: true, Seccomp: denyProfile("mkdir")}, nil
	}}
	p, err := New(Options{Decider: d, Metrics: m, DecisionLog: decisionlog.NewWriter(&dl)})
	if err != nil {
		t.Fatal(err)
	}
	// Each reading of the clock is a millisecond after the last: start,
	// end of the decision, end of the record.
	base := time.Now()
	calls := 0
	p.now = func() time.Time { calls++; return base.Add(time.Duration(calls) * time.Millisecond) }
	if _, _, err := p.CreateContainer(t.Context(), testPod("ns", "web"), testContainer("app")); err != nil {
		t.Fatal(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "nri_seccomp_decision_duration_seconds" {
			sum = f.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	if sum != 0.002 {
		t.Fatalf("histogram sum %v s, want 0.002 (start to end of the record)", sum)
	}
	if !strings.Contains(dl.String(), `"latency_us":1000`) {
		t.Fatalf("decision record latency: %s", dl.String())
	}
}
