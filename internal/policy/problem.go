package policy

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidPolicy is matched (errors.Is) by every error Load and Parse return, so
// callers can tell "the policy is wrong" from programming errors without parsing
// messages.
var ErrInvalidPolicy = errors.New("invalid policy")

// Problem is one thing wrong with a policy, positioned so that a user can jump to
// it: File and Line always name the policy file (problems inside a referenced
// profile file point at the line that references it, and name the profile file in
// Field). Line is 0 only when there is no line to point at (an unreadable policy
// file, a YAML error without a position).
type Problem struct {
	File   string
	Line   int
	Column int // 0 when unknown
	// Field is the path of the offending value, e.g. "rules[2].match.namespaces[0]".
	Field   string
	Message string
	// Err is the underlying cause when there is one (e.g. *fs.PathError for a
	// missing profile file); LoadError.Unwrap exposes it to errors.Is/As.
	Err error
}

// String formats the problem as "file:line[:col]: field: message", the form editors
// and CI logs recognise.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// LoadError carries every problem found while loading a policy. Loading never
// stops at the first problem: a user fixes a whole policy in one edit, not one
// line per run.
type LoadError struct {
	Problems []Problem
}

// Error lists every problem, one per line.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalidPolicy) true.
func (e *LoadError) Is(target error) bool { return target == ErrInvalidPolicy }

// Unwrap exposes ErrInvalidPolicy and the underlying causes of individual
// problems, so that errors.Is(err, fs.ErrNotExist) works for a missing file.
func (e *LoadError) Unwrap() []error {
	errs := []error{ErrInvalidPolicy}
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}
