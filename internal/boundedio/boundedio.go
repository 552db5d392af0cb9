// Package boundedio reads the files a user names on the command line or in a
// policy: only regular files, never more than a stated size, and without
// blocking on a FIFO or a device. A mistaken path (/dev/zero, a log file, a
// named pipe nobody writes to) must end in a clear error, not in an
// out-of-memory crash or a hang.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size caps. Seccomp profiles and policies are a few kilobytes; containerd's
// default profile is about 20 KB. The caps leave two orders of magnitude of
// room and still keep a wrong path from exhausting memory.
const (
	MaxProfileSize = 4 << 20 // one seccomp profile (JSON)
	MaxPolicySize  = 4 << 20 // one policy file (YAML)
)

// Stdin is the path that means "standard input" where a command takes a
// profile or policy file.
const Stdin = "-"

// Sentinels, so callers can tell the cases apart.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("file too large")
)

// stdin is a seam for tests; it reads os.Stdin when called, so a test that
// replaces os.Stdin is honoured too.
var stdin = func() io.Reader { return os.Stdin }

// ReadFile returns the contents of path, a regular file of at most limit
// bytes; "-" reads standard input (also at most limit bytes). Read the file
// once and pass the bytes along: /dev/stdin cannot be read twice.
func ReadFile(path string, limit int64) ([]byte, error) {
	if path == Stdin {
		return ReadAll("standard input", stdin(), limit)
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A file already past the limit is refused unread; ReadAll below still
	// stops one that grows while it is read.
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%s: %w: larger than the %s limit", path, ErrTooLarge, size(limit))
	}
	return ReadAll(path, f, limit)
}

// ReadAll reads r to the end, failing with ErrTooLarge past limit bytes. It
// reads one byte more than the limit, so a file of exactly limit bytes passes
// and anything larger is detected without reading the rest.
func ReadAll(name string, r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than the %s limit", name, ErrTooLarge, size(limit))
	}
	return data, nil
}

// Open opens path for reading if it is a regular file (symbolic links are
// followed). It opens with O_NONBLOCK, because opening a FIFO for reading
// otherwise blocks until a writer appears, and checks the type on the opened
// descriptor, so the file cannot be swapped between a check and the open. On
// a regular file O_NONBLOCK changes nothing.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(path, st.Mode())
	}
	return f, nil
}

func notRegular(path string, m fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	}
	hint := ""
	switch path {
	case "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0":
		hint = `; use "-" to read standard input`
	}
	return fmt.Errorf("%s: %w: it is %s%s", path, ErrNotRegular, kind, hint)
}

// size formats a cap for messages: "4 MiB", "512 KiB" or "100 bytes".
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// OpenLimited opens a regular file of at most limit bytes for a streaming
// reader (a log read line by line). A file that grows past the limit while
// being read is cut there: reading stops at limit bytes.
func OpenLimited(path string, limit int64) (io.ReadCloser, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > limit {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes, over the %s limit", path, ErrTooLarge, st.Size(), size(limit))
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, limit), f}, nil
}
