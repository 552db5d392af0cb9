package kubeevents

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
)

// request is what the fake API server saw.
type request struct {
	Method, Path, ContentType, Auth, Body string
}

// apiServer is a TLS test server answering with the statuses in replies, in
// turn (the last one repeats), and recording every request.
type apiServer struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []request
	replies []reply
}

type reply struct {
	status int
	body   string
}

func newAPIServer(t testing.TB, replies ...reply) *apiServer {
	t.Helper()
	a := &apiServer{replies: replies}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.seen = append(a.seen, request{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(body)})
		rep := reply{status: http.StatusCreated, body: "{}"}
		if len(a.replies) > 0 {
			rep = a.replies[0]
			if len(a.replies) > 1 {
				a.replies = a.replies[1:]
			}
		}
		a.mu.Unlock()
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *apiServer) requests() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]request(nil), a.seen...)
}

// credentials writes the server's CA and a token, as the kubelet mounts them.
func credentials(t testing.TB, a *apiServer) Server {
	t.Helper()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
	write(t, filepath.Join(dir, "ca.crt"), string(ca))
	write(t, filepath.Join(dir, "token"), "tok-123\n")
	return Server{URL: a.URL, TokenFile: filepath.Join(dir, "token"), CAFile: filepath.Join(dir, "ca.crt")}
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)

// newSink returns a sink on a, with a clock that advances a second per
// reading, and a buffer receiving its log.
func newSink(t testing.TB, a *apiServer, queue int) (*Sink, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableQuote: true})
	l.SetLevel(logrus.InfoLevel)
	now := t0
	s, err := New(Options{
		Server: credentials(t, a), Node: "node-1", QueueSize: queue, Interval: -1,
		Logger: logrus.NewEntry(l),
		Now:    func() time.Time { n := now; now = now.Add(time.Second); return n },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, &buf
}

func tighten() Decision {
	return Decision{
		Namespace: "shop", Pod: "web-7d4b9c-x2x9q", PodUID: "0b6c3b2e-uid", Container: "app",
		ProfileType: "RuntimeDefault",
		Rules: []engine.RuleResult{
			{Name: "no-mount", Action: "tighten", Mode: "enforce"},
			{Name: "watch-ptrace", Action: "tighten", Mode: "audit"},
		},
		Digest: "sha256:abcd", PolicyRevision: "r42",
	}
}

func TestEventJSON(t *testing.T) {
	a := newAPIServer(t)
	s, _ := newSink(t, a, 0)
	s.Post(tighten())
	s.drain(context.Background(), time.Time{})

	want := request{
		Method: "POST", Path: "/api/v1/namespaces/shop/events", ContentType: "application/json",
		Auth: "Bearer tok-123",
		Body: `{"apiVersion":"v1","kind":"Event",` +
			`"metadata":{"name":"web-7d4b9c-x2x9q.18edbc9af5ad4d15","namespace":"shop"},` +
			`"involvedObject":{"apiVersion":"v1","kind":"Pod","namespace":"shop","name":"web-7d4b9c-x2x9q","uid":"0b6c3b2e-uid"},` +
			`"reason":"SeccompTightened",` +
			`"message":"nri-seccomp tightened the seccomp profile of container \"app\" (it had RuntimeDefault); rules: no-mount (tighten, enforce), watch-ptrace (tighten, audit); profile sha256:abcd, policy revision r42. Syscalls refused by enforcing rules fail with EPERM (or the rule's errno); audit-mode rules only log. Ask the cluster admin: nri-seccomp explain.",` +
			`"type":"Normal","source":{"component":"nri-seccomp","host":"node-1"},` +
			`"firstTimestamp":"2026-12-03T12:00:00Z","lastTimestamp":"2026-12-03T12:00:00Z","count":1,` +
			`"action":"Tighten","reportingComponent":"nri-seccomp","reportingInstance":"node-1"}`,
	}
	got := a.requests()
	if len(got) != 1 || got[0] != want {
		t.Fatalf("requests:\n%+v\nwant:\n%+v", got, want)
	}
	if c := s.Counts(); c[ResultCreated] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		rules        []engine.RuleResult
		reason, verb string
	}{
		{[]engine.RuleResult{{Name: "a", Action: "inject", Mode: "enforce"}}, ReasonInjected, "gave container \"c\" a seccomp profile (it had Unconfined)"},
		{[]engine.RuleResult{{Name: "a", Action: "inject", Mode: "enforce"}, {Name: "b", Action: "tighten", Mode: "enforce"}}, ReasonInjected, "gave container"},
		{[]engine.RuleResult{{Name: "a", Action: "inject", Mode: "audit"}, {Name: "b", Action: "tighten", Mode: "enforce"}}, ReasonTightened, "tightened"},
		{[]engine.RuleResult{{Name: "a", Action: "inject", Mode: "audit"}, {Name: "b", Action: "tighten", Mode: "audit"}}, ReasonAudit, "set an audit-mode seccomp profile"},
		{nil, ReasonAudit, "rules: none;"},
	} {
		d := Decision{Container: "c", Rules: tc.rules}
		why, _ := reason(d)
		if why != tc.reason {
			t.Errorf("%v: reason %s, want %s", tc.rules, why, tc.reason)
		}
		if m := message(d, why); !strings.Contains(m, tc.verb) {
			t.Errorf("%v: message %q lacks %q", tc.rules, m, tc.verb)
		}
	}
}

func TestMessageBounded(t *testing.T) {
	d := tighten()
	d.Rules = nil
	for range 200 {
		d.Rules = append(d.Rules, engine.RuleResult{Name: strings.Repeat("r", 40), Action: "tighten", Mode: "enforce"})
	}
	m := message(d, ReasonTightened)
	if len(m) > maxMessage {
		t.Fatalf("message of %d bytes", len(m))
	}
	if !strings.Contains(m, " more; profile sha256:abcd") || !strings.HasSuffix(m, "nri-seccomp explain.") {
		t.Errorf("message lost its tail: %q", m)
	}
	if got := truncate("ééé", 5); got != "..." {
		t.Errorf("truncate cut a rune: %q", got)
	}
}

func TestEventNameBounded(t *testing.T) {
	name := eventName(strings.Repeat("a", 250)+"-b", t0)
	if len(name) > 253 || !strings.HasSuffix(name, ".18edbc9af5ad4d15") {
		t.Errorf("name %q (%d bytes)", name, len(name))
	}
}

// A repeat while queued is merged (one request, count 2); a repeat after
// sending patches the same Event's count; a different container is its
// own Event.
func TestAggregation(t *testing.T) {
	a := newAPIServer(t)
	s, _ := newSink(t, a, 0)
	ctx := context.Background()
	s.Post(tighten())
	s.Post(tighten())
	s.drain(ctx, time.Time{})
	s.Post(tighten())
	other := tighten()
	other.Container = "sidecar"
	s.Post(other)
	reloaded := tighten()
	reloaded.PolicyRevision = "r43"
	s.Post(reloaded)
	s.drain(ctx, time.Time{})

	got := a.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4: %+v", len(got), got)
	}
	if !strings.Contains(got[0].Body, `"lastTimestamp":"2026-12-03T12:00:01Z","count":2`) {
		t.Errorf("first create: %s", got[0].Body)
	}
	wantPatch := request{Method: "PATCH", Path: "/api/v1/namespaces/shop/events/web-7d4b9c-x2x9q.18edbc9af5ad4d15",
		ContentType: "application/merge-patch+json", Auth: "Bearer tok-123",
		Body: `{"count":3,"lastTimestamp":"2026-12-03T12:00:02Z"}`}
	if got[1] != wantPatch {
		t.Errorf("patch:\n%+v\nwant\n%+v", got[1], wantPatch)
	}
	if got[2].Method != "POST" || !strings.Contains(got[2].Body, `container \"sidecar\"`) {
		t.Errorf("other container: %+v", got[2])
	}
	if got[3].Method != "POST" || !strings.Contains(got[3].Body, "policy revision r43") {
		t.Errorf("new policy revision: %+v", got[3])
	}
	want := map[string]int{ResultCreated: 3, ResultPatched: 1, ResultAggregated: 1}
	for r, n := range s.Counts() {
		if n != want[r] {
			t.Errorf("%s: %d, want %d", r, n, want[r])
		}
	}
}

// Events expire (an hour by default): a patch that finds none creates anew.
func TestPatchOfExpiredEventCreates(t *testing.T) {
	a := newAPIServer(t, reply{201, "{}"}, reply{404, `{"kind":"Status","message":"events \"x\" not found"}`}, reply{201, "{}"})
	s, _ := newSink(t, a, 0)
	ctx := context.Background()
	s.Post(tighten())
	s.drain(ctx, time.Time{})
	s.Post(tighten())
	s.drain(ctx, time.Time{})
	got := a.requests()
	if len(got) != 3 || got[1].Method != "PATCH" || got[2].Method != "POST" || !strings.Contains(got[2].Body, `"count":1,`) {
		t.Fatalf("requests %+v", got)
	}
	if c := s.Counts(); c[ResultCreated] != 2 || c[ResultFailed] != 0 {
		t.Errorf("counts %v", c)
	}
}

// Without RBAC every request is refused: each is counted, sent once (no
// retry), and the warning is logged once.
func TestForbidden(t *testing.T) {
	a := newAPIServer(t, reply{403, `{"kind":"Status","message":"events is forbidden: User \"system:serviceaccount:nri-seccomp:nri-seccomp\" cannot create resource \"events\""}`})
	s, logs := newSink(t, a, 0)
	ctx := context.Background()
	s.Post(tighten())
	other := tighten()
	other.Pod = "web-2"
	s.Post(other)
	s.drain(ctx, time.Time{})
	s.drain(ctx, time.Time{})

	if got := len(a.requests()); got != 2 {
		t.Errorf("%d requests, want 2 (no retries)", got)
	}
	if c := s.Counts(); c[ResultForbidden] != 2 || c[ResultCreated] != 0 {
		t.Errorf("counts %v", c)
	}
	if n := strings.Count(logs.String(), "level=warning"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `cannot create resource "events"`) || !strings.Contains(logs.String(), "needs create and patch on events") {
		t.Errorf("log lacks the server's reason or the fix:\n%s", logs)
	}
}

func TestOtherFailureNotRetried(t *testing.T) {
	a := newAPIServer(t, reply{500, "oops"})
	s, logs := newSink(t, a, 0)
	s.Post(tighten())
	s.drain(context.Background(), time.Time{})
	if got := len(a.requests()); got != 1 {
		t.Errorf("%d requests", got)
	}
	if c := s.Counts(); c[ResultFailed] != 1 {
		t.Errorf("counts %v", c)
	}
	if !strings.Contains(logs.String(), "500 Internal Server Error") {
		t.Errorf("log: %s", logs)
	}
}

// A full queue drops new decisions, counted, and never blocks; a repeat of
// a queued decision still merges.
func TestQueueFull(t *testing.T) {
	a := newAPIServer(t)
	s, _ := newSink(t, a, 2)
	for i := range 3 {
		d := tighten()
		d.Pod = "p" + string(rune('0'+i))
		s.Post(d)
	}
	first := tighten()
	first.Pod = "p0"
	s.Post(first)
	if c := s.Counts(); c[ResultDropped] != 1 || c[ResultAggregated] != 1 {
		t.Errorf("counts %v", c)
	}
	s.drain(context.Background(), time.Time{})
	got := a.requests()
	if len(got) != 2 || !strings.Contains(got[0].Body, `"name":"p0"`) || !strings.Contains(got[0].Body, `"count":2,`) || !strings.Contains(got[1].Body, `"name":"p1"`) {
		t.Errorf("requests %+v", got)
	}
}

// Run sends what Post queues and stops with its context.
func TestRun(t *testing.T) {
	done := make(chan struct{})
	a := newAPIServer(t)
	s, _ := newSink(t, a, 0)
	a.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		close(done)
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	s.Post(tighten())
	<-done
	cancel()
	<-stopped
}

func TestConfigErrors(t *testing.T) {
	a := newAPIServer(t)
	good := credentials(t, a)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "garbage"), "not a certificate")
	write(t, filepath.Join(dir, "empty"), "\n")
	write(t, filepath.Join(dir, "two"), "a b")
	for _, tc := range []struct {
		name   string
		mutate func(*Server)
		want   string
	}{
		{"no CA", func(s *Server) { s.CAFile = filepath.Join(dir, "missing") }, "kubernetes events configuration: CA: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{"bad CA", func(s *Server) { s.CAFile = filepath.Join(dir, "garbage") }, "kubernetes events configuration: CA " + filepath.Join(dir, "garbage") + ": no PEM certificate in it"},
		{"CA is a directory", func(s *Server) { s.CAFile = dir }, "kubernetes events configuration: CA: " + dir + ": not a regular file: it is a directory"},
		{"no token", func(s *Server) { s.TokenFile = filepath.Join(dir, "missing") }, "kubernetes events configuration: token: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{"empty token", func(s *Server) { s.TokenFile = filepath.Join(dir, "empty") }, "kubernetes events configuration: token " + filepath.Join(dir, "empty") + ": empty or not one word"},
		{"two-word token", func(s *Server) { s.TokenFile = filepath.Join(dir, "two") }, "kubernetes events configuration: token " + filepath.Join(dir, "two") + ": empty or not one word"},
		{"http", func(s *Server) { s.URL = "http://10.0.0.1:6443" }, `kubernetes events configuration: API server "http://10.0.0.1:6443": scheme "http", want https (the token must not travel in clear)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := good
			tc.mutate(&srv)
			_, err := New(Options{Server: srv})
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestInCluster(t *testing.T) {
	for _, tc := range []struct {
		host, port, flag string
		want, err        string
	}{
		{"10.96.0.1", "443", "", "https://10.96.0.1:443", ""},
		{"fd00::1", "443", "", "https://[fd00::1]:443", ""},
		{"10.96.0.1", "443", "127.0.0.1:6443", "https://127.0.0.1:6443", ""},
		{"", "", "https://192.168.1.5:6443/", "https://192.168.1.5:6443", ""},
		{"", "", "", "", "kubernetes events configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod?); name the API server with --kube-api-server"},
		{"", "", "https://h:1/api", "", `kubernetes events configuration: API server "https://h:1/api": want https://host:port and nothing else`},
		{"", "", "https://u:p@h:1", "", `kubernetes events configuration: API server "https://u:p@h:1": want https://host:port and nothing else`},
		{"", "", "https://:6443", "", `kubernetes events configuration: API server "https://:6443": no host`},
		{"", "", "ftp://h", "", `kubernetes events configuration: API server "ftp://h": scheme "ftp", want https (the token must not travel in clear)`},
	} {
		t.Setenv("KUBERNETES_SERVICE_HOST", tc.host)
		t.Setenv("KUBERNETES_SERVICE_PORT", tc.port)
		s, err := InCluster(tc.flag)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%+v: error %v, want %s", tc, err, tc.err)
			}
			continue
		}
		if err != nil || s.URL != tc.want || s.TokenFile != ServiceAccountDir+"/token" || s.CAFile != ServiceAccountDir+"/ca.crt" {
			t.Errorf("%+v: %+v, %v", tc, s, err)
		}
	}
}
