package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// hostile is an executable path a container picks to forge report lines
// and, on a terminal, erase the line that names it (ESC [2K, CR).
const hostile = "/tmp/x\n\nshop/web-1 container app (c1): 0 records, 0 refused\x1b[2K\r\xff"

// A container names its binary: the text report must print it escaped, on
// its own line, and the JSON report must keep it exact.
func TestReportTextEscapesHostileNames(t *testing.T) {
	raw := record.KernelLine(record.Record{Time: time.Unix(1795726941, 0), Serial: 1, PID: 42, Comm: "c\x1b]0;pwned\x07", Exe: hostile,
		AuditArch: record.AuditArchX8664, Syscall: 250, Code: record.RetKillProcess})
	ev, err := json.Marshal(live.Event{Kind: live.KindRecord, Time: time.Unix(1795726942, 0).UTC(), Count: 1, Attribution: "pid",
		Namespace: "shop\x1b[8m", Pod: "web\n1", Container: "app\r", ContainerID: "c1\n", Rules: []string{"r\x07"}, Mode: "audit",
		Exe: "/app", Arch: "SCMP_ARCH_X86_64\n", Syscall: "mkdir\x1b[A", Action: "SCMP_ACT_LOG"})
	if err != nil {
		t.Fatal(err)
	}
	b := NewReportBuilder(time.Time{}, nil)
	if err := b.Read("in\x1blog", strings.NewReader(raw+"\n"+string(ev)+"\n{\"count\":\x01}\n")); err != nil {
		t.Fatal(err)
	}
	rep := b.Report()
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if strings.ContainsAny(out, "\x1b\r\x07\x01") || !strings.Contains(out, "\n") || strings.Contains(out, "\xff") {
		t.Fatalf("control bytes in the text report:\n%q", out)
	}
	want := []string{
		`2 seccomp records, 1 unreadable lines, 1 warnings`,
		`warning: "in\x1blog":3: not an audit event: invalid character '\x01' looking for beginning of value`,
		``,
		`"shop\x1b[8m"/"web\n1" container "app\r" ("c1\n") mode=audit rules="r\a": 1 records, 0 refused`,
		`  SYSCALL                ARCH              ACTION                    COUNT  FIRST                 LAST`,
		`  "mkdir\x1b[A"          "X86_64\n"        SCMP_ACT_LOG                  1  2026-11-26T21:02:22Z  2026-11-26T21:02:22Z`,
		``,
		`unattributed: "/tmp/x\n\nshop/web-1 container app (c1): 0 records, 0 refused\x1b[2K\r\xff": 1 records, 1 refused`,
		`  SYSCALL                ARCH              ACTION                    COUNT  FIRST                 LAST`,
		`  keyctl                 X86_64            SCMP_ACT_KILL_PROCESS         1  2026-11-26T21:02:21Z  2026-11-26T21:02:21Z`,
		``,
	}
	if got := strings.Split(out, "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("text report:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}

	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatalf("JSON report does not read back: %v", err)
	}
	// JSON keeps the exact bytes, except the one that is not UTF-8, which
	// encoding/json replaces with U+FFFD.
	if got := back.Containers[1].Exe; got != strings.ToValidUTF8(hostile, "\ufffd") {
		t.Fatalf("exe through JSON: %q", got)
	}
}

// One overlong line (even a well-formed event) and one broken line are
// skipped with their file:line; the lines around them count.
func TestFilesSkipOverlongAndBrokenLines(t *testing.T) {
	dir := t.TempDir()
	ev := func(n int, pad int) string {
		return fmt.Sprintf(`{"kind":"record","time":"2026-11-26T21:00:0%dZ","count":1,"namespace":"ns","pod":"p","container":"c","attribution":"pid","exe":"/%s","arch":"SCMP_ARCH_X86_64","syscall":"mkdir","action":"SCMP_ACT_LOG"}`,
			n, strings.Repeat("a", pad))
	}
	long := ev(2, source.MaxLine) // well-formed, over the limit
	exact := ev(4, 0)
	exact = ev(4, source.MaxLine-len(exact)) // exactly source.MaxLine bytes: read
	content := ev(1, 0) + "\n" + long + "\n" + `{"kind":"record","time":"2026-11-2` + "\n" + ev(3, 0) + "\n" + exact + "\n" + ev(5, 0)
	path := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(context.Background(), ReportInput{Logs: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 4 || rep.Malformed != 1 || rep.WarningCount != 2 {
		t.Fatalf("records %d malformed %d warnings %d: %v", rep.Records, rep.Malformed, rep.WarningCount, rep.Warnings)
	}
	want := []string{
		fmt.Sprintf("%s:2: line of %d bytes, over the limit of %d: skipped", path, len(long), source.MaxLine),
		fmt.Sprintf("%s:3: not an audit event: unexpected end of JSON input", path),
	}
	for i, w := range rep.Warnings {
		if w.String() != want[i] {
			t.Errorf("warning %d: %s\nwant %s", i, w, want[i])
		}
	}
}

// A path given twice, a hard link, audit.log.1 and audit.log.01: each file
// is read once, and the report says which path was dropped.
func TestFilesReadEachFileOnce(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "audit.log.1")
	appendTo(t, a, record.KernelLine(record.Record{Time: time.Unix(1795726941, 0), Serial: 1, PID: 1, Comm: "x", Exe: "/x", AuditArch: record.AuditArchX8664, Syscall: 83, Code: record.RetLog})+"\n")
	if err := os.Link(a, filepath.Join(dir, "audit.log.01")); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "audit.log")
	appendTo(t, b, "unrelated line\n")
	files, err := source.WithRotated(b)
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, a)
	rep, err := BuildReport(context.Background(), ReportInput{Logs: files})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := mustOpen(t, a).Stat()
	if err != nil {
		t.Fatal(err)
	}
	id := fi.Sys().(*syscall.Stat_t)
	if rep.Records != 1 || rep.WarningCount != 2 {
		t.Fatalf("records %d, warnings %v (files %v)", rep.Records, rep.Warnings, files)
	}
	first := files[0] // source.WithRotated's order among the two n=1 names
	var got []string
	for _, w := range rep.Warnings {
		got = append(got, w.String())
	}
	other := filepath.Join(dir, "audit.log.01")
	if first == other {
		other = a
	}
	want := []string{
		fmt.Sprintf("%s: the same file as %s (device %d, inode %d): read once", other, first, id.Dev, id.Ino),
		fmt.Sprintf("%s: the same file as %s (device %d, inode %d): read once", a, first, id.Dev, id.Ino),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

var appendTo = testutil.AppendFile

// Counts a log claims add up to the largest int, not to a negative number.
func TestReportCountsSaturate(t *testing.T) {
	line := fmt.Sprintf(`{"kind":"summary","time":"2026-11-26T21:00:00Z","count":%d,"namespace":"ns","pod":"p","container":"c","attribution":"pid","arch":"SCMP_ARCH_X86_64","syscall":"mkdir","action":"SCMP_ACT_ERRNO","refused":true}`, math.MaxInt)
	over := fmt.Sprintf(`{"kind":"summary","time":"2026-11-26T21:00:00Z","count":%d,"attribution":"overflow","syscall":"*","action":"*"}`, math.MaxInt)
	b := NewReportBuilder(time.Time{}, nil)
	if err := b.Read("big", strings.NewReader(line+"\n"+line+"\n"+over+"\n")); err != nil {
		t.Fatal(err)
	}
	rep := b.Report()
	c := rep.Containers[0]
	if rep.Records != math.MaxInt || c.Total != math.MaxInt || c.Refused != math.MaxInt || c.Syscalls[0].Count != math.MaxInt {
		t.Fatalf("records %d total %d refused %d count %d", rep.Records, c.Total, c.Refused, c.Syscalls[0].Count)
	}
	if AddSat(math.MaxInt-1, 1) != math.MaxInt || AddSat(1, 2) != 3 {
		t.Fatal("addSat")
	}
}

// Every event a file may hold wrongly: skipped with its reason, or counted
// after a fix that a warning names.
func TestReportEventChecks(t *testing.T) {
	base := `"kind":"record","time":"2026-11-26T21:00:00Z","namespace":"ns","pod":"p","container":"c","exe":"/x","arch":"SCMP_ARCH_X86_64","syscall":"mkdir"`
	for _, tc := range []struct {
		name, fields string
		malformed    bool
		warning      string
		refused      bool
		attributed   bool
	}{
		{"ok", `"count":1,"attribution":"pid","action":"SCMP_ACT_LOG"`, false, "", false, true},
		{"attributed at fork", `"count":1,"attribution":"fork","action":"SCMP_ACT_LOG"`, false, "", false, true},
		{"kill declared not refused", `"count":1,"attribution":"pid","action":"SCMP_ACT_KILL_PROCESS","refused":false`, false,
			"refused=false contradicts action SCMP_ACT_KILL_PROCESS: counted as refused=true", true, true},
		{"log declared refused", `"count":1,"attribution":"pid","action":"SCMP_ACT_LOG","refused":true`, false,
			"refused=true contradicts action SCMP_ACT_LOG: counted as refused=false", false, true},
		{"future code", `"count":1,"attribution":"pid","action":"0x7ff80000","refused":true`, false, "", true, true},
		{"no attribution", `"count":1,"action":"SCMP_ACT_LOG"`, false,
			`attribution "": not one the daemon writes; counted as unattributed`, false, false},
		{"made-up attribution", `"count":1,"attribution":"trust-me","action":"SCMP_ACT_LOG"`, false,
			`attribution "trust-me": not one the daemon writes; counted as unattributed`, false, false},
		{"unknown", `"count":1,"attribution":"unknown","action":"SCMP_ACT_LOG"`, false, "", false, false},
		{"zero count", `"count":0,"attribution":"pid","action":"SCMP_ACT_LOG"`, true, "audit event: count 0: want 1 or more", false, false},
		{"negative count", `"count":-5,"attribution":"pid","action":"SCMP_ACT_LOG"`, true, "audit event: count -5: want 1 or more", false, false},
		{"no action", `"count":1,"attribution":"pid"`, true, `audit event: action "": not a seccomp action`, false, false},
		{"bad action", `"count":1,"attribution":"pid","action":"SCMP_ACT_LOG\u001b"`, true, `audit event: action "SCMP_ACT_LOG\x1b": not a seccomp action`, false, false},
		{"named code in hex", `"count":1,"attribution":"pid","action":"0x7ffc0000"`, true, `audit event: action "0x7ffc0000": not a seccomp action`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewReportBuilder(time.Time{}, nil)
			b.AddLineAt(source.Pos{File: "f", Line: 7}, []byte("{"+base+","+tc.fields+"}"))
			rep := b.Report()
			var warn string
			if len(rep.Warnings) > 0 {
				warn = rep.Warnings[0].String()
			}
			if tc.warning != "" && warn != "f:7: "+tc.warning || tc.warning == "" && warn != "" {
				t.Fatalf("warning %q, want %q", warn, tc.warning)
			}
			if tc.malformed {
				if rep.Malformed != 1 || len(rep.Containers) != 0 {
					t.Fatalf("not skipped: %+v", rep)
				}
				return
			}
			c := rep.Containers[0]
			if c.Syscalls[0].Refused != tc.refused || (c.Refused == 1) != tc.refused || c.Attributed != tc.attributed {
				t.Fatalf("refused %v/%d attributed %v", c.Syscalls[0].Refused, c.Refused, c.Attributed)
			}
			if !c.Attributed && (c.Namespace != "" || c.Pod != "" || c.Container != "") {
				t.Fatalf("an unattributed event kept its own pod: %+v", c)
			}
		})
	}
}

// A decision log cut short by a crash: the broken line is skipped with its
// position, the rest attributes; a file with no readable line is an error.
func TestDecisionLogSkipsBrokenLines(t *testing.T) {
	log := `{"time":"2026-11-26T21:02:20Z","namespace":"shop","pod":"web-1","container":"app","container_id":"c1"}
{"time":"2026-11-26T21:02:21Z","event":"started","container_id":"c1","pid":27544}
{"time":"2026-11-26T21:02:26Z","namespace":"shop","pod":"web-2","contai
` + `{"x":"` + strings.Repeat("y", decisionlog.MaxLine) + `"}
{"time":"2026-11-26T21:02:27Z","event":"started","container_id":"c2","pid":27735}
{"time":"2026-11-26T21:02:28Z","event":"sta`
	d, err := ReadDecisionLog("decisions.jsonl", strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range d.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		"decisions.jsonl:3: decision log: not a decision-log line: unexpected end of JSON input",
		fmt.Sprintf("decisions.jsonl:4: decision log: line of %d bytes, over the limit of %d: skipped", decisionlog.MaxLine+8, decisionlog.MaxLine),
		"decisions.jsonl:6: decision log: not a decision-log line: unexpected end of JSON input",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || d.WarningCount != 3 {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if a := d.AttributeAt(27544, time.Date(2026, 11, 26, 21, 3, 0, 0, time.UTC)); a.Container.Pod != "web-1" {
		t.Fatalf("27544: %+v", a)
	}
	if a := d.AttributeAt(27735, time.Date(2026, 11, 26, 21, 3, 0, 0, time.UTC)); a.Container.ID != "c2" || a.Container.Pod != "" {
		t.Fatalf("27735: %+v", a)
	}

	_, err = ReadDecisionLog("audit.log", strings.NewReader("type=SECCOMP msg=audit(1.000:1): pid=1\nnot json\n"))
	if !errors.Is(err, decisionlog.ErrBadLog) || err.Error() != `bad decision log: audit.log: not one readable line (2 skipped; first: audit.log:1: decision log: not a decision-log line: invalid character 'y' in literal true (expecting 'r'))` {
		t.Fatalf("not a decision log: %v", err)
	}

	// Through BuildReport: the decision log's warnings are the report's.
	dir := t.TempDir()
	dl := filepath.Join(dir, "decisions.jsonl")
	if err := os.WriteFile(dl, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "audit.log")
	appendTo(t, empty, "")
	rep, err := BuildReport(context.Background(), ReportInput{Logs: []string{empty}, DecisionLog: dl})
	if err != nil || rep.WarningCount != 3 || rep.Warnings[0].Line != 3 {
		t.Fatalf("report: %v %+v", err, rep.Warnings)
	}
}

// checkWarnings holds for the warnings of any input: bounded, counted, and
// safe to print.
func checkWarnings(t *testing.T, ws []source.Warning, count int) {
	t.Helper()
	if len(ws) > maxWarnings || count < len(ws) {
		t.Fatalf("%d warnings kept of %d counted", len(ws), count)
	}
	for _, w := range ws {
		if w.Line < 0 || !printableText(w.String()) {
			t.Fatalf("warning %q", w.String())
		}
	}
}

// printableText: valid UTF-8 in which nothing but newlines fails to print
// (no control character, no bidi override, no other line separator).
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && r != ' ' && !unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r) })
}

// FuzzDecisionLog: any bytes as a decision log. No panic, no hang; an error
// is decisionlog.ErrBadLog; warnings are bounded and printable; attribution and a
// report over the same bytes hold up too.
func FuzzDecisionLog(f *testing.F) {
	data, err := os.ReadFile("testdata/decisions.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2]) // cut mid-line by a crash
	f.Add([]byte("{\"time\":\"2026-11-26T21:02:21Z\",\"event\":\"started\",\"container_id\":\"c\\u001b\",\"pid\":1}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ReadDecisionLog("fuzz\x1b.jsonl", bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, decisionlog.ErrBadLog) || !printableText(err.Error()) {
				t.Fatalf("error %q", err)
			}
			return
		}
		checkWarnings(t, d.Warnings, d.WarningCount)
		for pid := range 4 {
			d.AttributeAt(pid, time.Date(2026, 11, 26, 21, 3, 0, 0, time.UTC))
		}
		// The same bytes as an audit log, attributed by themselves: the
		// text report prints nothing a terminal would act on.
		b := NewReportBuilder(time.Time{}, d)
		if err := b.Read("fuzz", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		rep := b.Report()
		checkWarnings(t, rep.Warnings, rep.WarningCount)
		var text bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !printableText(text.String()) {
			t.Fatalf("text report holds control characters:\n%q", text.String())
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("JSON report: %v", err)
		}
	})
}

// FuzzReportLines: any line, as a raw record or an event, through the report
// and the text output.
func FuzzReportLines(f *testing.F) {
	for _, name := range []string{"events.jsonl", "kmsg.txt", "auditd-enriched.log"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		b := NewReportBuilder(time.Time{}, nil)
		b.AddLineAt(source.Pos{File: "f", Line: 1}, line)
		rep := b.Report()
		checkWarnings(t, rep.Warnings, rep.WarningCount)
		if rep.Records < 0 || rep.Malformed+len(rep.Containers) > 2 {
			t.Fatalf("one line: %+v", rep)
		}
		var text bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !printableText(text.String()) {
			t.Fatalf("text report holds control characters:\n%q", text.String())
		}
	})
}
