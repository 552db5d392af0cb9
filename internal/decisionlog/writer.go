package decisionlog

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends entries as JSON lines. It is safe for concurrent use:
// NRI serialises CreateContainer calls today, but nothing in the protocol
// promises that.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

// NewWriter writes entries to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Open opens (or creates) path for appending. Appending, rather
// than truncating, keeps the history across daemon restarts; rotation is left
// to logrotate with copytruncate.
func Open(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	return &Writer{w: f, c: f}, nil
}

// Write appends one entry. Each entry is written with a single Write call
// so that concurrent writers, and readers tailing the file, never see half a
// line.
func (l *Writer) Write(r Entry) error {
	if l == nil {
		return nil
	}
	buf := lineBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 {
			lineBufs.Put(buf)
		}
	}()
	*buf = append(r.appendJSON((*buf)[:0]), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(*buf); err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	return nil
}

// WriteStarted appends a started line, in a single Write call.
func (l *Writer) WriteStarted(v Started) error {
	if l == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("decision log: encoding record: %w", err)
	}
	data = append(data, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(data); err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	return nil
}

// Close closes the file opened by Open.
func (l *Writer) Close() error {
	if l == nil || l.c == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.Close()
}
