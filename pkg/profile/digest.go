package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Digest is a stable identifier of a seccomp section for logs and caches:
// "sha256:" and the hex SHA-256 of its JSON encoding (encoding/json writes struct
// fields in declaration order, so equal sections give equal digests). "" for nil.
func Digest(s *specs.LinuxSeccomp) string {
	if s == nil {
		return ""
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "" // cannot happen: the type has no unencodable fields
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Canonical rewrites a section in the canonical form nri-seccomp writes (syscalls
// grouped by verdict and sorted), with the same behaviour; notes say where the
// canonical form had to be stricter.
func Canonical(s *specs.LinuxSeccomp, native specs.Arch) (*specs.LinuxSeccomp, []string, error) {
	p, err := FromSpec(s, native)
	if err != nil {
		return nil, nil, err
	}
	out, notes := p.ToSpec(native)
	return out, append(p.Inexact, notes...), nil
}
