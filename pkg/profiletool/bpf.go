package profiletool

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNoBPF is returned where a BPF program is needed and this binary cannot
// compile one (built without cgo/libseccomp).
var ErrNoBPF = errors.New("BPF compilation unavailable")

// MaxBPFInstructions is the kernel's limit for one filter (BPF_MAXINSNS).
const MaxBPFInstructions = 4096

// BPFLen compiles s as runc would (libseccomp) and returns the number of
// instructions.
func BPFLen(s *specs.LinuxSeccomp) (int, error) {
	raw, err := compile(s)
	if err != nil {
		return 0, err
	}
	return len(raw), nil
}
