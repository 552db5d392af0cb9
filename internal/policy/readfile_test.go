package policy

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

func TestLoadStdin(t *testing.T) {
	const okRule = "- {name: ok, action: exempt}"
	testutil.Stdin(t, header+lines("rules:", okRule))
	pol, err := Load("-", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Rules) != 1 || pol.Rules[0].Name != "ok" {
		t.Fatalf("rules = %+v", pol.Rules)
	}

	testutil.Stdin(t, header+lines("rules:", "- {name: ok, action: exempt, bogus: 1}"))
	_, err = Load("-", testOpts)
	checkProblems(t, err, stdinName, []want{{4, "rules[0].bogus", `unknown field "bogus"`}})
}

// A FIFO, a device or a directory given as the policy is refused at once.
func TestLoadRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "policy.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A Load that blocked would hang until go test's timeout, which fails
	// with every goroutine's stack; no timer of our own to trip under load.
	for _, path := range []string{fifo, "/dev/zero"} {
		_, err := Load(path, testOpts)
		checkProblems(t, err, path, []want{{0, "", path + ": not a regular file: it is a"}})
		if !errors.Is(err, boundedio.ErrNotRegular) {
			t.Errorf("%s: errors.Is(err, ErrNotRegular) = false: %v", path, err)
		}
	}
}
