// Package source is where seccomp audit lines come from: a followed file
// (auditd's log), the kernel log (/dev/kmsg), a list of files read once
// (a report's input), and the choice among them; with the positions and
// warnings a reader reports about its input.
package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// Source produces raw log lines. fn's slice is only valid during the call.
type Source interface {
	// Run calls fn for every line until ctx is done (follow mode) or the
	// input ends, and returns nil then; other errors end it early.
	Run(ctx context.Context, fn func(line []byte)) error
	// String names the source for logs.
	String() string
}

// MaxLine bounds one line; longer ones are cut (audit records are < 8 KiB).
const MaxLine = 64 << 10

// FileFollower follows a log file like `tail -F`: from its end (or start),
// across rotation (the path names a new file: the old one is read to its end
// first, then the new one from its start) and truncation (copytruncate:
// read again from the start).
type FileFollower struct {
	Path string
	// FromStart reads the file's current content too.
	FromStart bool
	// Poll is how often the end of the file is checked; 250ms when 0.
	Poll time.Duration
	// Warn, when set, is told of every line skipped for being longer than
	// MaxLine: such a line is dropped whole, never passed on in pieces
	// (a piece could read as a record of its own).
	Warn func(Warning)
}

func (f *FileFollower) String() string { return "file " + f.Path }

// Run follows the file until ctx is done. A missing file is waited for.
func (f *FileFollower) Run(ctx context.Context, fn func([]byte)) error {
	poll := f.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	var (
		file    *os.File
		info    os.FileInfo
		offset  int64
		pending []byte
		// skipping: the line being read is over MaxLine; drop it to its
		// newline. skipFrom is its offset, for the warning.
		skipping bool
		skipFrom int64
		buf      = make([]byte, 32<<10)
	)
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	open := func(fromStart bool) error {
		nf, err := os.Open(f.Path)
		if err != nil {
			return err
		}
		st, err := nf.Stat()
		if err != nil {
			nf.Close()
			return err
		}
		offset = 0
		if !fromStart {
			if offset, err = nf.Seek(0, io.SeekEnd); err != nil {
				nf.Close()
				return err
			}
		}
		if file != nil {
			file.Close()
		}
		file, info, pending, skipping = nf, st, pending[:0], false
		return nil
	}
	emit := func(data []byte) {
		start := offset - int64(len(data)) - int64(len(pending)) // where pending begins
		pending = append(pending, data...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				if len(pending) > MaxLine {
					if !skipping {
						skipping, skipFrom = true, start
					}
					pending = pending[:0]
				}
				return
			}
			if !skipping && i > MaxLine {
				skipping, skipFrom = true, start
			}
			if skipping {
				if f.Warn != nil {
					f.Warn(Warning{File: f.Path, Msg: fmt.Sprintf("line at offset %d over the limit of %d bytes: skipped", skipFrom, MaxLine)})
				}
				skipping = false
			} else {
				fn(pending[:i])
			}
			pending = pending[i+1:]
			start += int64(i + 1)
		}
	}
	// drain reads what is there now; it reports whether anything was.
	drain := func() (bool, error) {
		got := false
		for {
			n, err := file.Read(buf)
			if n > 0 {
				got = true
				offset += int64(n)
				emit(buf[:n])
			}
			if errors.Is(err, io.EOF) || (err == nil && n == 0) {
				return got, nil
			}
			if err != nil {
				return got, fmt.Errorf("reading %s: %w", f.Path, err)
			}
		}
	}

	fromStart := f.FromStart
	for file == nil {
		err := open(fromStart)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("following %s: %w", f.Path, err)
		}
		fromStart = true // it appeared after we started: all of it is new
		if !sleep(ctx, poll) {
			return nil
		}
	}
	for {
		got, err := drain()
		if err != nil {
			return err
		}
		if got {
			continue
		}
		if !sleep(ctx, poll) {
			return nil
		}
		st, err := os.Stat(f.Path)
		switch {
		case err != nil:
			// Between rename and re-creation: keep reading the old one.
		case !os.SameFile(st, info):
			// Rotated: finish the old file, then start on the new.
			if _, err := drain(); err != nil {
				return err
			}
			if len(pending) > 0 && !skipping {
				fn(pending)
			}
			pending = pending[:0]
			if err := open(true); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("following %s: %w", f.Path, err)
			}
		case st.Size() < offset:
			// Truncated in place.
			if _, err := file.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("following %s: %w", f.Path, err)
			}
			offset, pending, skipping = 0, pending[:0], false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Files reads files in order, once, line by line: a report's input.
type Files []string

func (fs Files) String() string { return "files " + strings.Join(fs, ", ") }

// Run reads every file to its end, like Read, dropping the positions and
// the warnings.
func (fs Files) Run(ctx context.Context, fn func([]byte)) error {
	return fs.Read(ctx, func(_ Pos, line []byte) { fn(line) }, func(Warning) {})
}

// Read reads every file to its end, in order, calling fn with each line and
// where it is. What it skips goes to warn, and reading goes on: a line
// longer than MaxLine (with its number), and a file that is one read
// already (the same device and inode: a path given twice, a hard link,
// audit.log.1 and audit.log.01), which is read once. A file that cannot be
// opened or read is an error.
func (fs Files) Read(ctx context.Context, fn func(Pos, []byte), warn func(Warning)) error {
	var read []fileID
	for _, p := range fs {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		id, err := idOf(f, p)
		if err != nil {
			f.Close()
			return err
		}
		if i := slices.IndexFunc(read, func(r fileID) bool { return os.SameFile(r.info, id.info) }); i >= 0 {
			f.Close()
			warn(Warning{File: p, Msg: fmt.Sprintf("the same file as %s (device %d, inode %d): read once", printable.String(read[i].path), id.dev, id.ino)})
			continue
		}
		read = append(read, id)
		err = boundedio.ReadLines(ctx, f, MaxLine, func(n int, line []byte) { fn(Pos{p, n}, line) }, func(n int, size int64) {
			warn(Warning{File: p, Line: n, Msg: fmt.Sprintf("line of %d bytes, over the limit of %d: skipped", size, MaxLine)})
		})
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return nil
}

// fileID identifies an open file for Read's "read already" check.
type fileID struct {
	path     string
	info     os.FileInfo
	dev, ino uint64
}

func idOf(f *os.File, path string) (fileID, error) {
	st, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	id := fileID{path: path, info: st}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(sys.Dev), sys.Ino //nolint:unconvert // Dev is uint32 on some platforms
	}
	return id, nil
}

// WithRotated returns path's rotated siblings, oldest first, then path:
// auditd keeps audit.log.1 (newest) ... audit.log.N (oldest). Compressed
// ones (logrotate's .gz) are not read.
func WithRotated(path string) ([]string, error) {
	matches, err := filepath.Glob(path + ".*")
	if err != nil {
		return nil, err
	}
	type rotated struct {
		n    int
		path string
	}
	var rs []rotated
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, path+"."))
		if err == nil && n > 0 {
			rs = append(rs, rotated{n, m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	out := make([]string, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.path)
	}
	return append(out, path), nil
}

// Kmsg reads the kernel log device, where the kernel writes audit records
// while no auditd receives them. Each read returns one record: a
// "PRI,SEQ,USEC,FLAGS;message" line and continuation lines, which are
// dropped.
type Kmsg struct {
	// Path is /dev/kmsg unless set (tests).
	Path string
	// FromStart reads the records still in the kernel's buffer too.
	FromStart bool
}

func (k *Kmsg) String() string { return "kernel log " + k.path() }

func (k *Kmsg) path() string {
	if k.Path == "" {
		return "/dev/kmsg"
	}
	return k.Path
}

// Run reads records until ctx is done.
func (k *Kmsg) Run(ctx context.Context, fn func([]byte)) error {
	f, err := os.Open(k.path())
	if err != nil {
		return fmt.Errorf("kernel log: %w", err)
	}
	if !k.FromStart {
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return fmt.Errorf("kernel log: seek to end: %w", err)
		}
	}
	// /dev/kmsg is pollable, so Close unblocks a pending Read.
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer func() {
		if stop() {
			f.Close()
		}
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := f.Read(buf)
		switch {
		case err == nil:
			rec := buf[:n]
			if i := bytes.IndexByte(rec, '\n'); i >= 0 {
				rec = rec[:i]
			}
			fn(rec)
		case errors.Is(err, syscall.EPIPE):
			// The kernel overwrote records before we read them; the
			// next read continues with the oldest one left.
			continue
		case errors.Is(err, io.EOF) && k.Path != "":
			return nil // a regular file standing in for the device
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("kernel log: %w", err)
		}
	}
}

// AuditdLog finds a running auditd and the log file it writes: log_file from
// auditd.conf in its -c directory (auditd may run with a private config),
// else /etc/audit/auditd.conf, else the default path. ok is false when no
// auditd runs: the kernel then writes audit records to its log.
func AuditdLog(proc string) (path string, ok bool) {
	matches, _ := filepath.Glob(filepath.Join(proc, "[0-9]*", "comm"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || strings.TrimSpace(string(b)) != "auditd" {
			continue
		}
		confDir := "/etc/audit"
		if cmd, err := os.ReadFile(filepath.Join(filepath.Dir(m), "cmdline")); err == nil {
			args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
			for i := 0; i+1 < len(args); i++ {
				if args[i] == "-c" {
					confDir = args[i+1]
				}
			}
		}
		logFile := "/var/log/audit/audit.log"
		if conf, err := os.ReadFile(filepath.Join(confDir, "auditd.conf")); err == nil {
			for _, line := range strings.Split(string(conf), "\n") {
				k, v, ok := strings.Cut(line, "=")
				if ok && strings.TrimSpace(k) == "log_file" {
					logFile = strings.TrimSpace(v)
				}
			}
		}
		return logFile, true
	}
	return "", false
}

// DefaultSource follows auditd's log when an auditd runs, else the kernel log.
func DefaultSource() Source {
	if p, ok := AuditdLog("/proc"); ok {
		return &FileFollower{Path: p}
	}
	return &Kmsg{}
}

// Pos is where a line was read: a file and a line number from 1.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return printable.String(p.File)
	}
	return printable.String(p.File) + ":" + strconv.Itoa(p.Line)
}

// Warning is a problem with one input line, or one input file, that a
// reader skipped over to go on with the rest.
type Warning struct {
	File string `json:"file,omitempty"`
	// Line is 0 when the warning is about the whole file.
	Line int `json:"line,omitempty"`
	// Msg quotes what it shows of the input (%q), so it is safe to print.
	Msg string `json:"message"`
}

// String is "file:line: message", safe to print: the message quotes the
// input it shows (%q), and anything else that does not print (a report read
// back from JSON, a library's error) is escaped here.
func (w Warning) String() string {
	msg := printable.Escape(w.Msg)
	if w.File == "" && w.Line == 0 {
		return msg
	}
	return Pos{w.File, w.Line}.String() + ": " + msg
}

// Choose returns the source `run --audit-source` names (not empty): "auto"
// (DefaultSource), "kmsg" (the kernel log), or a file to follow. warn gets
// each line a followed file skips for being over MaxLine.
func Choose(name string, warn func(Warning)) Source {
	var src Source
	switch name {
	case "auto":
		src = DefaultSource()
	case "kmsg":
		src = &Kmsg{}
	default:
		src = &FileFollower{Path: name}
	}
	if ff, ok := src.(*FileFollower); ok {
		ff.Warn = warn
	}
	return src
}
