package nri

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/policyhost"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

func newTestPlugin(t *testing.T, fn func(engine.Input) (*engine.Decision, error)) (*Plugin, *fakeDecider, *syncBuffer, *bytes.Buffer) {
	t.Helper()
	d := &fakeDecider{Fn: fn}
	logger, logs := testLogger()
	var dlog bytes.Buffer
	p, err := New(Options{Decider: d, Logger: logger, DecisionLog: decisionlog.NewWriter(&dlog), Node: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	return p, d, logs, &dlog
}

func TestNewRequiresDecider(t *testing.T) {
	_, err := New(Options{})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("New without decider: err = %v, want ErrConfig", err)
	}
}

func TestCreateContainer(t *testing.T) {
	tight := denyProfile("mkdir", "keyctl")
	enosys := denyProfile("bpf")
	enosys.DefaultAction = specs.ActErrno
	enosys.DefaultErrnoRet = uintp(38)

	tests := []struct {
		name       string
		decision   *engine.Decision
		err        error
		panicWith  any
		wantAdjust *specs.LinuxSeccomp
		wantErr    error
		wantRec    decisionlog.Entry
		wantNote   string
	}{{
		name: "changed: adjustment carries the engine's policy",
		decision: &engine.Decision{
			Rules:   []engine.RuleResult{{Name: "floor", Action: "inject", Mode: "enforce"}, {Name: "web", Action: "tighten", Mode: "enforce"}},
			Skipped: []engine.RuleResult{{Name: "other", Reason: "namespace"}},
			Mode:    "enforce", Changed: true, Seccomp: tight,
			Digest: "sha256:abc", PolicyRevision: "rev-1", Notes: []string{"approximated"},
		},
		wantAdjust: tight,
		wantRec: decisionlog.Entry{Rules: []string{"floor", "web"}, Mode: "enforce", Changed: true,
			Digest: "sha256:abc", PolicyRevision: "rev-1", Notes: []string{"approximated"}},
	}, {
		name:     "unchanged: no adjustment",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "floor", Action: "tighten"}}, Mode: "enforce", Seccomp: tight, Digest: "sha256:abc"},
		wantRec:  decisionlog.Entry{Rules: []string{"floor"}, Mode: "enforce", Digest: "sha256:abc"},
	}, {
		name:     "exempt: no adjustment",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "node-agents", Action: "exempt"}}, Exempt: true},
		wantRec:  decisionlog.Entry{Rules: []string{"node-agents"}, Exempt: true},
	}, {
		name:     "no rule matched: no adjustment",
		decision: &engine.Decision{Skipped: []engine.RuleResult{{Name: "floor", Reason: "namespace"}}},
		wantRec:  decisionlog.Entry{Rules: []string{}},
	}, {
		name:       "audit mode is recorded",
		decision:   &engine.Decision{Rules: []engine.RuleResult{{Name: "trial", Mode: "audit"}}, Mode: "audit", Changed: true, Seccomp: tight},
		wantAdjust: tight,
		wantRec:    decisionlog.Entry{Rules: []string{"trial"}, Mode: "audit", Changed: true},
	}, {
		name:       "default errno the runtime drops is noted",
		decision:   &engine.Decision{Rules: []engine.RuleResult{{Name: "r"}}, Mode: "enforce", Changed: true, Seccomp: enosys},
		wantAdjust: enosys,
		wantRec:    decisionlog.Entry{Rules: []string{"r"}, Mode: "enforce", Changed: true},
		wantNote:   "defaultErrnoRet 38 is dropped",
	}, {
		name:    "engine error refuses the container",
		err:     errEngine,
		wantErr: errEngine,
		wantRec: decisionlog.Entry{Rules: []string{}},
	}, {
		name:      "panic refuses the container",
		panicWith: "index out of range",
		wantErr:   dryrun.ErrRefused,
		wantRec:   decisionlog.Entry{Rules: []string{}},
	}, {
		name:    "nil decision refuses the container",
		wantErr: dryrun.ErrRefused,
		wantRec: decisionlog.Entry{Rules: []string{}},
	}, {
		name:     "changed to no seccomp at all refuses the container",
		decision: &engine.Decision{Rules: []engine.RuleResult{{Name: "r"}}, Changed: true},
		wantErr:  dryrun.ErrRefused,
		wantRec:  decisionlog.Entry{Rules: []string{"r"}},
	}}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, d, logs, dlog := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) {
				if tc.panicWith != nil {
					panic(tc.panicWith)
				}
				return tc.decision, tc.err
			})

			adj, upd, err := p.CreateContainer(context.Background(), testPod("prod", "web"), testContainer("app"))

			if upd != nil {
				t.Errorf("updates = %v, want none", upd)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, dryrun.ErrRefused) {
					t.Fatalf("err = %v, want %v wrapped in dryrun.ErrRefused", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), `prod/web container "app"`) {
					t.Errorf("error does not name the container: %v", err)
				}
				if adj != nil {
					t.Errorf("adjustment %v returned with an error", adj)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}

			if tc.wantAdjust == nil {
				if adj != nil {
					t.Errorf("adjustment = %v, want none", adj)
				}
			} else {
				got := convert.SeccompFromNRI(adj.GetLinux().GetSeccompPolicy())
				if !reflect.DeepEqual(got, tc.wantAdjust) {
					t.Errorf("adjusted policy:\n got %+v\nwant %+v", got, tc.wantAdjust)
				}
			}

			if n := len(d.Calls()); n != 1 {
				t.Errorf("Decide called %d times, want 1", n)
			}

			recs := testutil.JSONLines(t, dlog.String())
			if len(recs) != 1 {
				t.Fatalf("decision log has %d records, want 1: %s", len(recs), dlog.String())
			}
			rec := recs[0]
			for k, want := range map[string]any{
				"namespace": "prod", "pod": "web", "pod_uid": "uid-web", "container": "app",
				"container_id": "ctr-app", "image": "registry.example.com/app:1", "node": "node-1",
				"profile_type": "Unconfined", "mode": tc.wantRec.Mode,
				"changed": tc.wantRec.Changed, "exempt": tc.wantRec.Exempt,
			} {
				if rec[k] != want {
					t.Errorf("record[%s] = %v, want %v", k, rec[k], want)
				}
			}
			if got := fmt.Sprint(rec["rules"]); got != fmt.Sprint(toAny(tc.wantRec.Rules)) {
				t.Errorf("record rules = %s, want %v", got, tc.wantRec.Rules)
			}
			if tc.wantRec.Digest != "" && rec["digest"] != tc.wantRec.Digest {
				t.Errorf("record digest = %v, want %s", rec["digest"], tc.wantRec.Digest)
			}
			if tc.wantRec.PolicyRevision != "" && rec["policy_revision"] != tc.wantRec.PolicyRevision {
				t.Errorf("record revision = %v", rec["policy_revision"])
			}
			if _, ok := rec["time"].(string); !ok {
				t.Errorf("record has no time: %v", rec)
			}
			if _, ok := rec["latency_us"].(float64); !ok {
				t.Errorf("record has no latency: %v", rec)
			}
			if tc.wantErr != nil {
				if e, _ := rec["error"].(string); !strings.Contains(e, "refused") {
					t.Errorf("record error = %q", e)
				}
			} else if _, ok := rec["error"]; ok {
				t.Errorf("record has an error: %v", rec["error"])
			}
			if tc.panicWith != nil {
				if strings.Contains(err.Error(), "goroutine ") {
					t.Errorf("the stack travels to the runtime: %v", err)
				}
				if !strings.Contains(err.Error(), "panic in the engine: index out of range") {
					t.Errorf("err = %v", err)
				}
				if !strings.Contains(logs.String(), `"msg":"recovered from a panic in the engine"`) || !strings.Contains(logs.String(), "goroutine ") {
					t.Errorf("the panic's stack is not logged: %s", logs.String())
				}
			}
			if tc.wantNote != "" && !strings.Contains(fmt.Sprint(rec["notes"]), tc.wantNote) {
				t.Errorf("notes = %v, want one containing %q", rec["notes"], tc.wantNote)
			}

			lines := testutil.JSONLines(t, logs.String())
			var decisions []map[string]any
			for _, l := range lines {
				if strings.HasPrefix(fmt.Sprint(l["msg"]), "seccomp decision") {
					decisions = append(decisions, l)
				}
			}
			if len(decisions) != 1 {
				t.Fatalf("%d decision log lines, want 1:\n%s", len(decisions), logs.String())
			}
			line := decisions[0]
			if line["pod"] != "prod/web" || line["container"] != "app" || line["image"] != "registry.example.com/app:1" || line["changed"] != tc.wantRec.Changed {
				t.Errorf("decision line fields: %v", line)
			}
			for _, k := range []string{"rules", "mode", "digest", "latency", "notes"} {
				if _, ok := line[k]; !ok {
					t.Errorf("decision line lacks %q: %v", k, line)
				}
			}
			wantLevel := "info"
			if tc.wantErr != nil {
				wantLevel = "error"
			}
			if line["level"] != wantLevel {
				t.Errorf("decision line level = %v, want %s", line["level"], wantLevel)
			}
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestCreateContainerPassesInputOnce(t *testing.T) {
	p, d, _, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return &engine.Decision{}, nil })
	ctr := testContainer("app")
	ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_LOCALHOST}
	ctr.Linux.SeccompPolicy = api.FromOCILinuxSeccomp(denyProfile("mkdir"))
	if _, _, err := p.CreateContainer(context.Background(), testPod("prod", "web"), ctr); err != nil {
		t.Fatal(err)
	}
	calls := d.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	in := calls[0]
	if in.ProfileType != profile.TypeLocalhost || !reflect.DeepEqual(in.Current, denyProfile("mkdir")) {
		t.Errorf("input = %+v", in)
	}
	if in.Annotations["team"] != "blue" || in.Labels["app"] != "web" {
		t.Errorf("labels/annotations = %v %v", in.Labels, in.Annotations)
	}
}

func TestCreateContainerDoesNotMutateEngineNotes(t *testing.T) {
	shared := &engine.Decision{Notes: []string{"n1"}, Changed: true, Mode: "enforce",
		Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(38)}}
	// A cached decision with spare capacity: an append would write into it.
	shared.Notes = append(make([]string, 0, 4), shared.Notes...)
	p, _, _, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return shared, nil })
	for range 2 {
		if _, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c")); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(shared.Notes, []string{"n1"}) || len(shared.Notes[:cap(shared.Notes)][1]) != 0 {
		t.Errorf("engine's notes were modified: %q", shared.Notes[:cap(shared.Notes)])
	}
}

func TestParseRuntimeConfig(t *testing.T) {
	tests := []struct {
		in      string
		want    RuntimeConfig
		wantErr bool
	}{
		{in: "", want: RuntimeConfig{}},
		{in: "  \n", want: RuntimeConfig{}},
		{in: "policy: /etc/p.yaml\n", want: RuntimeConfig{Policy: "/etc/p.yaml"}},
		{in: `{"policy": "/p", "decisionLog": "/var/log/d.jsonl"}`, want: RuntimeConfig{Policy: "/p", DecisionLog: "/var/log/d.jsonl"}},
		{in: "polcy: /etc/p.yaml\n", wantErr: true},
		{in: "policy: [a, b]\n", wantErr: true},
		{in: "policy: /p\n  bad indent: x\n", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseRuntimeConfig(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%q: err = %v, want ErrConfig", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigureRefusesOldRuntimes(t *testing.T) {
	for _, tc := range []struct {
		runtime, version string
		wantErr          bool
	}{
		{"containerd", "v1.7.30", true},
		{"containerd", "v2.1.4", true},
		{"containerd", "v2.2.0", true},
		{"containerd", "v2.2.9", true},
		{"containerd", "v2.3.0-rc.1", false}, // release candidates compare by their core
		{"containerd", "v2.3.0", false},
		{"containerd", "v2.4.2", false},
		{"containerd", "v3.0.0", false},
		// go-installed containerd: no "v", build metadata. Checked, not skipped.
		{"containerd", "2.2.0+unknown", true},
		{"containerd", "2.4.2+unknown", false},
		{"containerd", "devel", false},
		{"cri-o", "v1.30.0", false},
	} {
		p, _, _, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return &engine.Decision{}, nil })
		_, err := p.Configure(context.Background(), "", tc.runtime, tc.version)
		if tc.wantErr != (err != nil) || (tc.wantErr && !errors.Is(err, ErrUnsupportedRuntime)) {
			t.Errorf("%s %s: err = %v, wantErr %v", tc.runtime, tc.version, err, tc.wantErr)
		}
	}
}

func TestParseSemver(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [3]int
		ok   bool
	}{
		{"v0.12.3", [3]int{0, 12, 3}, true},
		{"0.12.3", [3]int{0, 12, 3}, true},
		// What a go-installed containerd reports.
		{"2.4.2+unknown", [3]int{2, 4, 2}, true},
		{"v2.4.2+unknown", [3]int{2, 4, 2}, true},
		{"v1.2.3-rc.1", [3]int{1, 2, 3}, true},
		{"2.3.0-beta.0+git.abc-1", [3]int{2, 3, 0}, true},
		{"v1.2.3-rc-1", [3]int{1, 2, 3}, true},
		{"v10.0.1+x", [3]int{10, 0, 1}, true},
		{"", [3]int{}, false},
		{"v", [3]int{}, false},
		{"v0.12", [3]int{}, false},
		{"v0.x.1", [3]int{}, false},
		{"v0..1", [3]int{}, false},
		{"unknown", [3]int{}, false},
		{"v1.2.3.4", [3]int{}, false},
		{"vv1.2.3", [3]int{}, false},
		{"1.2.3-", [3]int{}, false},
		{"1.2.3+", [3]int{}, false},
		{"1.2.3-rc..1", [3]int{}, false},
		{"1.2.3+build/7", [3]int{}, false},
		{"1.6.20~ds1", [3]int{}, false},
		{" 1.2.3", [3]int{}, false},
		{"1.2.9999999999", [3]int{}, false},
	} {
		got, ok := parseSemver(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseSemver(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestConfigurePolicyOverride(t *testing.T) {
	replacement := &fakeDecider{Fn: func(engine.Input) (*engine.Decision, error) {
		return &engine.Decision{Rules: []engine.RuleResult{{Name: "from-runtime-config"}}}, nil
	}}
	var loaded []string
	loader := func(path string) (Decider, error) {
		loaded = append(loaded, path)
		if path == "/bad.yaml" {
			return nil, errors.New("/bad.yaml:3: rules[0].name: required")
		}
		return replacement, nil
	}

	p, orig, _, dlog := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return &engine.Decision{}, nil })
	// The loader a pre-installed plugin gets (New takes it in Options).
	p.policy = policyhost.New(policyhost.Options{Decider: orig, Logger: p.logger,
		Loader: func(path string) (policyhost.Decider, error) { return loader(path) }})

	if _, err := p.Configure(context.Background(), "policy: /bad.yaml", "containerd", "v2.4.2"); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "rules[0].name") {
		t.Fatalf("bad policy: err = %v, want ErrConfig with the loader's message", err)
	}
	if _, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c")); err != nil {
		t.Fatal(err)
	}
	if len(orig.Calls()) != 1 || len(replacement.Calls()) != 0 {
		t.Fatal("a failed override replaced the policy")
	}

	if _, err := p.Configure(context.Background(), "policy: /good.yaml", "containerd", "v2.4.2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c")); err != nil {
		t.Fatal(err)
	}
	if len(replacement.Calls()) != 1 {
		t.Fatal("the runtime-named policy is not in use")
	}
	if !reflect.DeepEqual(loaded, []string{"/bad.yaml", "/good.yaml"}) {
		t.Errorf("loaded %v", loaded)
	}
	recs := testutil.JSONLines(t, dlog.String())
	if got := fmt.Sprint(recs[len(recs)-1]["rules"]); got != "[from-runtime-config]" {
		t.Errorf("last record rules = %s", got)
	}

	// Unknown keys and a policy without a loader are refused.
	if _, err := p.Configure(context.Background(), "polcy: /x", "containerd", "v2.4.2"); !errors.Is(err, ErrConfig) {
		t.Errorf("misspelt key: err = %v", err)
	}
	p.policy = policyhost.New(policyhost.Options{Decider: replacement, Logger: p.logger}) // no loader
	if _, err := p.Configure(context.Background(), "policy: /good.yaml", "containerd", "v2.4.2"); !errors.Is(err, ErrConfig) {
		t.Errorf("no loader: err = %v", err)
	}
}

func TestConfigureDecisionLogOverride(t *testing.T) {
	p, _, _, first := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return &engine.Decision{}, nil })
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	if _, err := p.Configure(context.Background(), "decisionLog: "+path, "containerd", "v2.4.2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(testutil.JSONLines(t, string(data))); n != 1 {
		t.Errorf("%d records in the configured decision log, want 1", n)
	}
	if first.Len() != 0 {
		t.Errorf("the previous decision log still receives records: %s", first.String())
	}

	bad := filepath.Join(t.TempDir(), "missing-dir", "d.jsonl")
	if _, err := p.Configure(context.Background(), "decisionLog: "+bad, "containerd", "v2.4.2"); !errors.Is(err, ErrConfig) {
		t.Errorf("unwritable decision log: err = %v, want ErrConfig", err)
	}
}

func TestOpenDecisionLogError(t *testing.T) {
	_, err := openDecisionLog(filepath.Join(t.TempDir(), "no", "such", "dir", "d.jsonl"))
	if !errors.Is(err, ErrConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrConfig wrapping ErrNotExist", err)
	}
}

func TestDecisionLogWriteErrorDoesNotFailTheContainer(t *testing.T) {
	d := &fakeDecider{Fn: func(engine.Input) (*engine.Decision, error) {
		return &engine.Decision{Changed: true, Seccomp: denyProfile("x")}, nil
	}}
	logger, logs := testLogger()
	p, err := New(Options{Decider: d, Logger: logger, DecisionLog: decisionlog.NewWriter(failWriter{})})
	if err != nil {
		t.Fatal(err)
	}
	adj, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c"))
	if err != nil || adj == nil {
		t.Fatalf("adj %v err %v: a decision log failure must not change the decision", adj, err)
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("the write error is not logged: %s", logs.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestStubOptions(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		o        RunOptions
		wantName string
		wantErr  bool
	}{
		{name: "flags", o: RunOptions{Name: "seccomp", Idx: "10"}, wantName: "10-seccomp"},
		{name: "bad index", o: RunOptions{Name: "seccomp", Idx: "1"}, wantErr: true},
		{name: "bad index letters", o: RunOptions{Name: "seccomp", Idx: "ab"}, wantErr: true},
		{name: "bad name", o: RunOptions{Name: "sec comp", Idx: "10"}, wantErr: true},
		{name: "empty name", o: RunOptions{Idx: "10"}, wantErr: true},
		{name: "runtime environment wins", env: map[string]string{api.PluginNameEnvVar: "seccomp-x", api.PluginIdxEnvVar: "05"},
			o: RunOptions{Name: "seccomp", Idx: "10"}, wantName: "05-seccomp-x"},
		{name: "bad index from the runtime", env: map[string]string{api.PluginIdxEnvVar: "5"},
			o: RunOptions{Name: "seccomp", Idx: "10"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(api.PluginNameEnvVar, "")
			t.Setenv(api.PluginIdxEnvVar, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			opts, name, err := stubOptions(tc.o)
			if tc.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName {
				t.Errorf("name = %q, want %q", name, tc.wantName)
			}
			// The options must be acceptable to the stub itself (it
			// refuses a second index when the environment has one).
			p, _, _, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return nil, nil })
			if _, err := stub.New(p, opts...); err != nil {
				t.Errorf("stub.New: %v", err)
			}
		})
	}
}

func TestRunBadConfigIsFatal(t *testing.T) {
	p, _, _, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return nil, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.Run(ctx, RunOptions{Name: "seccomp", Idx: "100", Socket: filepath.Join(t.TempDir(), "nri.sock")})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

func TestRunStopsOnCancelWhileRuntimeIsAbsent(t *testing.T) {
	p, _, logs, _ := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) { return nil, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, RunOptions{Name: "seccomp", Idx: "10", Socket: filepath.Join(t.TempDir(), "nri.sock"),
			MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	}()
	// Let it fail a few times, then check the backoff is logged and capped.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "reconnecting") < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on cancel")
	}
	var retries []string
	for _, l := range testutil.JSONLines(t, logs.String()) {
		if strings.Contains(fmt.Sprint(l["msg"]), "reconnecting") {
			retries = append(retries, fmt.Sprint(l["retry_in"]))
		}
	}
	if len(retries) < 5 {
		t.Fatalf("only %d reconnect attempts logged", len(retries))
	}
	want := []string{"1ms", "2ms", "4ms", "4ms", "4ms"}
	if !reflect.DeepEqual(retries[:5], want) {
		t.Errorf("backoff sequence = %v, want %v", retries[:5], want)
	}
}

func TestPolicyFromRuntime(t *testing.T) {
	if _, err := New(Options{PolicyFromRuntime: true}); !errors.Is(err, ErrConfig) {
		t.Fatalf("PolicyFromRuntime without a loader: err = %v, want ErrConfig", err)
	}
	loaded := &fakeDecider{Fn: func(engine.Input) (*engine.Decision, error) {
		return &engine.Decision{Changed: true, Seccomp: denyProfile("x")}, nil
	}}
	logger, _ := testLogger()
	p, err := New(Options{PolicyFromRuntime: true, Logger: logger,
		Loader: func(string) (Decider, error) { return loaded, nil }})
	if err != nil {
		t.Fatal(err)
	}

	// Before a policy is loaded, containers are refused, not let through.
	if _, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c")); !errors.Is(err, dryrun.ErrRefused) || !strings.Contains(err.Error(), "no policy loaded") {
		t.Fatalf("before Configure: err = %v, want a refusal", err)
	}
	if _, err := p.Configure(context.Background(), "", "containerd", "v2.4.2"); !errors.Is(err, ErrConfig) {
		t.Fatalf("Configure without a policy: err = %v, want ErrConfig", err)
	}
	if _, err := p.Configure(context.Background(), "policy: /etc/p.yaml", "containerd", "v2.4.2"); err != nil {
		t.Fatal(err)
	}
	adj, _, err := p.CreateContainer(context.Background(), testPod("a", "b"), testContainer("c"))
	if err != nil || adj == nil {
		t.Fatalf("after Configure: %v %v", adj, err)
	}
}
