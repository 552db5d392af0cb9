package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

const testPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: node-agents
  match: {namespaces: [kube-system]}
  action: exempt
- name: floor
  match: {}
  action: tighten
  deny: [keyctl, {name: bpf, action: SCMP_ACT_KILL_PROCESS}, {name: userfaultfd, errno: ENOSYS}]
- name: prod-needs-a-profile
  match:
    namespaces: [prod, "team-*"]
    profileTypes: [Unconfined]
  action: inject
  profile: runtime-default
- name: payments-trial
  match: {namespaces: [payments]}
  action: tighten
  deny: [mkdir]
  mode: audit
`

func newEngine(t testing.TB, yaml string) *Engine {
	t.Helper()
	return newEngineOpts(t, yaml, Options{Native: specs.ArchX86_64, Explain: true})
}

func newEngineOpts(t testing.TB, yaml string, opts Options) *Engine {
	t.Helper()
	b, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(yaml), "test.yaml", policy.Options{Builtins: b})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(pol, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func runtimeDefault(t testing.TB) *specs.LinuxSeccomp {
	b, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	return b["runtime-default"]
}

func eval(t testing.TB, s *specs.LinuxSeccomp, name string) profile.Verdict {
	t.Helper()
	if s == nil {
		return profile.Allow
	}
	m, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatal(err)
	}
	return m.Eval(specs.ArchX86_64, name, [6]uint64{})
}

func names(rs []RuleResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestDecide(t *testing.T) {
	e := newEngine(t, testPolicy)
	rd := runtimeDefault(t)
	type want struct {
		rules   []string
		mode    string
		exempt  bool
		changed bool
		verdict map[string]profile.Level // syscall -> level in the result
	}
	cases := []struct {
		name string
		in   Input
		want want
	}{
		{"exempt namespace changes nothing", Input{Namespace: "kube-system", Container: "agent"},
			want{rules: []string{"node-agents"}, exempt: true}},
		{"unconfined prod pod gets runtime-default plus the floor", Input{Namespace: "prod", Container: "app", ProfileType: profile.TypeUnconfined},
			want{rules: []string{"floor", "prod-needs-a-profile"}, mode: "enforce", changed: true, verdict: map[string]profile.Level{
				"keyctl": profile.LevelErrno, "bpf": profile.LevelKillProcess, "read": profile.LevelAllow,
				"io_uring_setup": profile.LevelErrno, "userfaultfd": profile.LevelErrno}}},
		{"glob namespace", Input{Namespace: "team-a", ProfileType: profile.TypeUnconfined},
			want{rules: []string{"floor", "prod-needs-a-profile"}, mode: "enforce", changed: true, verdict: map[string]profile.Level{"io_uring_setup": profile.LevelErrno}}},
		{"unconfined dev pod gets only the floor", Input{Namespace: "dev", ProfileType: profile.TypeUnconfined},
			want{rules: []string{"floor"}, mode: "enforce", changed: true, verdict: map[string]profile.Level{
				"keyctl": profile.LevelErrno, "io_uring_setup": profile.LevelAllow, "mkdir": profile.LevelAllow}}},
		{"runtime-default prod pod is tightened, not replaced", Input{Namespace: "prod", ProfileType: profile.TypeRuntimeDefault, Current: rd},
			want{rules: []string{"floor"}, mode: "enforce", changed: true, verdict: map[string]profile.Level{
				"keyctl": profile.LevelErrno, "bpf": profile.LevelKillProcess, "io_uring_setup": profile.LevelErrno, "read": profile.LevelAllow}}},
		{"audit rule logs instead of refusing", Input{Namespace: "payments", ProfileType: profile.TypeRuntimeDefault, Current: rd},
			want{rules: []string{"floor", "payments-trial"}, mode: "mixed", changed: true, verdict: map[string]profile.Level{
				"mkdir": profile.LevelLog, "keyctl": profile.LevelErrno, "read": profile.LevelAllow}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(d.Rules); !slices.Equal(got, tc.want.rules) {
				t.Errorf("rules = %v, want %v (skipped %v)", got, tc.want.rules, d.Skipped)
			}
			if d.Mode != tc.want.mode || d.Exempt != tc.want.exempt || d.Changed != tc.want.changed {
				t.Errorf("mode/exempt/changed = %q/%v/%v, want %q/%v/%v", d.Mode, d.Exempt, d.Changed, tc.want.mode, tc.want.exempt, tc.want.changed)
			}
			if !d.Changed && d.Seccomp != tc.in.Current {
				t.Errorf("unchanged decision must keep the current profile")
			}
			if d.Changed && (d.Digest == "" || !strings.HasPrefix(d.Digest, profile.DigestPrefix)) {
				t.Errorf("digest %q", d.Digest)
			}
			// The NRI edge keys its converted sections by this digest: it
			// must be the content of the section the decision carries.
			if want := profile.Digest(d.Seccomp); d.Digest != want {
				t.Errorf("digest %q, want the section's %q", d.Digest, want)
			}
			for sc, lvl := range tc.want.verdict {
				if got := eval(t, d.Seccomp, sc); got.Level != lvl {
					t.Errorf("%s: %s, want level %d", sc, got, lvl)
				}
			}
			if len(d.Skipped)+len(d.Rules) != 4 {
				t.Errorf("every rule must be accounted for: applied %v skipped %v", d.Rules, d.Skipped)
			}
		})
	}
}

// The daemon runs without explanations; its decisions must be the same ones
// explain shows, minus the reasons for rules that did not match.
func TestExplainDoesNotChangeDecision(t *testing.T) {
	verbose := newEngine(t, testPolicy)
	quiet := newEngineOpts(t, testPolicy, Options{Native: specs.ArchX86_64})
	rd := runtimeDefault(t)
	for _, ns := range []string{"kube-system", "prod", "team-a", "dev", "payments"} {
		for _, cur := range []*specs.LinuxSeccomp{nil, rd} {
			in := Input{Namespace: ns, Current: cur, ProfileType: profile.TypeRuntimeDefault}
			a, err1 := verbose.Decide(in)
			b, err2 := quiet.Decide(in)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !slices.Equal(names(a.Rules), names(b.Rules)) || a.Mode != b.Mode || a.Changed != b.Changed ||
				a.Exempt != b.Exempt || a.Digest != b.Digest || !slices.Equal(a.Notes, b.Notes) {
				t.Fatalf("%s: explain and daemon decisions differ:\n%+v\n%+v", ns, a, b)
			}
			if len(b.Skipped) > len(a.Skipped) {
				t.Fatalf("quiet decision lists more skipped rules than the explained one")
			}
		}
	}
}

func TestDecideErrnoAsConfigured(t *testing.T) {
	e := newEngine(t, testPolicy)
	d, err := e.Decide(Input{Namespace: "dev", ProfileType: profile.TypeRuntimeDefault, Current: runtimeDefault(t)})
	if err != nil {
		t.Fatal(err)
	}
	if v := eval(t, d.Seccomp, "userfaultfd"); v.Level != profile.LevelErrno || v.Ret != 38 {
		t.Fatalf("userfaultfd: %s, want SCMP_ACT_ERRNO(ENOSYS)", v)
	}
	if v := eval(t, d.Seccomp, "clone3"); v.Level != profile.LevelErrno || v.Ret != 38 {
		t.Fatalf("clone3 must keep runtime-default's ENOSYS: %s", v)
	}
}

func TestUnchangedWhenAlreadyTightEnough(t *testing.T) {
	e := newEngine(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: no-io-uring
  match: {}
  action: tighten
  deny: [io_uring_setup]
`)
	rd := runtimeDefault(t)
	d, err := e.Decide(Input{Namespace: "x", ProfileType: profile.TypeRuntimeDefault, Current: rd})
	if err != nil {
		t.Fatal(err)
	}
	if d.Changed || d.Seccomp != rd {
		t.Fatalf("runtime-default already refuses io_uring_setup: want no change, got changed=%v notes %v", d.Changed, d.Notes)
	}
	if len(d.Rules) != 1 {
		t.Fatalf("the rule still applied: %v", d.Rules)
	}
}

func TestInjectSkippedWhenContainerHasProfile(t *testing.T) {
	e := newEngine(t, testPolicy)
	d, err := e.Decide(Input{Namespace: "prod", ProfileType: profile.TypeLocalhost, Current: runtimeDefault(t)})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(d.Skipped, func(r RuleResult) bool { return r.Name == "prod-needs-a-profile" })
	if i < 0 || !strings.Contains(d.Skipped[i].Reason, "Localhost") {
		t.Fatalf("inject must be skipped with a reason: %+v", d.Skipped)
	}
}

// A nil current profile means "no seccomp", even if the runtime reports a type
// (NRI reads a missing profile as RUNTIME_DEFAULT, its enum's zero value).
func TestNilCurrentIsNone(t *testing.T) {
	e := newEngine(t, testPolicy)
	d, err := e.Decide(Input{Namespace: "prod", ProfileType: profile.TypeRuntimeDefault})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(d.Rules), "prod-needs-a-profile") || !d.Changed {
		t.Fatalf("a container without seccomp must get the injected profile: %+v", d)
	}
}

func TestBadCurrentProfileIsAnError(t *testing.T) {
	e := newEngine(t, testPolicy)
	_, err := e.Decide(Input{Namespace: "dev", Current: &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}})
	if err == nil || !strings.Contains(err.Error(), "SCMP_ACT_NOPE") {
		t.Fatalf("want an error naming the bad action, got %v", err)
	}
}

// Property: whatever the rules deny and in whatever mode, the result never lets a
// syscall through that the container's current profile refused, and audit rules
// never refuse anything the enforce-only result would allow.
func TestNeverLooserThanCurrent(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	rd := runtimeDefault(t)
	pool := []string{"read", "write", "mkdir", "keyctl", "bpf", "clone3", "io_uring_setup", "ptrace", "personality", "socket", "unshare", "mount"}
	for range 60 {
		var deny []string
		for _, n := range pool {
			if r.IntN(3) == 0 {
				deny = append(deny, n)
			}
		}
		if len(deny) == 0 {
			deny = []string{"ptrace"}
		}
		mode := []string{"enforce", "audit"}[r.IntN(2)]
		yaml := fmt.Sprintf("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: r\n  match: {}\n  action: tighten\n  mode: %s\n  deny: [%s]\n", mode, strings.Join(deny, ", "))
		e := newEngine(t, yaml)
		var cur *specs.LinuxSeccomp
		if r.IntN(2) == 0 {
			cur = rd
		}
		d, err := e.Decide(Input{Namespace: "n", Current: cur})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range pool {
			before, after := eval(t, cur, n), eval(t, d.Seccomp, n)
			if after.Level < before.Level {
				t.Fatalf("%s: %s after, %s before (deny %v, mode %s)", n, after, before, deny, mode)
			}
			if mode == "audit" && after.Level.Denies() != before.Level.Denies() {
				t.Fatalf("%s: audit mode changed a refusal: %s -> %s", n, before, after)
			}
			if mode == "enforce" && slices.Contains(deny, n) && !after.Level.Denies() {
				t.Fatalf("%s denied by the rule but %s", n, after)
			}
			if mode == "audit" && slices.Contains(deny, n) && !before.Level.Denies() && after.Level != profile.LevelLog {
				t.Fatalf("%s: audit mode must log, got %s", n, after)
			}
		}
	}
}

func TestCacheReturnsSameDecision(t *testing.T) {
	e := newEngine(t, testPolicy)
	in := Input{Namespace: "prod", Labels: map[string]string{"a": "b"}, ProfileType: profile.TypeRuntimeDefault, Current: runtimeDefault(t)}
	d1, _ := e.Decide(in)
	d2, _ := e.Decide(in)
	if d1 != d2 {
		t.Fatal("identical inputs must hit the cache")
	}
	in.Labels = map[string]string{"a": "c"}
	d3, _ := e.Decide(in)
	if d3 == d1 {
		t.Fatal("a different label must not hit the same cache entry")
	}
	// The second pod matched the same rules with the same profile: its
	// outcome (and so its section) is the first one's.
	if d3.Seccomp != d1.Seccomp {
		t.Fatal("the same profile and rules must share the outcome")
	}
	stats := map[string]cache.Stats{}
	for _, st := range e.CacheStats() {
		stats[st.Name] = st
	}
	want := map[string][2]uint64{"decisions": {1, 2}, "outcomes": {1, 1}, "models": {0, 1}, "written": {0, 1}}
	for name, hm := range want {
		st := stats[name]
		if st.Hits != hm[0] || st.Misses != hm[1] || st.Max <= 0 {
			t.Errorf("%s: %+v, want %d hits and %d misses", name, st, hm[0], hm[1])
		}
	}
}

// With the caches off, every decision is computed, and none is kept.
func TestCacheOff(t *testing.T) {
	e := newEngineOpts(t, testPolicy, Options{Native: specs.ArchX86_64, CacheSize: -1})
	in := Input{Namespace: "prod", ProfileType: profile.TypeRuntimeDefault, Current: runtimeDefault(t)}
	d1, err1 := e.Decide(in)
	d2, err2 := e.Decide(in)
	if err1 != nil || err2 != nil || d1 == d2 || d1.Digest != d2.Digest {
		t.Fatalf("uncached decisions: %v %v, same object %v, digests %q %q", err1, err2, d1 == d2, d1.Digest, d2.Digest)
	}
	for _, st := range e.CacheStats() {
		if st.Len != 0 || st.Hits != 0 || st.Misses != 0 || st.Max > 0 {
			t.Errorf("%s kept something with the caches off: %+v", st.Name, st)
		}
	}
}

func benchPolicy(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n")
	for i := range n - 1 {
		fmt.Fprintf(&b, "- name: r%d\n  match: {namespaces: [ns-%d, \"team-%d-*\"], podSelector: {matchLabels: {app: a%d}}}\n  action: tighten\n  deny: [keyctl]\n", i, i, i, i)
	}
	b.WriteString("- name: floor\n  match: {}\n  action: tighten\n  deny: [keyctl, bpf, userfaultfd]\n")
	return b.String()
}

func BenchmarkDecide(b *testing.B) {
	rd := runtimeDefault(b)
	for _, n := range []int{10, 100, 1000, 10000} {
		e := newEngineOpts(b, benchPolicy(n), Options{Native: specs.ArchX86_64})
		in := Input{Namespace: "prod", Pod: "web-1", Labels: map[string]string{"app": "web"}, Container: "app", ProfileType: profile.TypeRuntimeDefault, Current: rd}
		b.Run(fmt.Sprintf("rules=%d/cached", n), func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := e.Decide(in); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
		// A new pod (first-level miss): matching runs, the profile work is
		// shared with earlier containers that matched the same rules. The
		// pods come from ten namespaces spread over the policy, each matched
		// by its own rule and the floor.
		var pods []Input
		for k := range 10 {
			r := k * (n - 1) / 10
			p := in
			p.Namespace, p.Labels = fmt.Sprintf("ns-%d", r), map[string]string{"app": fmt.Sprintf("a%d", r)}
			if d, err := e.decide(p); err != nil || len(d.Rules) != 2 {
				b.Fatalf("pod in %s: want its rule and the floor, got %+v, %v", p.Namespace, d, err)
			}
			pods = append(pods, p)
		}
		b.Run(fmt.Sprintf("rules=%d/new-pod", n), func(b *testing.B) {
			var lat []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := e.decide(pods[i%len(pods)]); err != nil {
					b.Fatal(err)
				}
				i++
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
		// No cache at all: every decision parses, intersects and writes.
		cold := newEngineOpts(b, benchPolicy(n), Options{Native: specs.ArchX86_64, CacheSize: -1})
		b.Run(fmt.Sprintf("rules=%d/cold", n), func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := cold.Decide(in); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles adds p50 and p99 latencies (microseconds) to a benchmark's
// output: the target is a p99, which ns/op (a mean) does not show.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-us")
}

// logDenied asks the kernel to log refusals too: the result carries
// SECCOMP_FILTER_FLAG_LOG, whether the container had a profile or not.
func TestLogDeniedSetsFlag(t *testing.T) {
	e := newEngine(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: r
  match: {namespaces: [logged]}
  action: tighten
  deny: [keyctl]
  logDenied: true
- name: plain
  match: {namespaces: [plain]}
  action: tighten
  deny: [keyctl]
`)
	for _, cur := range []*specs.LinuxSeccomp{nil, runtimeDefault(t)} {
		d, err := e.Decide(Input{Namespace: "logged", Current: cur})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Changed || !slices.Contains(d.Seccomp.Flags, specs.LinuxSeccompFlagLog) {
			t.Fatalf("want SECCOMP_FILTER_FLAG_LOG in the result, got flags %v (changed %v)", d.Seccomp.Flags, d.Changed)
		}
		d, err = e.Decide(Input{Namespace: "plain", Current: cur})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(d.Seccomp.Flags, specs.LinuxSeccompFlagLog) {
			t.Fatalf("a rule without logDenied must not set the flag: %v", d.Seccomp.Flags)
		}
	}
}

// A named profile's model is built once per policy, whatever the number of
// rule bodies naming it: bodies that differ only in their deny lists share
// its entries, and a body whose deny list refuses only what the profile
// already refuses (keyctl) is the model itself.
func TestNamedProfileModelBuiltOnce(t *testing.T) {
	e := newEngine(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- {name: a, match: {namespaces: [a]}, action: inject, profile: hardened}
- {name: b, match: {namespaces: [b]}, action: tighten, profile: hardened, deny: [mkdir]}
- {name: c, match: {namespaces: [c]}, action: tighten, profile: hardened, deny: [keyctl]}
`)
	a, b, c := e.rules[0].profile, e.rules[1].profile, e.rules[2].profile
	if a == b {
		t.Fatal("denying mkdir changes hardened; the bodies must not share a profile")
	}
	if c != a {
		t.Fatal("hardened already refuses keyctl: the body must be hardened's model itself")
	}
	read := a.Syscalls["read"]
	if read == nil {
		t.Fatal("hardened has no entry for read; the test checks nothing")
	}
	if b.Syscalls["read"] != read {
		t.Fatal("rule bodies naming the same profile built its model again")
	}
}

// Rules that ask for the same thing share one compiled profile; rules that
// differ in any part of what they ask for (here only the errno) do not.
func TestRuleBodiesShared(t *testing.T) {
	e := newEngine(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- {name: a, match: {namespaces: [a]}, action: tighten, profile: hardened, deny: [mkdir]}
- {name: b, match: {namespaces: [b]}, action: tighten, profile: hardened, deny: [mkdir]}
- {name: c, match: {namespaces: [c]}, action: tighten, profile: hardened, deny: [{name: mkdir, errno: ENOSYS}]}
- {name: d, match: {namespaces: [d]}, action: tighten, deny: [mkdir]}
- {name: e, match: {namespaces: [e]}, action: tighten, deny: [mkdir], logDenied: true}
`)
	if e.rules[0].profile != e.rules[1].profile {
		t.Fatal("identical rule bodies must share one compiled profile")
	}
	for i, j := range [][2]int{{0, 2}, {0, 3}, {3, 4}} {
		if e.rules[j[0]].profile == e.rules[j[1]].profile {
			t.Fatalf("case %d: rules %s and %s ask for different things but share a profile", i, e.rules[j[0]].rule.Name, e.rules[j[1]].rule.Name)
		}
	}
	rd := runtimeDefault(t)
	for ns, want := range map[string]uint{"a": 1, "b": 1, "c": 38, "d": 1} {
		d, err := e.Decide(Input{Namespace: ns, ProfileType: profile.TypeRuntimeDefault, Current: rd})
		if err != nil {
			t.Fatal(err)
		}
		if v := eval(t, d.Seccomp, "mkdir"); v.Level != profile.LevelErrno || v.Ret != want {
			t.Errorf("namespace %s: mkdir %s, want errno %d", ns, v, want)
		}
	}
}

// Outcomes that write the same section hold one copy of it.
func TestWrittenSectionsShared(t *testing.T) {
	e := newEngine(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- {name: a, match: {namespaces: [a]}, action: tighten, deny: [keyctl, mkdir]}
- {name: b, match: {namespaces: [b]}, action: tighten, deny: [mkdir, keyctl]}
- {name: c, match: {namespaces: [c]}, action: tighten, deny: [rmdir]}
`)
	rd := runtimeDefault(t)
	got := map[string]*specs.LinuxSeccomp{}
	for _, ns := range []string{"a", "b", "c"} {
		d, err := e.Decide(Input{Namespace: ns, ProfileType: profile.TypeRuntimeDefault, Current: rd})
		if err != nil || !d.Changed {
			t.Fatalf("%s: %+v, %v", ns, d, err)
		}
		got[ns] = d.Seccomp
	}
	if got["a"] != got["b"] {
		t.Fatal("two rule sets writing the same section must share it")
	}
	if got["a"] == got["c"] || eval(t, got["c"], "mkdir").Level == profile.LevelErrno {
		t.Fatal("a different section must not be shared")
	}
}
