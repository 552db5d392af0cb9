package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
)

// update rewrites the golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (run with -update after checking):\n%s", path, got)
	}
}

func readDecisions(t *testing.T) *DecisionLogAttributor {
	t.Helper()
	f, err := os.Open("testdata/decisions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadDecisionLog("decisions.jsonl", f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func buildReport(t *testing.T, since time.Time, attr TimedAttributor, files ...string) Report {
	t.Helper()
	b := NewReportBuilder(since, attr)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Read(f, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Report()
}

// Raw records attributed offline through the decision log, plus the
// daemon's events, in one report: text and JSON goldens.
func TestReportGolden(t *testing.T) {
	rep := buildReport(t, time.Time{}, readDecisions(t), "kmsg.txt", "auditd-enriched.log", "events.jsonl")
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.txt", text.Bytes())
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.json", append(js, '\n'))

	// The facts behind the goldens, asserted directly.
	// 7 kmsg + 8 auditd records; events: 1+500+1+1+1+1+7(overflow)+1.
	if rep.Records != 7+8+513 || rep.Malformed != 2 {
		t.Fatalf("records %d malformed %d", rep.Records, rep.Malformed)
	}
	byName := map[string]ContainerReport{}
	for _, c := range rep.Containers {
		k := c.Namespace + "/" + c.Pod + "/" + c.Container
		if !c.Attributed {
			k = "?" + c.Exe
		}
		byName[k] = c
	}
	web1 := byName["shop/web-1/app"]
	// Events (mkdir 1+500, keyctl, #999) and the kmsg records of PID
	// 27544, c1's init (mkdir x86_64 and x32, i386 getpid).
	if web1.Total != 1+500+1+1+3 || web1.Refused != 1 || web1.Mode != "audit" {
		t.Fatalf("web-1/app: %+v", web1)
	}
	mk := web1.Syscalls[0]
	if mk.Syscall != "mkdir" || mk.Count != 502 || !mk.First.Equal(time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)) || !mk.Last.Equal(time.Date(2026, 11, 26, 21, 2, 21, 372e6, time.UTC)) {
		t.Fatalf("web-1/app mkdir: %+v", mk)
	}
	// PID 27735 was c2's init from 21:02:27: the auditd records.
	if c := byName["shop/web-2/app"]; c.Total != 3 {
		t.Fatalf("web-2/app: %+v", c)
	}
	// 27736 (g en) never was an init: unattributed, by executable.
	if c := byName["?/tmp/audit-capture/g en"]; c.Total != 3 || c.Attributed {
		t.Fatalf("g en: %+v", c)
	}
}

func TestReportSince(t *testing.T) {
	since := time.Date(2026, 11, 26, 21, 0, 5, 0, time.UTC)
	rep := buildReport(t, since, nil, "events.jsonl", "dmesg.txt")
	for _, c := range rep.Containers {
		for _, s := range c.Syscalls {
			if s.Last.Before(since) {
				t.Errorf("%s/%s %s last seen %v, before --since", c.Pod, c.Container, s.Syscall, s.Last)
			}
		}
		if c.Pod == "old" {
			t.Errorf("the old pod is in the report")
		}
	}
	// The summary ending 21:00:09 is kept whole: it overlaps the window.
	if rep.Records == 0 {
		t.Fatal("nothing after --since")
	}
}

func TestDecisionLogAttributor(t *testing.T) {
	d := readDecisions(t)
	at := func(pid int, ts string) containers.Attribution {
		tm, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			t.Fatal(err)
		}
		return d.AttributeAt(pid, tm)
	}
	if a := at(27544, "2026-11-26T21:02:21Z"); a.How != containers.ByPID || a.Container.Pod != "web-1" || a.Container.Mode != "audit" {
		t.Fatalf("27544: %+v", a)
	}
	// A record stamped a moment before the start line (written after the
	// start) still counts; one long before does not.
	if a := at(27735, "2026-11-26T21:02:25Z"); a.Container.Pod != "web-2" {
		t.Fatalf("27735 just before start: %+v", a)
	}
	if a := at(27735, "2026-11-26T21:00:00Z"); a.Known() {
		t.Fatalf("27735 before it started: %+v", a)
	}
	// A started container without a decision line: known by id only.
	if a := at(27912, "2026-11-26T21:02:34Z"); a.Container.ID != "c9" || a.Container.Pod != "" {
		t.Fatalf("27912: %+v", a)
	}
	if a := at(1, "2026-11-26T21:02:34Z"); a.Known() {
		t.Fatalf("pid 1: %+v", a)
	}
}

// The decision log the plugin writes is what ReadDecisionLog reads.
func TestDecisionLogContract(t *testing.T) {
	var buf bytes.Buffer
	dl := decisionlog.NewWriter(&buf)
	if err := dl.Write(decisionlog.Entry{Time: time.Now(), Namespace: "ns", Pod: "p", Container: "c", ContainerID: "id1", Rules: []string{"r"}, Mode: "audit"}); err != nil {
		t.Fatal(err)
	}
	buf.WriteString(`{"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","event":"` + decisionlog.EventStarted + `","container_id":"id1","pid":4242}` + "\n")
	d, err := ReadDecisionLog("decisions", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.AttributeAt(4242, time.Now()); a.Container.Pod != "p" || a.Container.Name != "c" || a.Container.Mode != "audit" {
		t.Fatalf("attribution: %+v", a)
	}
}
