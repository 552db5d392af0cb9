package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrInvalidProfile is wrapped by every error that reports a bad profile.
var ErrInvalidProfile = errors.New("invalid seccomp profile")

// Problem is one thing wrong with a profile. Field is a JSON path into the
// profile, e.g. "syscalls[3].names[1]".
type Problem struct {
	Field   string
	Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// ValidationError lists every problem found in a profile, so a user fixes them all
// in one go rather than one per run.
type ValidationError struct {
	Source   string // file name or other origin; may be empty
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Source != "" {
			b.WriteString(e.Source)
			b.WriteString(": ")
		}
		b.WriteString(p.String())
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

// LoadFile reads and parses a profile file; problems name the file.
func LoadFile(path string) (*specs.LinuxSeccomp, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProfile, err)
	}
	s, err := Parse(data)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.Source = path
			return nil, ve
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes an OCI LinuxSeccomp or a Docker/moby-format profile (archMap,
// includes/excludes) and validates every name in it. Unknown keys are errors: in a
// security profile a misspelt key must not silently drop a rule.
func Parse(data []byte) (*specs.LinuxSeccomp, error) {
	var raw mobyseccomp.Seccomp
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: jsonMessage(data, err)}}}
	}
	if dec.More() {
		return nil, &ValidationError{Problems: []Problem{{Message: "trailing data after the profile object"}}}
	}
	var probs []Problem
	for i, sc := range raw.Syscalls {
		if sc == nil {
			probs = append(probs, Problem{fmt.Sprintf("syscalls[%d]", i), "null entry"})
			continue
		}
		// Names are validated before moby resolves includes/excludes, so a typo in
		// a rule that does not apply on this machine is still reported.
		names := sc.Names
		if sc.Name != "" {
			names = append([]string{sc.Name}, names...)
		}
		for j, n := range names {
			if !syscallKnown(n) {
				probs = append(probs, Problem{fmt.Sprintf("syscalls[%d].names[%d]", i, j), unknownSyscall(n)})
			}
		}
	}
	if raw.DefaultAction == "" {
		probs = append(probs, Problem{"defaultAction", "is required"})
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCapabilities}}}
	s, err := mobyseccomp.LoadProfile(string(data), spec)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: err.Error()}}}
	}
	if s == nil {
		return nil, &ValidationError{Problems: []Problem{{"defaultAction", "is required"}}}
	}
	if err := Validate(s); err != nil {
		return nil, err
	}
	return s, nil
}

// jsonMessage turns a decoding error into "line N: message".
func jsonMessage(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if off >= 0 {
		line := 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n"))
		return fmt.Sprintf("line %d: %s", line, msg)
	}
	return msg
}

// Validate checks every field of an OCI seccomp section: actions, errno values,
// architectures, flags, operators, argument indexes and syscall names.
func Validate(s *specs.LinuxSeccomp) error {
	if s == nil {
		return nil
	}
	var probs []Problem
	add := func(field, format string, args ...any) {
		probs = append(probs, Problem{field, fmt.Sprintf(format, args...)})
	}
	if _, ok := levelOf[s.DefaultAction]; !ok {
		add("defaultAction", "unknown action %q%s", s.DefaultAction, suggestAction(s.DefaultAction))
	} else if s.DefaultErrnoRet != nil && s.DefaultAction != specs.ActErrno && s.DefaultAction != specs.ActTrace {
		add("defaultErrnoRet", "is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", s.DefaultAction)
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
		field := fmt.Sprintf("syscalls[%d]", i)
		if len(sc.Names) == 0 {
			add(field+".names", "is empty")
		}
		for j, n := range sc.Names {
			if !syscallKnown(n) {
				add(fmt.Sprintf("%s.names[%d]", field, j), "%s", unknownSyscall(n))
			}
		}
		if _, ok := levelOf[sc.Action]; !ok {
			add(field+".action", "unknown action %q%s", sc.Action, suggestAction(sc.Action))
		} else if sc.ErrnoRet != nil && sc.Action != specs.ActErrno && sc.Action != specs.ActTrace {
			add(field+".errnoRet", "is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", sc.Action)
		}
		notify = notify || sc.Action == specs.ActNotify
		for j, a := range sc.Args {
			af := fmt.Sprintf("%s.args[%d]", field, j)
			if a.Index > 5 {
				add(af+".index", "%d is out of range (a syscall has 6 arguments, 0-5)", a.Index)
			}
			if !knownOps[a.Op] {
				add(af+".op", "unknown operator %q", a.Op)
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

func unknownSyscall(n string) string {
	msg := fmt.Sprintf("unknown syscall %q", n)
	if s := syscallSuggest(n); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

func suggestAction(a specs.LinuxSeccompAction) string {
	up := specs.LinuxSeccompAction(strings.ToUpper(string(a)))
	if _, ok := levelOf[up]; ok && up != a {
		return fmt.Sprintf(" (did you mean %q?)", up)
	}
	if _, ok := levelOf["SCMP_ACT_"+up]; ok {
		return fmt.Sprintf(" (did you mean %q?)", "SCMP_ACT_"+up)
	}
	return ""
}

// Native is the architecture this binary runs on; profiles with an empty
// architecture list mean it (libseccomp always includes the native architecture).
var Native = NativeArch(runtime.GOARCH)
