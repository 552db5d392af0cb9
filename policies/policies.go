// Package policies embeds what nri-seccomp ships besides code: the built-in
// seccomp profiles that policies refer to by name, the default policy, and
// example policies.
//
// profiles/runtime-default.json is generated from containerd's own code (see
// hack/genruntimedefault), so "runtime-default" means exactly what containerd
// 2.4.2 applies to a RuntimeDefault pod on amd64 with CRI's default
// capabilities; hack/verify-generated.sh fails CI when it drifts.
package policies

//go:generate go -C ../hack/genruntimedefault run . -o ../../policies/profiles/runtime-default.json
//go:generate go run ../hack/genprofiles -dir profiles

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed profiles/*.json
var profiles embed.FS

// Examples holds the example policies, as examples/<name>.yaml.
//
//go:embed examples/*.yaml
var Examples embed.FS

// DefaultPolicy is default-policy.yaml, the policy the daemon is deployed
// with.
//
//go:embed default-policy.yaml
var DefaultPolicy []byte

// Profile returns the JSON (OCI LinuxSeccomp) of the built-in profile name,
// false if there is none. The slice is a fresh copy the caller may modify.
func Profile(name string) ([]byte, bool) {
	// Reject path syntax so that "../x" or "profiles/x" cannot reach
	// anything but a profile file.
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	b, err := profiles.ReadFile(path.Join("profiles", name+".json"))
	if err != nil {
		return nil, false
	}
	return b, true
}

// ProfileNames returns the names of the built-in profiles, sorted.
func ProfileNames() []string {
	entries, err := fs.ReadDir(profiles, "profiles")
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		panic("policies: embedded profiles directory: " + err.Error())
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
