package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// collector gathers lines from a Source running in the background.
type collector struct {
	mu    sync.Mutex
	lines []string
	done  chan error
}

func runSource(t *testing.T, src Source) (*collector, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{done: make(chan error, 1)}
	go func() {
		c.done <- src.Run(ctx, func(b []byte) {
			c.mu.Lock()
			c.lines = append(c.lines, string(b))
			c.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("source: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("source did not stop")
		}
	})
	return c, cancel
}

// waitFor waits until the collected lines equal want.
func (c *collector) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := slices.Clone(c.lines)
		c.mu.Unlock()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var appendTo = testutil.AppendFile

func TestFileFollowerRotationAndTruncation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	appendTo(t, path, "old 1\nold 2\n")
	c, _ := runSource(t, &FileFollower{Path: path, Poll: 10 * time.Millisecond})
	time.Sleep(50 * time.Millisecond) // past the initial seek to the end

	// Lines already there are skipped; a half-written line waits for its end.
	appendTo(t, path, "a\nb")
	c.waitFor(t, "a")
	appendTo(t, path, "c\n")
	c.waitFor(t, "a", "bc")

	// auditd's rotation: rename, the old file gets a last line, new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".1", "last of old\n")
	appendTo(t, path, "first of new\n")
	c.waitFor(t, "a", "bc", "last of old", "first of new")

	// copytruncate.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	appendTo(t, path, "after truncate\n")
	c.waitFor(t, "a", "bc", "last of old", "first of new", "after truncate")
}

func TestFileFollowerWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	c, _ := runSource(t, &FileFollower{Path: path, Poll: 10 * time.Millisecond})
	time.Sleep(30 * time.Millisecond)
	appendTo(t, path, "x\n")
	c.waitFor(t, "x")
}

func TestFileFollowerFromStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	appendTo(t, path, "one\ntwo\n")
	c, _ := runSource(t, &FileFollower{Path: path, FromStart: true, Poll: 10 * time.Millisecond})
	c.waitFor(t, "one", "two")
}

func TestFileFollowerUnreadable(t *testing.T) {
	dir := t.TempDir()
	err := (&FileFollower{Path: dir}).Run(context.Background(), func([]byte) {})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("following a directory: %v", err)
	}
}

func TestWithRotatedAndFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	for name, content := range map[string]string{
		"audit.log": "4\n", "audit.log.1": "3\n", "audit.log.2": "2\n", "audit.log.10": "1\n",
		"audit.log.gz": "no\n", "audit.log.0": "no\n", "audit.logx": "no\n",
	} {
		appendTo(t, filepath.Join(dir, name), content)
	}
	files, err := WithRotated(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := Files(files).Run(context.Background(), func(b []byte) { got = append(got, string(b)) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "1,2,3,4" {
		t.Fatalf("read %v from %v", got, files)
	}
	if err := (Files{filepath.Join(dir, "missing")}).Run(context.Background(), func([]byte) {}); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestKmsgFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kmsg")
	// A regular file returns many records per read; the device one.
	appendTo(t, path, "5,1,2,-;audit: type=1326 x\n SUBSYSTEM=y\n")
	var got []string
	if err := (&Kmsg{Path: path, FromStart: true}).Run(context.Background(), func(b []byte) { got = append(got, string(b)) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "5,1,2,-;audit: type=1326 x" {
		t.Fatalf("got %q", got)
	}
	if err := (&Kmsg{Path: filepath.Join(t.TempDir(), "none")}).Run(context.Background(), func([]byte) {}); err == nil {
		t.Fatal("missing device: no error")
	}
}

// The real device: one record per read, and cancellation ends a blocked
// read (the device is pollable, so closing it wakes the reader).
func TestKmsgDevice(t *testing.T) {
	if _, err := os.Stat("/dev/kmsg"); err != nil {
		t.Fatalf("no /dev/kmsg on this machine: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("reading /dev/kmsg needs root here; run the tests as root")
	}
	c, cancel := runSource(t, &Kmsg{FromStart: true})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.lines)
		var first string
		if n > 0 {
			first = c.lines[0]
		}
		c.mu.Unlock()
		if n > 0 {
			if strings.Contains(first, "\n") || !strings.Contains(first, ";") {
				t.Fatalf("not one kmsg record: %q", first)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing read from /dev/kmsg")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // now blocked waiting for new records
	cancel()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
	case <-time.After(3 * time.Second):
		t.Fatal("a blocked kmsg read was not ended by cancellation")
	}
}

func TestAuditdLog(t *testing.T) {
	proc := t.TempDir()
	if _, ok := AuditdLog(proc); ok {
		t.Fatal("found an auditd in an empty /proc")
	}
	conf := t.TempDir()
	appendTo(t, filepath.Join(conf, "auditd.conf"), "log_format = RAW\nlog_file = /var/tmp/a.log\n")
	for _, d := range []string{"12", "34"} {
		if err := os.MkdirAll(filepath.Join(proc, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	appendTo(t, filepath.Join(proc, "12", "comm"), "bash\n")
	appendTo(t, filepath.Join(proc, "34", "comm"), "auditd\n")
	appendTo(t, filepath.Join(proc, "34", "cmdline"), "auditd\x00-n\x00-c\x00"+conf+"\x00")
	if p, ok := AuditdLog(proc); !ok || p != "/var/tmp/a.log" {
		t.Fatalf("AuditdLog = %q, %v", p, ok)
	}
}

// The follower drops an overlong line whole and says where it was: a piece
// of it could otherwise read as a line of its own.
func TestFileFollowerSkipsOverlongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	rec := record.KernelLine(record.Record{Time: time.Unix(1795726941, 0), Serial: 1, PID: 1, Comm: "x", Exe: "/x", AuditArch: record.AuditArchX8664, Syscall: 83, Code: record.RetLog})
	// The tail of the long line is a record: it must not be emitted.
	appendTo(t, path, "first\n"+strings.Repeat("z", MaxLine+100)+rec+"\nlast\n")
	warnings := make(chan Warning, 4)
	f := &FileFollower{Path: path, FromStart: true, Poll: 10 * time.Millisecond, Warn: func(w Warning) { warnings <- w }}
	c, cancel := runSource(t, f)
	defer cancel()
	c.waitFor(t, "first", "last")
	select {
	case w := <-warnings:
		if w.String() != fmt.Sprintf("%s: line at offset 6 over the limit of %d bytes: skipped", path, MaxLine) {
			t.Fatalf("warning %s", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no warning for the overlong line")
	}
}

// Choose maps --audit-source to a source; a followed file reports what it
// skips through warn.
func TestChoose(t *testing.T) {
	if _, ok := Choose("kmsg", nil).(*Kmsg); !ok {
		t.Error("kmsg: not the kernel log")
	}
	if Choose("auto", nil) == nil {
		t.Error("auto: no source")
	}
	var got []Warning
	ff, ok := Choose("/var/log/audit/audit.log", func(w Warning) { got = append(got, w) }).(*FileFollower)
	if !ok || ff.Path != "/var/log/audit/audit.log" || ff.Warn == nil {
		t.Fatalf("file: %#v", ff)
	}
	ff.Warn(Warning{File: "f", Msg: "m"})
	if len(got) != 1 || got[0].Msg != "m" {
		t.Errorf("warn not wired: %v", got)
	}
}
