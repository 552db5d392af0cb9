package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
)

// serve starts m's HTTP server on a free loopback port and returns its base
// URL; the server stops when the test ends, and must stop cleanly.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	rsp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rsp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	m := New()
	base := serve(t, m)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	steps := []struct {
		name   string
		do     func()
		code   int
		reason string
	}{
		{"nothing yet", func() {}, 503, "not connected"},
		{"policy, not connected", func() { m.PolicyLoaded("rev1", true, time.Now()) }, 503, "not connected to the runtime"},
		{"connected and valid", func() { m.Connected(true) }, 200, "ok"},
		{"reload failed", func() { m.PolicyLoadFailed(errors.New("policy.yaml:3: rules[0].actoin: unknown field"), time.Now()) }, 503, "still enforcing revision rev1: policy.yaml:3"},
		{"reload fixed", func() { m.PolicyLoaded("rev2", true, time.Now()) }, 200, "ok"},
		{"disconnected", func() { m.Connected(false) }, 503, "not connected"},
	}
	for _, s := range steps {
		s.do()
		code, body := get(t, base+"/readyz")
		if code != s.code || !strings.Contains(body, s.reason) {
			t.Errorf("%s: /readyz = %d %q, want %d containing %q", s.name, code, body, s.code, s.reason)
		}
	}
	if code, _ := get(t, base+"/nope"); code != 404 {
		t.Errorf("/nope = %d, want 404", code)
	}
}

func TestNoPolicyNotReady(t *testing.T) {
	m := New()
	m.Connected(true)
	m.PolicyLoadFailed(errors.New("bad"), time.Now())
	ok, reasons := m.Ready()
	if ok || strings.Join(reasons, "|") != "no valid policy loaded: containers are refused|policy load failed: bad" {
		t.Errorf("Ready = %v %q", ok, reasons)
	}
}

func TestMetricsExposition(t *testing.T) {
	m := New()
	base := serve(t, m)
	m.Connected(true)
	m.Connected(false)
	m.Connected(true)
	m.PolicyLoaded("sha256:abc", true, time.Unix(1700000000, 0))
	m.Decision(OutcomeChanged, "enforce", []engine.RuleResult{{Name: "floor", Action: "tighten", Mode: "enforce"}, {Name: "inject-rd", Action: "inject", Mode: "enforce"}}, 120*time.Microsecond)
	m.Decision(OutcomeChanged, "audit", []engine.RuleResult{{Name: "trial", Action: "tighten", Mode: "audit"}}, 90*time.Microsecond)
	m.Decision(OutcomeRefused, "", nil, 5*time.Millisecond)
	m.Validation(true, "foreign_owner")
	m.Validation(false, "")
	m.Error(ErrorDecisionLog)
	m.Drift(5, 2, map[string]int{"floor": 2})

	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`nri_seccomp_decisions_total{mode="enforce",outcome="changed"} 1`,
		`nri_seccomp_decisions_total{mode="audit",outcome="changed"} 1`,
		`nri_seccomp_decisions_total{mode="",outcome="refused"} 1`,
		`nri_seccomp_rule_applications_total{action="tighten",mode="enforce",rule="floor"} 1`,
		`nri_seccomp_rule_applications_total{action="inject",mode="enforce",rule="inject-rd"} 1`,
		`nri_seccomp_rule_applications_total{action="tighten",mode="audit",rule="trial"} 1`,
		`nri_seccomp_errors_total{kind="decision"} 1`,
		`nri_seccomp_errors_total{kind="decision_log"} 1`,
		`nri_seccomp_errors_total{kind="validation"} 1`,
		`nri_seccomp_errors_total{kind="reload"} 0`,
		`nri_seccomp_decision_duration_seconds_count 3`,
		// 90us and 120us fall under 160us; 5ms does not.
		`nri_seccomp_decision_duration_seconds_bucket{le="0.00016"} 2`,
		`nri_seccomp_validations_total{reason="foreign_owner",result="rejected"} 1`,
		`nri_seccomp_validations_total{reason="",result="accepted"} 1`,
		`nri_seccomp_policy_info{revision="sha256:abc"} 1`,
		`nri_seccomp_policy_last_reload_success 1`,
		`nri_seccomp_policy_last_reload_timestamp_seconds 1.7e+09`,
		`nri_seccomp_runtime_connected 1`,
		`nri_seccomp_runtime_connections_total 2`,
		`nri_seccomp_drift_containers 2`,
		`nri_seccomp_drift_checked_containers 5`,
		`nri_seccomp_drift_containers_by_rule{rule="floor"} 2`,
		`go_goroutines`,
		`process_open_fds`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A nil *Metrics (no --metrics-addr) accepts every call.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Decision(OutcomeChanged, "enforce", []engine.RuleResult{{Name: "a", Action: "b", Mode: "c"}}, time.Millisecond)
	m.Error(ErrorReload)
	m.Validation(true, "x")
	m.PolicyLoaded("r", true, time.Now())
	m.PolicyLoadFailed(errors.New("x"), time.Now())
	m.Connected(true)
	m.Drift(1, 1, nil)
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
	if ok, _ := m.Ready(); ok {
		t.Error("nil Metrics is ready")
	}
}

func TestListenTakenPort(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Errorf("Listen on a taken port = %v", err)
	}
}

// The caches' sizes and counters are read at each scrape, one series per
// cache.
func TestCacheMetrics(t *testing.T) {
	m := New()
	stats := []cache.Stats{{Name: "decisions", Len: 3, Hits: 7, Misses: 3}}
	m.Caches(func() []cache.Stats { return stats })
	_, body := get(t, serve(t, m)+"/metrics")
	for _, want := range []string{`nri_seccomp_cache_entries{cache="decisions"} 3`,
		`nri_seccomp_cache_hits_total{cache="decisions"} 7`, `nri_seccomp_cache_misses_total{cache="decisions"} 3`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	stats = append(stats, cache.Stats{Name: "nri-sections", Len: 1, Misses: 1})
	_, body = get(t, serve(t, m)+"/metrics")
	if !strings.Contains(body, `nri_seccomp_cache_entries{cache="nri-sections"} 1`) {
		t.Error("a scrape must read the stats anew")
	}
	var none *Metrics
	none.Caches(func() []cache.Stats { t.Fatal("a nil Metrics read the stats"); return nil })
}
