package boundedio

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exact := write("exact", 100)
	over := write("over", 101)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(exact, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		wantLen    int
		wantErr    error
		wantMsg    string
	}{
		{"exactly the limit", exact, 100, nil, ""},
		{"symlink to a regular file", link, 100, nil, ""},
		{"one byte over", over, 0, ErrTooLarge, over + ": file too large: larger than the 100 bytes limit"},
		{"directory", dir, 0, ErrNotRegular, dir + ": not a regular file: it is a directory"},
		{"FIFO without a writer", fifo, 0, ErrNotRegular, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"endless device", "/dev/zero", 0, ErrNotRegular, "/dev/zero: not a regular file: it is a character device"},
		{"missing", filepath.Join(dir, "nope"), 0, fs.ErrNotExist, "open " + filepath.Join(dir, "nope") + ": no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A ReadFile that blocked would hang until go test's timeout,
			// which fails with every goroutine's stack.
			var r struct {
				b   []byte
				err error
			}
			r.b, r.err = ReadFile(tc.path, 100)
			if tc.wantErr == nil {
				if r.err != nil || len(r.b) != tc.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(r.b), r.err, tc.wantLen)
				}
				return
			}
			if !errors.Is(r.err, tc.wantErr) || r.err.Error() != tc.wantMsg {
				t.Fatalf("got %v; want %q (%v)", r.err, tc.wantMsg, tc.wantErr)
			}
		})
	}
}

func TestReadStdin(t *testing.T) {
	old := stdin
	t.Cleanup(func() { stdin = old })
	for _, tc := range []struct {
		in, want, wantErr string
	}{
		{"hello", "hello", ""},
		{strings.Repeat("y", 11), "", "standard input: file too large: larger than the 10 bytes limit"},
	} {
		r := strings.NewReader(tc.in)
		stdin = func() io.Reader { return r }
		b, err := ReadFile("-", 10)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrTooLarge) {
				t.Errorf("got %v; want %q", err, tc.wantErr)
			}
			continue
		}
		if err != nil || string(b) != tc.want {
			t.Errorf("got %q, %v; want %q", b, err, tc.want)
		}
	}
}

func TestNotRegularHintsAtStdin(t *testing.T) {
	err := notRegular("/dev/stdin", fs.ModeNamedPipe)
	want := `/dev/stdin: not a regular file: it is a named pipe (FIFO); use "-" to read standard input`
	if err.Error() != want {
		t.Fatalf("got %q; want %q", err, want)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{4 << 20: "4 MiB", 512 << 10: "512 KiB", 100: "100 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestOpenLimited(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenLimited(p, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("got %q, %v", b, err)
	}
	_, err = OpenLimited(p, 9)
	if want := p + ": file too large: 10 bytes, over the 9 bytes limit"; err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v; want %q", err, want)
	}
	if _, err := OpenLimited("/dev/zero", 9); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("/dev/zero: %v", err)
	}
}
