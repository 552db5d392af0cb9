package profile

import "github.com/nri-seccomp/nri-seccomp/pkg/syscalls"

// Seams to the generated syscall tables, so every name in a profile is checked
// against the syscalls libseccomp knows on some architecture.
var (
	syscallKnown   = syscalls.Known
	syscallSuggest = syscalls.Suggest
)
