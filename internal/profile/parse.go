package profile

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/suggest"
)

// ErrInvalidProfile is wrapped by every error that reports a bad profile.
var ErrInvalidProfile = errors.New("invalid seccomp profile")

// Problem is one thing wrong with a profile. Field is a JSON path into the
// profile, e.g. "syscalls[3].names[1]"; Line is where it is written, 0 when
// unknown (a required key that is missing everywhere).
type Problem struct {
	Field   string
	Line    int
	Message string
	Kind    Kind
}

// Kind sorts problems for tools that treat them differently (lint reports
// unknown syscalls and goes on checking the rest).
type Kind int

// Kinds of problem.
const (
	// KindInvalid is a value that is wrong: an unknown action, an errno out
	// of range.
	KindInvalid Kind = iota
	// KindDecode is text that is not a profile's JSON: a syntax error, a
	// duplicate, case-variant or unknown key, a wrong type, trailing data.
	KindDecode
	// KindUnknownSyscall is a syscall name libseccomp does not know.
	KindUnknownSyscall
)

// String is "line N: field: message", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in a profile, so a user fixes them all
// in one go rather than one per run.
type ValidationError struct {
	Source   string // file name or other origin; may be empty
	Problems []Problem
}

// Error is one problem a line, "file:line: field: message", the way
// compilers write it so editors can jump there.
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Source == "" {
			b.WriteString(p.String())
			continue
		}
		b.WriteString(e.Source)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
		b.WriteString(Problem{Field: p.Field, Message: p.Message}.String()) // the line is written above
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidProfile) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidProfile }

// DefaultCapabilities is the capability set containerd's CRI plugin gives a
// container that asks for nothing else. Docker/moby-format profiles select
// capability-dependent rules ("includes": {"caps": ...}) against it, so a profile
// resolves to what an ordinary container would get from the same file.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// MaxSize is the largest profile read, from a file or standard input.
const MaxSize = boundedio.MaxProfileSize

// ReadFile reads a profile's bytes, bounded, refusing FIFOs, devices and
// directories without blocking; "-" reads standard input. Callers that need
// the bytes as well as the profile read once with this and call ParseNamed:
// standard input (or /dev/stdin) cannot be read twice.
func ReadFile(path string) ([]byte, error) {
	data, err := boundedio.ReadFile(path, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProfile, err)
	}
	return data, nil
}

// LoadFile reads and parses a profile file ("-": standard input); problems
// name the file.
func LoadFile(path string) (*specs.LinuxSeccomp, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseNamed(path, data)
}

// ParseNamed is Parse with problems naming source, the file the data came
// from ("-" is written "standard input").
func ParseNamed(source string, data []byte) (*specs.LinuxSeccomp, error) {
	s, err := Parse(data)
	if err != nil {
		return nil, WithSource(err, source)
	}
	return s, nil
}

// WithSource makes the problems of a Parse error name source, the file the
// data came from ("-" is written "standard input").
func WithSource(err error, source string) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.Source = SourceName(source)
		return err
	}
	return fmt.Errorf("%s: %w", SourceName(source), err)
}

// SourceName is how messages name a profile path: "-" is standard input.
func SourceName(path string) string {
	if path == boundedio.Stdin {
		return "standard input"
	}
	return path
}

// Parse decodes an OCI LinuxSeccomp or a Docker/moby-format profile (archMap,
// includes/excludes) and validates every name in it. It is the one reader of
// profiles: the daemon, check, explain, lint, show, convert, diff and test all
// read through it, so no input passes one and fails another.
//
// The profile must be exactly what it reads as: duplicate keys, keys differing
// only in case (Go's decoder would silently take one), unknown keys, unknown
// names of any kind (syscall, action, architecture, capability, flag,
// operator), errno values outside 1-4095, empty name lists and data after the
// object are errors, each with its line and field.
func Parse(data []byte) (*specs.LinuxSeccomp, error) {
	raw, pos, probs := decodeStrict(data)
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	if probs := checkRaw(raw); len(probs) > 0 {
		for i := range probs {
			probs[i].Line = pos.lineOf(probs[i].Field)
		}
		// Reading order; problems without a line (a missing key) first.
		slices.SortStableFunc(probs, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil, &ValidationError{Problems: probs}
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCapabilities}}}
	s, err := mobyseccomp.LoadProfile(string(data), spec)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: err.Error()}}}
	}
	if s == nil {
		return nil, &ValidationError{Problems: []Problem{{Field: "defaultAction", Message: "is required"}}}
	}
	// checkRaw validated every rule as written; this catches anything that
	// resolving includes/excludes and archMap could still get wrong. Rules
	// are renumbered by then, so only top-level fields get a line.
	if err := Validate(s); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for i, p := range ve.Problems {
				if !strings.HasPrefix(p.Field, "syscalls") {
					ve.Problems[i].Line = pos.lineOf(p.Field)
				}
			}
		}
		return nil, err
	}
	return s, nil
}

// checkRaw validates a profile as written, before moby resolves
// includes/excludes: a mistake in a rule that does not apply on this machine
// is still a mistake, and field paths count the rules in the file.
func checkRaw(raw *mobyseccomp.Seccomp) []Problem {
	probs := checkDocker(raw)
	asWritten := raw.LinuxSeccomp
	asWritten.Syscalls = make([]specs.LinuxSyscall, 0, len(raw.Syscalls))
	usesName := map[string]string{} // "syscalls[i].names[0]" -> "syscalls[i].name"
	for i, sc := range raw.Syscalls {
		if sc == nil {
			probs = append(probs, Problem{Field: fmt.Sprintf("syscalls[%d]", i), Message: "null entry"})
			// A stand-in keeps the indexes of later rules right.
			asWritten.Syscalls = append(asWritten.Syscalls, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow})
			continue
		}
		ls := sc.LinuxSyscall
		if sc.Name != "" && len(sc.Names) == 0 {
			ls.Names = []string{sc.Name}
			f := fmt.Sprintf("syscalls[%d].name", i)
			usesName[fmt.Sprintf("syscalls[%d].names[0]", i)] = f
		}
		asWritten.Syscalls = append(asWritten.Syscalls, ls)
	}
	if len(raw.ArchMap) > 0 {
		asWritten.Architectures = nil // checked by checkDocker; moby refuses both
	}
	var ve *ValidationError
	if err := Validate(&asWritten); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			if f, ok := usesName[p.Field]; ok {
				p.Field = f
			}
			probs = append(probs, p)
		}
	}
	return probs
}

// Validate checks every field of an OCI seccomp section: actions, errno values,
// architectures, flags, operators, argument indexes and syscall names.
func Validate(s *specs.LinuxSeccomp) error {
	if s == nil {
		return nil
	}
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if s.DefaultAction == "" {
		add("defaultAction", "is required")
	} else if _, ok := levelOf[s.DefaultAction]; !ok {
		add("defaultAction", "unknown action %q%s", s.DefaultAction, suggestAction(s.DefaultAction))
	} else if s.DefaultErrnoRet != nil && s.DefaultAction != specs.ActErrno && s.DefaultAction != specs.ActTrace {
		add("defaultErrnoRet", "is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", s.DefaultAction)
	} else if msg := errnoProblem(s.DefaultErrnoRet); msg != "" {
		add("defaultErrnoRet", "%s", msg)
	}
	for i, a := range s.Architectures {
		if !knownArches[a] {
			add(fmt.Sprintf("architectures[%d]", i), "unknown architecture %q", a)
		}
	}
	for i, f := range s.Flags {
		if !knownFlags[f] {
			add(fmt.Sprintf("flags[%d]", i), "unknown flag %q", f)
		}
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		add("listenerMetadata", "is set but listenerPath is not")
	}
	notify := s.DefaultAction == specs.ActNotify
	for i, sc := range s.Syscalls {
		// Formatted only for a problem: a valid RuntimeDefault has hundreds
		// of names, and this runs on every container's section.
		field := func() string { return "syscalls[" + strconv.Itoa(i) + "]" }
		if len(sc.Names) == 0 {
			add(field()+".names", "is empty")
		}
		for j, n := range sc.Names {
			if !syscallKnown(n) {
				probs = append(probs, Problem{Field: fmt.Sprintf("%s.names[%d]", field(), j), Message: unknownSyscall(n), Kind: KindUnknownSyscall})
			}
		}
		if _, ok := levelOf[sc.Action]; !ok {
			add(field()+".action", "unknown action %q%s", sc.Action, suggestAction(sc.Action))
		} else if sc.ErrnoRet != nil && sc.Action != specs.ActErrno && sc.Action != specs.ActTrace {
			add(field()+".errnoRet", "is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", sc.Action)
		} else if msg := errnoProblem(sc.ErrnoRet); msg != "" {
			add(field()+".errnoRet", "%s", msg)
		}
		notify = notify || sc.Action == specs.ActNotify
		for j, a := range sc.Args {
			af := func() string { return field() + ".args[" + strconv.Itoa(j) + "]" }
			if a.Index > 5 {
				add(af()+".index", "%d is out of range (a syscall has 6 arguments, 0-5)", a.Index)
			}
			if !knownOps[a.Op] {
				add(af()+".op", "unknown operator %q", a.Op)
			}
		}
	}
	if notify && s.ListenerPath == "" {
		add("listenerPath", "SCMP_ACT_NOTIFY needs a listenerPath")
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// MaxErrno is the largest value the kernel treats as an error return
// (MAX_ERRNO in include/linux/err.h); the policy loader accepts the same range.
const MaxErrno = 4095

// errnoProblem explains an errnoRet outside 1..MaxErrno ("" when fine). Zero
// makes a refused call, a setuid say, look successful without running it.
func errnoProblem(ret *uint) string {
	switch {
	case ret == nil:
		return ""
	case *ret == 0:
		return "0 makes the refused call appear to succeed; use an errno in 1-4095 (1 is EPERM)"
	case *ret > MaxErrno:
		return fmt.Sprintf("%d is out of range (1-%d): a larger value does not read as an error", *ret, MaxErrno)
	}
	return ""
}

func unknownSyscall(n string) string {
	msg := fmt.Sprintf("unknown syscall %q", n)
	if s := syscallSuggest(n); s != "" {
		msg += suggest.Hint(s)
	}
	return msg
}

func suggestAction(a specs.LinuxSeccompAction) string {
	up := specs.LinuxSeccompAction(strings.ToUpper(string(a)))
	if _, ok := levelOf[up]; ok && up != a {
		return suggest.Hint(string(up))
	}
	if _, ok := levelOf["SCMP_ACT_"+up]; ok {
		return suggest.Hint(string("SCMP_ACT_" + up))
	}
	names := make([]string, 0, len(levelOf))
	for k := range levelOf {
		names = append(names, string(k))
	}
	slices.Sort(names) // ties resolve the same way every run
	return suggest.DidYouMean(string(a), names)
}

// Native is the architecture this binary runs on; profiles with an empty
// architecture list mean it (libseccomp always includes the native architecture).
var Native = NativeArch(runtime.GOARCH)
