package profiletool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Formats Convert writes.
const (
	FormatOCI    = "oci"
	FormatDocker = "docker"
)

// DetectFormat reports whether data uses Docker/moby-only fields (archMap,
// includes/excludes, comment, the old single name); otherwise it is OCI.
// The profile is read by profile.Parse first, so its problems are reported
// the same way as everywhere else.
func DetectFormat(data []byte) (string, error) {
	if _, err := profile.Parse(data); err != nil {
		return "", err
	}
	var raw mobyseccomp.Seccomp
	if err := json.Unmarshal(data, &raw); err != nil { // exact: Parse accepted it
		return "", fmt.Errorf("%w: %w", profile.ErrInvalidProfile, err)
	}
	if len(raw.ArchMap) > 0 {
		return FormatDocker, nil
	}
	for _, sc := range raw.Syscalls {
		if sc != nil && (sc.Includes != nil || sc.Excludes != nil || sc.Comment != "" || sc.Name != "") {
			return FormatDocker, nil
		}
	}
	return FormatOCI, nil
}

// Convert writes the profile in data (either format) as to. Docker-format
// input is resolved the way containerd resolves it for a container with CRI's
// default capabilities on this machine (includes/excludes by capability,
// architecture and kernel), so the OCI result is what such a container gets;
// the Docker result of an OCI profile is the same rules with the native
// architecture's family as an archMap.
func Convert(data []byte, to string, native specs.Arch) ([]byte, error) {
	s, err := profile.Parse(data)
	if err != nil {
		return nil, err
	}
	var v any
	switch to {
	case FormatOCI:
		v = s
	case FormatDocker:
		v = toDocker(s, native)
	default:
		return nil, fmt.Errorf("%w: unknown format %q (oci or docker)", ErrUsage, to)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func toDocker(s *specs.LinuxSeccomp, native specs.Arch) *mobyseccomp.Seccomp {
	out := &mobyseccomp.Seccomp{LinuxSeccomp: *s}
	out.LinuxSeccomp.Syscalls = nil
	if len(s.Architectures) > 0 {
		// archMap groups sub-architectures under the main one, as Docker's
		// own default profile does; a list that is not one family stays a
		// plain architectures list.
		first := s.Architectures[0]
		family := profile.ArchFamily(first)
		if slices.Contains(s.Architectures, native) {
			first, family = native, profile.ArchFamily(native)
		}
		inFamily := true
		for _, a := range s.Architectures {
			inFamily = inFamily && slices.Contains(family, a)
		}
		if inFamily {
			out.Architectures = nil
			var subs []specs.Arch
			for _, a := range s.Architectures {
				if a != first {
					subs = append(subs, a)
				}
			}
			out.ArchMap = []mobyseccomp.Architecture{{Arch: first, SubArches: subs}}
		}
	}
	out.Syscalls = make([]*mobyseccomp.Syscall, 0, len(s.Syscalls))
	for _, sc := range s.Syscalls {
		out.Syscalls = append(out.Syscalls, &mobyseccomp.Syscall{LinuxSyscall: sc})
	}
	return out
}
