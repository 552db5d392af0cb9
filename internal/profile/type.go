package profile

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Type is the seccomp profile type the runtime reports for a container, as
// Kubernetes names it.
type Type string

// Profile types. TypeNone is a type the runtime did not report; it reads as
// TypeUnconfined.
const (
	TypeNone           Type = ""
	TypeUnconfined     Type = "Unconfined"
	TypeRuntimeDefault Type = "RuntimeDefault"
	TypeLocalhost      Type = "Localhost"
)

// Types are the profile types a policy or `explain` may name, in the order
// messages list them.
var Types = []Type{TypeUnconfined, TypeRuntimeDefault, TypeLocalhost}

// Normal is t with TypeNone read as TypeUnconfined.
func (t Type) Normal() Type {
	if t == TypeNone {
		return TypeUnconfined
	}
	return t
}

// TypeOf is the type of a container whose seccomp section is s and whose
// runtime reported type reported: a container without a section has no
// seccomp at all, so it is TypeUnconfined whatever was reported (NRI's enum
// reads RUNTIME_DEFAULT as its zero value). The one place that rule lives.
func TypeOf(s *specs.LinuxSeccomp, reported Type) Type {
	if s == nil {
		return TypeUnconfined
	}
	return reported.Normal()
}

// TypeNames are Types as strings.
func TypeNames() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = string(t)
	}
	return out
}
