// Package profiletool holds the logic of `nri-seccomp profile`: showing,
// comparing, linting, converting and test-running seccomp profiles. The
// algebra itself (reading a profile as runc loads it, intersection) lives in
// internal/profile; this package only reads and reports on it.
package profiletool

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// ErrUsage marks errors in what the caller asked for (an unknown profile name,
// a bad architecture), as opposed to a profile that is wrong.
var ErrUsage = errors.New("usage")

// Source is a loaded profile and where it came from.
type Source struct {
	// Name is the built-in name or the file path as given.
	Name    string
	Builtin bool
	Raw     []byte
	Spec    *specs.LinuxSeccomp
}

// Load resolves ref as a built-in profile name (policies.ProfileNames) or,
// failing that, a file ("-": standard input). A path that names no file and
// no built-in profile is reported with the list of built-in names. The file
// is read once, bounded (profile.ReadFile), and parsed by the one reader.
func Load(ref string) (*Source, error) {
	if b, ok := policies.Profile(ref); ok {
		s, err := profile.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("built-in profile %s: %w", ref, err)
		}
		return &Source{Name: ref, Builtin: true, Raw: b, Spec: s}, nil
	}
	b, err := ReadProfile(ref)
	if err != nil {
		return nil, err
	}
	s, err := profile.ParseNamed(ref, b)
	if err != nil {
		return nil, err
	}
	return &Source{Name: profile.SourceName(ref), Raw: b, Spec: s}, nil
}

// ReadProfile returns the bytes of a built-in profile or of a file ("-":
// standard input), read once and bounded, without validating them: lint
// reports the problems itself.
func ReadProfile(ref string) ([]byte, error) {
	if b, ok := policies.Profile(ref); ok {
		return b, nil
	}
	b, err := profile.ReadFile(ref)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(ref, `/.`) && ref != "-" {
			return nil, fmt.Errorf("%w: %q is neither a built-in profile (%s) nor a file", ErrUsage, ref, strings.Join(policies.ProfileNames(), ", "))
		}
		return nil, err
	}
	return b, nil
}

// ParseArch accepts "x86_64", "SCMP_ARCH_X86_64", "amd64" and the like and
// returns the OCI token, for an architecture the syscall tables know.
func ParseArch(s string) (specs.Arch, error) {
	up := strings.ToUpper(s)
	aliases := map[string]string{"AMD64": "X86_64", "I386": "X86", "386": "X86", "ARM64": "AARCH64"}
	if a, ok := aliases[up]; ok {
		up = a
	}
	if !strings.HasPrefix(up, "SCMP_ARCH_") {
		up = "SCMP_ARCH_" + up
	}
	for _, a := range syscalls.Arches() {
		if a == up {
			return specs.Arch(a), nil
		}
	}
	var short []string
	for _, a := range syscalls.Arches() {
		short = append(short, strings.ToLower(strings.TrimPrefix(a, "SCMP_ARCH_")))
	}
	return "", fmt.Errorf("%w: unknown architecture %q (known: %s)", ErrUsage, s, strings.Join(short, ", "))
}

// BuiltinNames lists the built-in profiles policies can name.
func BuiltinNames() []string { return policies.ProfileNames() }

// Builtin returns the JSON of a built-in profile.
func Builtin(name string) ([]byte, bool) { return policies.Profile(name) }
