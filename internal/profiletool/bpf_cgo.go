//go:build cgo && linux

package profiletool

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
)

// compile builds the BPF runc would load for s, with libseccomp.
func compile(s *specs.LinuxSeccomp) ([]bpf.RawInstruction, error) {
	p, err := seccompbpf.Compile(s)
	if err != nil {
		return nil, err
	}
	return p.Raw, nil
}
