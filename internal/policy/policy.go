// Package policy loads nri-seccomp policies: YAML files that say which containers
// get which seccomp treatment. Loading is strict — an unknown key, a wrong type or
// a glob that can never match is an error reported with file and line — because a
// typo in a security policy must not silently disable a rule. Every problem is
// collected and returned at once, and a policy with any problem is never returned
// in part.
//
// The package reads the policy files and the profile files they reference, and
// nothing else; it imports no NRI or containerd code, so the daemon and the CLI's
// dry runs load policies identically. The format is documented in docs/policy.md.
package policy

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// APIVersion and Kind are the only values accepted at the top of a policy file.
const (
	APIVersion = "nri-seccomp.io/v1alpha1"
	Kind       = "SeccompPolicy"
)

// Action is what a rule does to a matching container.
type Action string

// Actions.
const (
	// ActionInject gives a container that has no seccomp at all the rule's profile.
	ActionInject Action = "inject"
	// ActionTighten intersects the container's seccomp with the rule's profile
	// and deny list; the result is never looser than what the container had.
	ActionTighten Action = "tighten"
	// ActionExempt stops evaluation: later rules do not apply to the container.
	ActionExempt Action = "exempt"
)

// Mode says whether a rule's refusals are enforced or only logged.
type Mode string

// Modes.
const (
	ModeEnforce Mode = "enforce" // the default
	ModeAudit   Mode = "audit"   // refusals the rule adds become SCMP_ACT_LOG
)

// DenyEntry is one syscall a rule refuses.
type DenyEntry struct {
	Name string
	// Action is a refusing action (SCMP_ACT_ERRNO, SCMP_ACT_TRAP or a kill);
	// SCMP_ACT_ERRNO when the policy does not say.
	Action specs.LinuxSeccompAction
	// Errno is the errno returned with SCMP_ACT_ERRNO; nil means EPERM (runc's
	// default).
	Errno *uint
}

// Rule is one validated policy rule.
type Rule struct {
	Name string
	File string // policy file the rule was read from
	Line int    // line of the rule in File

	Action Action
	Mode   Mode
	// Profile names a built-in or declared profile ("" if the rule has none);
	// resolve it with Policy.Profile.
	Profile string
	Deny    []DenyEntry
	// LogDenied asks the kernel to log the calls this container's filter
	// refuses too (SECCOMP_FILTER_FLAG_LOG), not only SCMP_ACT_LOG ones: the
	// only way refusals reach the audit log (auditd exit rules never see a call
	// seccomp refused). Needs runc >= 1.2.
	LogDenied bool

	m matcher
}

// Policy is a loaded, fully validated policy.
type Policy struct {
	// Files are the policy files read, in the order their rules apply.
	Files []string
	// ProfileFiles are the profile files referenced by the policy, in the order
	// they were read; a daemon watching for changes must watch these too.
	ProfileFiles []string
	// Revision identifies the policy's content: "sha256:<hex>" over every policy
	// file's name and content, every referenced profile file's content and the
	// built-in profiles the rules use. It does not depend on where the files
	// live, so the same policy has the same revision on every node.
	Revision string
	// Profiles are the profiles the policy declares, loaded and validated.
	Profiles map[string]*specs.LinuxSeccomp
	Rules    []*Rule

	builtins map[string]*specs.LinuxSeccomp
}

// Options configure loading.
type Options struct {
	// Builtins are the profile names usable in `profile:` without declaring them
	// (the daemon passes runtime-default and unconfined). A policy may not
	// declare a profile with a built-in's name.
	Builtins map[string]*specs.LinuxSeccomp
	// SeccompFlags is nil when the node's runc applies seccomp filter flags,
	// or says why it cannot (runc.SeccompFlags); a rule with logDenied is
	// then a problem, since every container it applies to would fail to start.
	SeccompFlags error
}

// Profile resolves a profile name used by a rule: a declared profile first (a
// declaration can never shadow a built-in, so the order only matters for speed),
// then a built-in.
func (p *Policy) Profile(name string) (*specs.LinuxSeccomp, bool) {
	if s, ok := p.Profiles[name]; ok {
		return s, true
	}
	s, ok := p.builtins[name]
	return s, ok
}
