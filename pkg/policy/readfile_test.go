package policy

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// withStdin makes os.Stdin read content for the test.
func withStdin(t *testing.T, content string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
}

func TestLoadStdin(t *testing.T) {
	const okRule = "- {name: ok, action: exempt}"
	withStdin(t, header+lines("rules:", okRule))
	pol, err := Load("-", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Rules) != 1 || pol.Rules[0].Name != "ok" {
		t.Fatalf("rules = %+v", pol.Rules)
	}

	withStdin(t, header+lines("rules:", "- {name: ok, action: exempt, bogus: 1}"))
	_, err = Load("-", testOpts)
	checkProblems(t, err, stdinName, []want{{4, "rules[0].bogus", `unknown field "bogus"`}})
}

// A FIFO, a device or a directory given as the policy is refused at once.
func TestLoadRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "policy.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path, testOpts); done <- err }()
		select {
		case err := <-done:
			checkProblems(t, err, path, []want{{0, "", path + ": not a regular file: it is a"}})
			if !errors.Is(err, boundedio.ErrNotRegular) {
				t.Errorf("%s: errors.Is(err, ErrNotRegular) = false: %v", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load blocked", path)
		}
	}
}
