package profiletool

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// Severity of a lint finding.
type Severity string

// Severities, from worst.
const (
	SevError   Severity = "error"   // the profile is wrong or cannot work
	SevWarning Severity = "warning" // probably not what was meant
	SevInfo    Severity = "info"    // worth knowing
)

// Lint check names, stable for scripts and tests.
const (
	CheckParse       = "parse"
	CheckInvalid     = "invalid"
	CheckUnknown     = "unknown-syscall"
	CheckNotOnArch   = "not-on-arch"
	CheckDuplicate   = "duplicate-rule"
	CheckShadowed    = "shadowed-rule"
	CheckConflict    = "conflicting-rules"
	CheckRedundant   = "redundant-rule"
	CheckNeverMatch  = "never-matches"
	CheckAlwaysTrue  = "always-true"
	CheckAmbiguous   = "ambiguous"
	CheckMissingArch = "missing-arch"
	CheckKillThread  = "kill-thread"
	CheckRunc        = "runc-start"
	CheckFlags       = "flags-runc"
	CheckErrnoRet    = "default-errno-dropped"
	CheckBPFSize     = "bpf-size"
)

// Finding is one lint result.
type Finding struct {
	Severity Severity
	Check    string
	Field    string // JSON path, e.g. syscalls[3].names[1]; may be empty
	Message  string
	Line     int // in the profile's text; 0 when the finding has no one place
}

func (f Finding) String() string {
	s := string(f.Severity) + ": " + f.Check + ": "
	if f.Field != "" {
		s += f.Field + ": "
	}
	return s + f.Message
}

// Format is the finding as "source:line: severity: check: field: message",
// the way compilers write it so editors can jump there.
func (f Finding) Format(source string) string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", source, f.Line, f)
	}
	return source + ": " + f.String()
}

// LintOptions tune Lint.
type LintOptions struct {
	Native specs.Arch
	// NoBPF skips compiling the profile (the instruction count).
	NoBPF bool
}

// Lint reads a profile (OCI or Docker/moby JSON) and reports everything that
// is wrong with it or likely not meant: unknown names, duplicate, shadowed
// and never-matching rules, missing architectures, kill-thread, profiles runc
// cannot start a container with, and the BPF size. Findings are in the order
// of the checks.
//
// The profile is read by profile.Parse, the reader every other command uses,
// and each of its problems is an error here: lint and check agree on every
// input.
func Lint(data []byte, opts LintOptions) []Finding {
	var out []Finding
	add := func(sev Severity, check, field, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Check: check, Field: field, Message: fmt.Sprintf(format, args...)})
	}

	s, raw, probs := lintParse(data)
	for _, p := range probs {
		check := CheckInvalid
		switch p.Kind {
		case profile.KindDecode:
			check = CheckParse
		case profile.KindUnknownSyscall:
			check = CheckUnknown
			p.Message += ": runc ignores it, so the rule does nothing for it"
		}
		out = append(out, Finding{Severity: SevError, Check: check, Field: p.Field, Message: p.Message, Line: p.Line})
	}
	if s == nil {
		return out
	}
	if raw != len(s.Syscalls) {
		add(SevInfo, CheckInvalid, "", "Docker-format includes/excludes resolved for CRI's default capabilities and this machine: %d of %d rules apply; field paths below count the resolved rules", len(s.Syscalls), raw)
	}
	p, err := profile.FromSpec(s, opts.Native)
	if err != nil {
		add(SevError, CheckInvalid, "", "%v", err)
		return out
	}

	lintRules(s, opts.Native, add)
	for _, n := range p.Inexact {
		add(SevWarning, CheckAmbiguous, "", "%s", n)
	}
	lintArches(s, opts.Native, add)
	lintSocketcall(s, p, add)
	if s.DefaultAction == specs.ActKill || s.DefaultAction == specs.ActKillThread {
		add(SevWarning, CheckKillThread, "defaultAction", "%s kills only the calling thread (runc maps SCMP_ACT_KILL to kill-thread); the rest of the process runs on in an undefined state: use SCMP_ACT_KILL_PROCESS", s.DefaultAction)
	}
	for i, sc := range s.Syscalls {
		if sc.Action == specs.ActKill {
			add(SevWarning, CheckKillThread, fmt.Sprintf("syscalls[%d].action", i), "SCMP_ACT_KILL kills only the calling thread (runc maps it to kill-thread): use SCMP_ACT_KILL_PROCESS")
		}
	}
	for _, rp := range runc.ProfileProblems(p) {
		sev := SevError
		if rp.Conditional {
			sev = SevWarning
		}
		add(sev, CheckRunc, "", "runc cannot start a container: refuses %s", rp)
	}
	if len(s.Flags) > 0 {
		add(SevWarning, CheckFlags, "flags", "runc before 1.2 (Debian 12 ships 1.1.5) refuses to start a container whose profile has flags %v", s.Flags)
	}
	if s.DefaultErrnoRet != nil {
		add(SevInfo, CheckErrnoRet, "defaultErrnoRet", "NRI drops defaultErrnoRet when nri-seccomp passes the profile on (containerd/nri up to 0.12.5): refused calls get EPERM, not %d", *s.DefaultErrnoRet)
	}
	if !opts.NoBPF {
		n, err := BPFLen(s)
		switch {
		case err != nil:
			add(SevInfo, CheckBPFSize, "", "instruction count not checked: %v", err)
		case n > MaxBPFInstructions:
			add(SevError, CheckBPFSize, "", "compiles to %d BPF instructions; the kernel refuses more than %d", n, MaxBPFInstructions)
		default:
			add(SevInfo, CheckBPFSize, "", "compiles to %d BPF instructions (kernel limit %d)", n, MaxBPFInstructions)
		}
	}
	return out
}

// lintParse reads data with profile.Parse. When the only problems are
// unknown syscall names, it reads the profile again without them, the way
// runc ignores them, so every other check still runs; otherwise s is nil.
// rules is the number of rules read, before includes/excludes select them.
func lintParse(data []byte) (*specs.LinuxSeccomp, int, []profile.Problem) {
	s, err := profile.Parse(data)
	if err == nil {
		var raw mobyseccomp.Seccomp
		_ = json.Unmarshal(data, &raw) // Parse accepted it: exact and cannot fail
		return s, len(raw.Syscalls), nil
	}
	var ve *profile.ValidationError
	if !errors.As(err, &ve) {
		return nil, 0, []profile.Problem{{Message: err.Error(), Kind: profile.KindDecode}}
	}
	for _, p := range ve.Problems {
		if p.Kind != profile.KindUnknownSyscall {
			return nil, 0, ve.Problems
		}
	}
	// No decoding problem, so Go's lenient decoder reads exactly what Parse did.
	var raw mobyseccomp.Seccomp
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, 0, append(ve.Problems, profile.Problem{Message: err.Error(), Kind: profile.KindDecode})
	}
	for _, sc := range raw.Syscalls {
		if sc == nil {
			continue
		}
		if sc.Name != "" && !syscalls.Known(sc.Name) {
			sc.Name = ""
		}
		sc.Names = slices.DeleteFunc(slices.Clone(sc.Names), func(n string) bool { return !syscalls.Known(n) })
	}
	raw.Syscalls = slices.DeleteFunc(raw.Syscalls, func(sc *mobyseccomp.Syscall) bool {
		return sc != nil && len(sc.Names) == 0 && sc.Name == ""
	})
	cleaned, err := json.Marshal(&raw)
	if err != nil {
		return nil, 0, append(ve.Problems, profile.Problem{Message: err.Error(), Kind: profile.KindDecode})
	}
	s, err = profile.Parse(cleaned)
	if err != nil {
		// Cannot happen: only unknown names were wrong, and they are gone.
		return nil, 0, append(ve.Problems, profile.Problem{Message: err.Error()})
	}
	return s, len(raw.Syscalls), ve.Problems
}

// seen is one rule naming a syscall, for comparing the rules that name it.
type seen struct {
	idx    int
	action specs.LinuxSeccompAction
	ret    string // the verdict
	args   string // the argument conditions, "" for none
}

// lintRules checks rules against each other, the way runc and libseccomp
// read them.
func lintRules(s *specs.LinuxSeccomp, native specs.Arch, add func(Severity, string, string, string, ...any)) {
	def, _ := profile.VerdictOf(s.DefaultAction, s.DefaultErrnoRet)
	byName := map[string][]seen{}
	arches := append([]specs.Arch{native}, s.Architectures...)
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("syscalls[%d]", i)
		v, _ := profile.VerdictOf(sc.Action, sc.ErrnoRet)
		if v == def {
			add(SevWarning, CheckRedundant, field, "action %s is the default action: runc skips this rule (%s)", v, strings.Join(sc.Names, ", "))
			continue
		}
		for j, a := range sc.Args {
			c := profile.Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo}
			af := fmt.Sprintf("%s.args[%d]", field, j)
			switch {
			case neverTrue(c):
				add(SevWarning, CheckNeverMatch, af, "%s is never true: the rule never matches", c)
			case alwaysTrue(c):
				add(SevWarning, CheckAlwaysTrue, af, "%s is always true: libseccomp treats the rule as unconditional", c)
			}
		}
		for j, n := range sc.Names {
			if !onAnyArch(n, arches) {
				// Info only: profiles shared across architectures (containerd's
				// and Docker's defaults) name such syscalls on purpose.
				add(SevInfo, CheckNotOnArch, fmt.Sprintf("%s.names[%d]", field, j), "%s exists on none of the profile's architectures: no effect here", n)
			}
			byName[n] = append(byName[n], seen{i, sc.Action, fmt.Sprint(v), argsKey(sc.Args)})
		}
	}
	for _, n := range slicesSortedKeys(byName) {
		lintSameName(n, byName[n], add)
	}
}

// lintSameName reports duplicate, conflicting and shadowed rules among the
// rules naming one syscall, in reading order. Each rule is compared with the
// first rule it repeats or contradicts, not with every earlier one: a
// profile of 10,000 entries for one syscall gets at most one finding per
// entry and linear time, not 50 million pairs.
func lintSameName(n string, rules []seen, add func(Severity, string, string, string, ...any)) {
	firstSame := map[[2]string]int{} // args and verdict -> first rule with them
	// The first unconditional rule, and the first unconditional one with a
	// different verdict from it: enough to name a conflict for any rule.
	uncond := []seen{}
	for _, b := range rules {
		key := [2]string{b.args, b.ret}
		if a, dup := firstSame[key]; dup {
			add(SevWarning, CheckDuplicate, fmt.Sprintf("syscalls[%d]", b.idx), "%s: same rule as syscalls[%d]", n, a)
		} else {
			firstSame[key] = b.idx
			if b.args == "" {
				for _, a := range uncond {
					if a.ret != b.ret {
						add(SevWarning, CheckConflict, fmt.Sprintf("syscalls[%d]", b.idx), "%s: syscalls[%d] gives %s, this gives %s, both unconditionally: the stricter applies", n, a.idx, a.ret, b.ret)
						break
					}
				}
			}
		}
		if b.args == "" && len(uncond) < 2 && (len(uncond) == 0 || uncond[0].ret != b.ret) {
			uncond = append(uncond, b)
		}
	}
	if len(uncond) == 0 {
		return
	}
	for _, r := range rules {
		if r.args != "" && r.ret != uncond[0].ret {
			add(SevWarning, CheckShadowed, fmt.Sprintf("syscalls[%d]", r.idx), "%s: this argument rule never applies: syscalls[%d] gives %s unconditionally, and libseccomp lets that override every argument rule", n, uncond[0].idx, uncond[0].ret)
		}
	}
}

func argsKey(args []specs.LinuxSeccompArg) string {
	if len(args) == 0 {
		return ""
	}
	b, _ := json.Marshal(args)
	return string(b)
}

func onAnyArch(name string, arches []specs.Arch) bool {
	checked := false
	for _, a := range arches {
		if !slices.Contains(syscalls.Arches(), string(a)) {
			continue // no table for it: do not guess
		}
		checked = true
		if _, ok := syscalls.Number(string(a), name); ok {
			return true
		}
	}
	return !checked
}

func neverTrue(c profile.Cond) bool {
	const maxU = ^uint64(0)
	switch c.Op {
	case specs.OpLessThan:
		return c.Value == 0
	case specs.OpGreaterThan:
		return c.Value == maxU
	case specs.OpMaskedEqual:
		return c.ValueTwo&^c.Value != 0
	}
	return false
}

func alwaysTrue(c profile.Cond) bool {
	switch c.Op {
	case specs.OpMaskedEqual:
		return c.Value == 0 && c.ValueTwo == 0
	case specs.OpGreaterEqual:
		return c.Value == 0
	case specs.OpLessEqual:
		return c.Value == ^uint64(0)
	}
	return false
}

// lintArches warns about ABIs of this machine's family the profile leaves
// out: libseccomp kills every call through them (SIGSYS), which 32-bit
// helpers in an image hit as a mysterious crash rather than an error.
func lintArches(s *specs.LinuxSeccomp, native specs.Arch, add func(Severity, string, string, string, ...any)) {
	if s.DefaultAction == specs.ActAllow && len(s.Syscalls) == 0 {
		return // unconfined: libseccomp is not even loaded by intent
	}
	var missing []string
	for _, a := range profile.ArchFamily(native) {
		if a != native && !slices.Contains(s.Architectures, a) {
			missing = append(missing, archShort(a))
		}
	}
	if len(missing) > 0 {
		add(SevWarning, CheckMissingArch, "architectures", "%s not listed: every call through that ABI is killed (libseccomp's bad-architecture action) instead of getting this profile's verdicts; containerd's RuntimeDefault lists %v",
			strings.Join(missing, ", "), profile.ArchFamily(native))
	}
}

func slicesSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// HasProblems reports whether any finding is a warning or an error.
func HasProblems(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity != SevInfo })
}
