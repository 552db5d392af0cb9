package nri

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// jsonLogger is a logger as `run --log-format json` sets it up, writing to
// out, with the daemon's node field.
func jsonLogger(out *os.File, timeFormat string) *log.Entry {
	l := logrus.New()
	l.Out, l.Formatter = out, &logrus.JSONFormatter{TimestampFormat: timeFormat}
	return logrus.NewEntry(l).WithField("node", "node-1")
}

// The decision line written without logrus is, byte for byte, what logrus's
// JSONFormatter writes for the same fields, message, level and time, over
// generated records (every character encoding/json escapes, optional
// fields set or not, refusals), time formats and logger fields.
func TestDecisionLineMatchesLogrus(t *testing.T) {
	s := uint64(rand.Int64())
	t.Logf("seed %d", s)
	r := rand.New(rand.NewPCG(s, 7))
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name       string
		timeFormat string
		fields     log.Fields
	}{
		{"daemon", log.RFC3339NanoFixed, log.Fields{"node": "node-1"}},
		{"default time format", "", log.Fields{"node": "<n\u2028>"}},
		{"no fields", time.Kitchen, nil},
		{"field the line replaces", log.RFC3339NanoFixed, log.Fields{"pod": "x", "a": true, "z": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry := jsonLogger(f, tc.timeFormat).WithFields(tc.fields)
			w := newLineWriter(entry, entry.Logger.Formatter.(*logrus.JSONFormatter), f)
			if w == nil {
				t.Fatal("no fast writer for the daemon's logger")
			}
			var want bytes.Buffer
			ref := logrus.New()
			ref.Out, ref.Formatter = &want, entry.Logger.Formatter
			for range 5000 {
				rec := testutil.RandomEntry(r)
				now := time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).In(time.FixedZone("z", (r.IntN(48)-24)*1800))
				want.Reset()
				e := (&logrus.Entry{Logger: ref, Data: entry.Data}).WithTime(now).WithFields(decisionFields(&rec))
				level := logrus.InfoLevel
				if rec.Error != "" {
					level = logrus.ErrorLevel
					e.WithField("error", rec.Error).Error(msgRefused)
				} else {
					e.Info(msgDecision)
				}
				got := append(w.appendLine(nil, &rec, level, now), '\n')
				if !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("record %+v:\ngot  %s\nwant %s", rec, got, want.Bytes())
				}
			}
		})
	}
}

// Loggers whose lines the fast writer could not reproduce go through logrus.
func TestDecisionLineFallsBackToLogrus(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases := map[string]func(e *log.Entry) *log.Entry{
		"text format": func(e *log.Entry) *log.Entry { e.Logger.Formatter = &logrus.TextFormatter{}; return e },
		"not a file":  func(e *log.Entry) *log.Entry { e.Logger.Out = &bytes.Buffer{}; return e },
		"hook":        func(e *log.Entry) *log.Entry { e.Logger.AddHook(nopHook{}); return e },
		"caller":      func(e *log.Entry) *log.Entry { e.Logger.ReportCaller = true; return e },
		"data key":    func(e *log.Entry) *log.Entry { e.Logger.Formatter.(*logrus.JSONFormatter).DataKey = "d"; return e },
		"field map": func(e *log.Entry) *log.Entry {
			e.Logger.Formatter.(*logrus.JSONFormatter).FieldMap = logrus.FieldMap{"msg": "m"}
			return e
		},
		"pretty": func(e *log.Entry) *log.Entry { e.Logger.Formatter.(*logrus.JSONFormatter).PrettyPrint = true; return e },
		"no HTML escape": func(e *log.Entry) *log.Entry {
			e.Logger.Formatter.(*logrus.JSONFormatter).DisableHTMLEscape = true
			return e
		},
		"no timestamp": func(e *log.Entry) *log.Entry {
			e.Logger.Formatter.(*logrus.JSONFormatter).DisableTimestamp = true
			return e
		},
		"clashing field": func(e *log.Entry) *log.Entry { return e.WithField("msg", "x") },
		"error field":    func(e *log.Entry) *log.Entry { return e.WithField("err", os.ErrClosed) },
	}
	for name, change := range cases {
		p := &Plugin{logger: change(jsonLogger(f, log.RFC3339NanoFixed))}
		if p.fastLine() != nil {
			t.Errorf("%s: written without logrus", name)
		}
	}
	p := &Plugin{logger: jsonLogger(f, log.RFC3339NanoFixed)}
	if p.fastLine() == nil {
		t.Fatal("the daemon's logger is written through logrus")
	}
	// Reconfigured later: the next line sees it.
	p.logger.Logger.Formatter = &logrus.TextFormatter{}
	if p.fastLine() != nil {
		t.Error("a logger switched to text is still written without logrus")
	}
}

type nopHook struct{}

func (nopHook) Levels() []logrus.Level   { return logrus.AllLevels }
func (nopHook) Fire(*logrus.Entry) error { return nil }

// Through the plugin: one whole line per decision on the logger's file, at
// the logger's level, parsed back with its fields; nothing below the level.
func TestDecisionLineWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &Plugin{logger: jsonLogger(f, log.RFC3339NanoFixed)}
	ok := decisionlog.Entry{Namespace: "prod", Pod: "web", Container: "app", Rules: []string{"floor"}, Changed: true, LatencyMicros: 1500}
	bad := decisionlog.Entry{Namespace: "prod", Pod: "web", Container: "app", Rules: []string{}, Error: "refused: no"}
	p.logDecision(context.Background(), &ok)
	p.logDecision(context.Background(), &bad)
	p.logger.Logger.SetLevel(logrus.WarnLevel)
	p.logDecision(context.Background(), &ok) // below the level: nothing
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), data)
	}
	for i, want := range []map[string]any{
		{"level": "info", "msg": msgDecision, "pod": "prod/web", "rules": []any{"floor"}, "changed": true, "latency": "1.5ms", "node": "node-1"},
		{"level": "error", "msg": msgRefused, "error": "refused: no", "rules": []any{}, "notes": nil},
	} {
		var got map[string]any
		if err := json.Unmarshal(lines[i], &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, lines[i])
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !equalJSON(g, v) {
				t.Errorf("line %d: %s = %v, want %v", i, k, g, v)
			}
		}
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
