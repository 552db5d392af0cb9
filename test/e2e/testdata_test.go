package e2e

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
)

// TestScenarioPolicies loads every scenario policy with the project's own
// loader, without root or containerd, so a typo in testdata shows up in the
// unit tests rather than as a plugin that refuses to start in the e2e run.
// s11-bad.yaml is the one meant to be refused, at its misspelt key.
func TestScenarioPolicies(t *testing.T) {
	// Every shipped profile, as the daemon loads them: a scenario naming
	// hardened or minimal is checked too.
	builtins, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/s*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario policies (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := policy.Load(f, policy.Options{Builtins: builtins})
			if filepath.Base(f) != "s11-bad.yaml" {
				if err != nil {
					t.Fatalf("%v", err)
				}
				return
			}
			if !errors.Is(err, policy.ErrInvalidPolicy) || !strings.Contains(err.Error(), "s11-bad.yaml:8") {
				t.Fatalf("want an invalid-policy error at s11-bad.yaml:8, got %v", err)
			}
		})
	}
}
