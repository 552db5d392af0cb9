//go:build !(cgo && linux)

package profiletool

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// compile needs libseccomp through cgo; this binary was built without it.
func compile(*specs.LinuxSeccomp) ([]bpf.RawInstruction, error) {
	return nil, fmt.Errorf("%w: built without cgo; rebuild with CGO_ENABLED=1 and libseccomp-dev", ErrNoBPF)
}
