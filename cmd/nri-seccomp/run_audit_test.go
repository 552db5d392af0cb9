package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/procevents"
)

// run --audit with a followed file: a line over the follower's limit is not
// dropped silently. The daemon logs a warning naming the file and the
// line's offset, and counts it in nri_seccomp_audit_lines_skipped_total; the
// record after it is still read.
func TestRunAuditOverlongLineWarns(t *testing.T) {
	eng, err := loadEngine(writeFile(t, t.TempDir(), "p.yaml", goodPolicy))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nri.New(nri.Options{Decider: eng})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := writeFile(t, dir, "audit.log", "")
	events := filepath.Join(dir, "events.jsonl")
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	a := addAuditFlags(fs)
	if err := fs.Parse([]string{"--audit", "--audit-source", src, "--audit-events", events}); err != nil {
		t.Fatal(err)
	}
	logger := logrus.New()
	var logBuf syncWriter
	logger.Out = &logBuf
	logger.Formatter = &logrus.JSONFormatter{}
	m := metrics.New()
	if code := a.start(context.Background(), p, logrus.NewEntry(logger), m, "node-1", &bytes.Buffer{}); code != -1 {
		t.Fatalf("start: %d", code)
	}
	defer a.stop()
	time.Sleep(300 * time.Millisecond) // past the follower's seek to the end

	// 10 bytes of an ordinary line first, so the overlong one starts at
	// offset 10; then 70 KiB without a newline inside; then a record.
	record := `type=SECCOMP msg=audit(1795726957.700:122): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=999999 comm="gen2" exe="/tmp/gen2" sig=0 arch=c000003e syscall=84 compat=0 ip=0x1 code=0x50000`
	content := "123456789\n" + strings.Repeat("x", 70<<10) + "\n" + record + "\n"
	f, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	f.Close()

	deadline := time.Now().Add(5 * time.Second)
	for {
		if data, _ := os.ReadFile(events); len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record after the overlong line was not read; log:\n%s", logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	var warned []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := entry["msg"].(string); strings.HasPrefix(msg, "seccomp audit source: ") {
			warned = append(warned, entry)
		}
	}
	want := "seccomp audit source: line at offset 10 over the limit of 65536 bytes: skipped"
	if len(warned) != 1 || warned[0]["msg"] != want || warned[0]["level"] != "warning" || warned[0]["file"] != src {
		t.Fatalf("want one warning %q with file %s, got %v; log:\n%s", want, src, warned, logBuf.String())
	}
	if got := counterValue(t, m, "nri_seccomp_audit_lines_skipped_total"); got != 1 {
		t.Errorf("nri_seccomp_audit_lines_skipped_total = %v, want 1", got)
	}
}

// counterValue returns the value of the unlabelled counter name in m.
func counterValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}

// The connector's events reach the registry; a loss is counted, and the
// next expiry tick sweeps /proc (the flag is taken once).
func TestProcFeed(t *testing.T) {
	reg := containers.NewWithProc(t.TempDir())
	reg.FollowProcesses()
	reg.Upsert(containers.Container{ID: strings.Repeat("a", 64), Namespace: "ns", Pod: "p", Name: "c", PID: 10})
	preg := prometheus.NewRegistry()
	prom, err := live.NewPromCounters(preg)
	if err != nil {
		t.Fatal(err)
	}
	if err := prom.ObserveProcesses(reg.Processes); err != nil {
		t.Fatal(err)
	}
	f := &procFeed{ctrs: reg, prom: prom}
	f.Event(procevents.Event{Kind: procevents.Fork, PID: 20, Parent: 10})
	f.Event(procevents.Event{Kind: procevents.Exec, PID: 20})
	f.Event(procevents.Event{Kind: procevents.Exit, PID: 20})
	if a := reg.Attribute(20); a.How != containers.ByFork || a.Container.Pod != "p" {
		t.Fatalf("attribution after fork, exec, exit: %+v", a)
	}
	f.Lost()
	f.Lost()
	if !f.lost.Swap(false) || f.lost.Load() {
		t.Fatal("the loss flag is not set once and taken once")
	}
	got := map[string]float64{}
	mfs, err := preg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if got["nri_seccomp_audit_process_events_lost_total"] != 2 || got["nri_seccomp_audit_tracked_processes"] != 1 {
		t.Fatalf("metrics: %v", got)
	}
}

// The self-check: an event after the started process means the
// subscription is served; none within the limit means it is not (a daemon
// outside the host's PID namespace); a process that cannot start says
// nothing.
func TestProcFeedSelfCheck(t *testing.T) {
	reg := containers.NewWithProc(t.TempDir())
	f := &procFeed{ctrs: reg}
	served := func(context.Context) error {
		f.Event(procevents.Event{Kind: procevents.Fork, PID: 2, Parent: 1})
		return nil
	}
	silent := func(context.Context) error { return nil }
	failing := func(context.Context) error { return os.ErrNotExist }
	ctx := context.Background()
	if !f.selfCheck(ctx, served, time.Minute) {
		t.Error("served: reported unserved")
	}
	if f.selfCheck(ctx, silent, 50*time.Millisecond) {
		t.Error("silent: reported served")
	}
	if !f.selfCheck(ctx, failing, time.Minute) {
		t.Error("a process that could not start: reported unserved")
	}
}

// The process-events self-check starts this binary's `version`, a process
// that exits by itself (under test, TestMain makes the test binary answer
// it). A self-check whose process ran until it was killed delayed every
// audit start and, in tests, ran the whole suite again in the child.
func TestStartSelfExits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := startSelf(ctx); err != nil {
		t.Fatalf("startSelf: %v (context: %v)", err, ctx.Err())
	}
}
