package e2e

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/policy"
	"github.com/nri-seccomp/nri-seccomp/pkg/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// TestScenarioPolicies loads every scenario policy with the project's own
// loader, without root or containerd, so a typo in testdata shows up in the
// unit tests rather than as a plugin that refuses to start in the e2e run.
// s11-bad.yaml is the one meant to be refused, at its misspelt key.
func TestScenarioPolicies(t *testing.T) {
	builtins := map[string]*specs.LinuxSeccomp{}
	for _, name := range []string{"runtime-default", "unconfined"} {
		data, ok := policies.Profile(name)
		if !ok {
			t.Fatalf("built-in profile %q missing", name)
		}
		p, err := profile.Parse(data)
		if err != nil {
			t.Fatalf("built-in profile %q: %v", name, err)
		}
		builtins[name] = p
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
