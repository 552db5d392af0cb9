package nri

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/policyhost"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

const (
	policyA = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: floor-a
  match: {}
  action: tighten
  deny: [keyctl]
`
	policyB = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: floor-b
  match: {}
  action: tighten
  deny: [keyctl, bpf, add_key]
`
	// A misspelt key: strict decoding must refuse it.
	policyBad = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: floor-bad
  match: {}
  actoin: tighten
  deny: [keyctl]
`
)

func engineLoader(path string) (Decider, error) { return engine.Load(path, engine.Options{}) }

// writePolicy replaces path atomically, the way an editor or a config
// management tool does.
func writePolicy(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// newReloadPlugin starts a plugin on a real engine loaded from a policy
// file holding content.
func newReloadPlugin(t *testing.T, content string) (p *Plugin, path string, m *metrics.Metrics, logs *syncBuffer, dlog *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "policy.yaml")
	writePolicy(t, path, content)
	d, err := engineLoader(path)
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := testLogger()
	m = metrics.New()
	dlog = &syncBuffer{}
	p, err = New(Options{Decider: d, Loader: engineLoader, PolicyPath: path, Logger: logger, Metrics: m, DecisionLog: decisionlog.NewWriter(dlog)})
	if err != nil {
		t.Fatal(err)
	}
	return p, path, m, logs, dlog
}

// decisionRules creates a container through the plugin and returns the
// rules applied.
func decisionRules(t *testing.T, p *Plugin, name string) string {
	t.Helper()
	if _, _, err := p.CreateContainer(context.Background(), testPod("prod", "web"), testContainer(name)); err != nil {
		t.Fatal(err)
	}
	d := p.policy.Current()
	dec, err := d.Decide(convert.InputFromNRI(testPod("prod", "web"), testContainer(name)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range dec.Rules {
		names = append(names, r.Name)
	}
	return strings.Join(names, ",")
}

func TestReloadSwapsPolicy(t *testing.T) {
	p, path, m, logs, _ := newReloadPlugin(t, policyA)
	revA := p.PolicyRevision()
	if revA == "" || decisionRules(t, p, "a") != "floor-a" {
		t.Fatalf("start: revision %q, rules %q", revA, decisionRules(t, p, "a"))
	}

	// Same content: no swap, the warm engine stays.
	before := p.policy.Current()
	changed, err := p.Reload("test")
	if err != nil || changed || p.policy.Current() != before {
		t.Fatalf("reload of an unchanged policy: changed=%v err=%v swapped=%v", changed, err, p.policy.Current() != before)
	}

	writePolicy(t, path, policyB)
	changed, err = p.Reload("test")
	if err != nil || !changed {
		t.Fatalf("reload: changed=%v err=%v", changed, err)
	}
	if rev := p.PolicyRevision(); rev == revA || rev == "" {
		t.Errorf("revision after reload = %q, want a new one (was %q)", rev, revA)
	}
	if got := decisionRules(t, p, "b"); got != "floor-b" {
		t.Errorf("rules after reload = %q, want floor-b", got)
	}
	if got := metricValue(t, m, "nri_seccomp_policy_info", map[string]string{"revision": p.PolicyRevision()}); got != 1 {
		t.Errorf("policy_info for the new revision = %v, want 1", got)
	}
	if got := metricValue(t, m, "nri_seccomp_policy_info", map[string]string{"revision": revA}); got != 0 {
		t.Errorf("policy_info still has the old revision")
	}
	if got := metricValue(t, m, "nri_seccomp_policy_reloads_total", map[string]string{"result": "unchanged"}); got != 1 {
		t.Errorf("unchanged reloads = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), `"previous_revision":"`+revA+`"`) {
		t.Errorf("reload not logged with the previous revision: %s", logs.String())
	}
}

func TestReloadBadPolicyKeepsOld(t *testing.T) {
	p, path, m, logs, _ := newReloadPlugin(t, policyA)
	m.Connected(true)
	revA := p.PolicyRevision()

	for _, tt := range []struct {
		name, content string
		wantErr       error
		wantLog       string
	}{
		{"misspelt key", policyBad, policy.ErrInvalidPolicy, "policy.yaml:6"},
		{"not YAML", "rules: [", policy.ErrInvalidPolicy, "policy.yaml"},
		{"file removed", "", os.ErrNotExist, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content == "" {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				writePolicy(t, path, tt.content)
			}
			changed, err := p.Reload("test")
			if changed || !errors.Is(err, policyhost.ErrReload) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reload = %v, %v; want policyhost.ErrReload wrapping %v", changed, err, tt.wantErr)
			}
			if p.PolicyRevision() != revA {
				t.Fatalf("revision changed to %q after a failed reload", p.PolicyRevision())
			}
			if got := decisionRules(t, p, "kept"); got != "floor-a" {
				t.Errorf("rules after a failed reload = %q, want the old floor-a", got)
			}
			if !strings.Contains(logs.String(), "policy reload refused, keeping the policy in force") || !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("the failure is not logged with %q:\n%s", tt.wantLog, logs.String())
			}
			if got := metricValue(t, m, "nri_seccomp_policy_last_reload_success", nil); got != 0 {
				t.Errorf("last_reload_success = %v, want 0", got)
			}
			ok, reasons := m.Ready()
			if ok || len(reasons) != 1 || !strings.Contains(reasons[0], "still enforcing revision "+revA) {
				t.Errorf("Ready = %v %q, want not ready, still enforcing %s", ok, reasons, revA)
			}
		})
	}
	if got := metricValue(t, m, "nri_seccomp_policy_reloads_total", map[string]string{"result": "failure"}); got != 3 {
		t.Errorf("failed reloads = %v, want 3", got)
	}

	// Fixed: back to ready with the new policy.
	writePolicy(t, path, policyB)
	if changed, err := p.Reload("test"); err != nil || !changed {
		t.Fatalf("reload after the fix: %v %v", changed, err)
	}
	if ok, reasons := m.Ready(); !ok {
		t.Errorf("not ready after a good reload: %q", reasons)
	}
	if got := metricValue(t, m, "nri_seccomp_policy_last_reload_success", nil); got != 1 {
		t.Errorf("last_reload_success = %v, want 1", got)
	}
}

func TestReloadWithoutPathOrLoader(t *testing.T) {
	logger, _ := testLogger()
	p, err := New(Options{Decider: &fakeDecider{Fn: policyDecider}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Reload("test"); !errors.Is(err, policyhost.ErrReload) || !strings.Contains(err.Error(), "no policy path") {
		t.Errorf("Reload without a path = %v", err)
	}
	p, err = New(Options{Decider: &fakeDecider{Fn: policyDecider}, Logger: logger, PolicyPath: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Reload("test"); !errors.Is(err, policyhost.ErrReload) || !strings.Contains(err.Error(), "cannot load policies") {
		t.Errorf("Reload without a loader = %v", err)
	}
}

// Creations racing reloads between two policies each get one policy's whole
// decision: the rules and the resulting profile of A, or of B, never A's
// rules with B's profile, and never no decision. Run with -race.
func TestReloadConcurrentCreates(t *testing.T) {
	p, path, _, _, dlog := newReloadPlugin(t, policyA)
	// Each policy's digest for the test container, computed up front.
	want := map[string]string{} // digest -> rule
	for content, rule := range map[string]string{policyA: "floor-a", policyB: "floor-b"} {
		dir := t.TempDir()
		f := filepath.Join(dir, "p.yaml")
		writePolicy(t, f, content)
		d, err := engineLoader(f)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := d.Decide(convert.InputFromNRI(testPod("prod", "web"), testContainer("c")))
		if err != nil || !dec.Changed {
			t.Fatalf("%s: %v %v", rule, dec, err)
		}
		want[dec.Digest] = rule
	}
	if len(want) != 2 {
		t.Fatal("the two policies give the same profile; the test would prove nothing")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reloads, created atomic.Int64
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			content := policyA
			if i%2 == 0 {
				content = policyB
			}
			writePolicy(t, path, content)
			if _, err := p.Reload("test"); err != nil {
				t.Errorf("reload %d: %v", i, err)
				return
			}
			reloads.Add(1)
		}
	})
	// Each worker creates at least each containers, and goes on until the
	// policy has been swapped a few times: decisions are fast enough that
	// 200 creations can otherwise finish within one reload.
	const workers, each, minReloads = 4, 50, 6
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := 0; i < each || (reloads.Load() < minReloads && i < 100*each); i++ {
				created.Add(1)
				// Same container name, so that digests compare.
				ctr := testContainer("c")
				ctr.Id = "ctr-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				adj, _, err := p.CreateContainer(context.Background(), testPod("prod", "web"), ctr)
				if err != nil {
					errs <- err
					continue
				}
				if adj.GetLinux().GetSeccompPolicy() == nil {
					errs <- errors.New(ctr.Id + ": no adjustment")
				}
			}
		})
	}
	// Let the writers finish, then stop the reloader.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(dlog.String(), "\n") < workers*each && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for int64(strings.Count(dlog.String(), "\n")) < created.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := reloads.Load(); n < 2 {
		t.Fatalf("only %d reloads happened during the creations; the race was not exercised", n)
	}
	seen := map[string]int{}
	for _, r := range testutil.JSONLines(t, dlog.String()) {
		digest, _ := r["digest"].(string)
		rules, _ := r["rules"].([]any)
		rule, ok := want[digest]
		if !ok || len(rules) != 1 || rules[0] != rule {
			t.Errorf("%v: digest %s with rules %v: not one policy's whole decision", r["container_id"], digest, rules)
		}
		seen[rule]++
	}
	t.Logf("%d reloads; decisions: %v", reloads.Load(), seen)
}

func TestWatchPolicyReloadsOnChange(t *testing.T) {
	p, path, m, logs, _ := newReloadPlugin(t, policyA)
	revA := p.PolicyRevision()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.WatchPolicy(ctx, 20*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchPolicy = %v", err)
		}
	})
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The watch starts asynchronously: give it a moment before editing.
	time.Sleep(50 * time.Millisecond)

	writePolicy(t, path, policyB)
	waitFor("the new policy", func() bool { return p.PolicyRevision() != revA })
	revB := p.PolicyRevision()

	writePolicy(t, path, policyBad)
	waitFor("the refusal", func() bool {
		return metricValue(t, m, "nri_seccomp_policy_reloads_total", map[string]string{"result": "failure"}) == 1
	})
	if p.PolicyRevision() != revB {
		t.Fatal("a bad edit replaced the policy")
	}

	// A ConfigMap-style update: the file is a symlink into a directory
	// that is swapped.
	dir := filepath.Dir(path)
	data := filepath.Join(dir, "..data_1")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "policy.yaml"), []byte(policyA), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "..tmp")
	if err := os.Symlink(filepath.Join(data, "policy.yaml"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor("the symlinked policy", func() bool { return p.PolicyRevision() == revA })
}

// OnPolicy hears of each policy that comes into force, after it is in force
// (the daemon sizes its memory limit to it), and of nothing else: not an
// unchanged reload, not a refused one.
func TestReloadCallsOnPolicy(t *testing.T) {
	p, path, _, _, _ := newReloadPlugin(t, policyA)
	var revisions []string
	p.onPolicy = func() { revisions = append(revisions, p.PolicyRevision()) }
	if _, err := p.Reload("test"); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, path, policyBad)
	if _, err := p.Reload("test"); err == nil {
		t.Fatal("a bad policy reloaded")
	}
	if len(revisions) != 0 {
		t.Fatalf("OnPolicy called %d times without a new policy", len(revisions))
	}
	writePolicy(t, path, policyB)
	if changed, err := p.Reload("test"); err != nil || !changed {
		t.Fatalf("reload: changed=%v err=%v", changed, err)
	}
	if len(revisions) != 1 || revisions[0] != p.PolicyRevision() {
		t.Fatalf("OnPolicy saw revisions %q, want the new one %q once", revisions, p.PolicyRevision())
	}
}
