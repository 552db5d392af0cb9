package policy_test

import (
	"io/fs"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// TestShippedPolicies loads the default policy and every example with the
// real built-in profiles: what the project ships must pass its own loader.
func TestShippedPolicies(t *testing.T) {
	builtins := map[string]*specs.LinuxSeccomp{}
	for _, name := range policies.ProfileNames() {
		data, _ := policies.Profile(name)
		s, err := profile.Parse(data)
		if err != nil {
			t.Fatalf("built-in profile %s: %v", name, err)
		}
		builtins[name] = s
	}
	opts := policy.Options{Builtins: builtins}
	if _, err := policy.Parse(policies.DefaultPolicy, "default-policy.yaml", opts); err != nil {
		t.Errorf("default policy:\n%v", err)
	}
	names, err := fs.Glob(policies.Examples, "examples/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, name := range names {
		data, err := fs.ReadFile(policies.Examples, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Parse(data, name, opts); err != nil {
			t.Errorf("%s:\n%v", name, err)
		}
	}
}
