// Package engine makes nri-seccomp's decision: given a pod, a container and the
// seccomp section it already has, which policy rules apply and which seccomp
// section runc will load. It is pure and deterministic — no I/O after loading, no
// NRI types — so the daemon, `check` and `explain` share exactly the same code.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/policy"
	"github.com/nri-seccomp/nri-seccomp/pkg/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// ProfileType is the seccomp profile type the runtime reports for a container.
type ProfileType string

// Profile types. ProfileTypeNone and ProfileTypeUnconfined both mean that the
// container has no seccomp at all when Input.Current is nil.
const (
	ProfileTypeNone           ProfileType = ""
	ProfileTypeUnconfined     ProfileType = "Unconfined"
	ProfileTypeRuntimeDefault ProfileType = "RuntimeDefault"
	ProfileTypeLocalhost      ProfileType = "Localhost"
)

// Input is everything the decision depends on.
type Input struct {
	Namespace   string
	Pod         string
	PodUID      string
	Labels      map[string]string
	Annotations map[string]string
	Container   string
	Image       string
	ProfileType ProfileType
	// Current is the seccomp section the container would run with; nil means
	// none at all, whatever ProfileType says.
	Current *specs.LinuxSeccomp
}

// RuleResult is one rule's part in a decision.
type RuleResult struct {
	Name   string
	Action string
	Mode   string
	Reason string
}

// Decision is the engine's answer. A Decision may be shared between callers
// (the engine caches them): treat it as read-only.
type Decision struct {
	Rules   []RuleResult // rules applied, in order
	Skipped []RuleResult // rules that did not apply, and why
	Mode    string       // "enforce", "audit", "mixed", or "" when no rule changed the profile
	Exempt  bool
	Changed bool
	// Seccomp is the section the container runs with: the new one when
	// Changed, else Input.Current (nil: none).
	Seccomp        *specs.LinuxSeccomp
	Digest         string
	Notes          []string // where the result is stricter than exact, and why
	PolicyRevision string
}

// Options tune an Engine.
type Options struct {
	// Native is the node's architecture; default: the one this binary runs on.
	Native specs.Arch
	// CacheSize bounds the decision cache (entries); 0 means 4096, <0 disables it.
	CacheSize int
}

// Engine decides for one loaded policy. It is safe for concurrent use.
type Engine struct {
	pol    *policy.Policy
	native specs.Arch
	rules  []compiled

	mu      sync.Mutex
	cache   map[string]*Decision
	maxSize int
}

type compiled struct {
	rule *policy.Rule
	// profile is what the rule asks for: its named profile (or allow-all)
	// minus its deny list; nil for exempt rules.
	profile *profile.Profile
}

// Builtins returns the built-in profiles by name.
func Builtins() (map[string]*specs.LinuxSeccomp, error) {
	out := map[string]*specs.LinuxSeccomp{}
	for _, name := range policies.ProfileNames() {
		data, _ := policies.Profile(name)
		s, err := profile.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("built-in profile %s: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
}

// Load reads a policy file or directory and compiles it. The error lists every
// problem (file:line: field: message) and wraps policy.ErrInvalidPolicy.
func Load(path string, opts Options) (*Engine, error) {
	b, err := Builtins()
	if err != nil {
		return nil, err
	}
	pol, err := policy.Load(path, policy.Options{Builtins: b})
	if err != nil {
		return nil, err
	}
	return New(pol, opts)
}

// New compiles a loaded policy.
func New(pol *policy.Policy, opts Options) (*Engine, error) {
	e := &Engine{pol: pol, native: opts.Native, maxSize: opts.CacheSize, cache: map[string]*Decision{}}
	if e.native == "" {
		e.native = profile.Native
	}
	if e.maxSize == 0 {
		e.maxSize = 4096
	}
	for _, r := range pol.Rules {
		c := compiled{rule: r}
		if r.Action != policy.ActionExempt {
			p := profile.AllowAll()
			if r.Profile != "" {
				s, ok := pol.Profile(r.Profile)
				if !ok {
					return nil, fmt.Errorf("%w: %s:%d: rule %s: unknown profile %q", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, r.Profile)
				}
				m, err := profile.FromSpec(s, e.native)
				if err != nil {
					return nil, fmt.Errorf("%w: %s:%d: rule %s: profile %s: %w", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, r.Profile, err)
				}
				p = m
			}
			if len(r.Deny) > 0 {
				var deny []profile.Deny
				for _, d := range r.Deny {
					v, err := profile.VerdictOf(d.Action, d.Errno)
					if err != nil {
						return nil, fmt.Errorf("%w: %s:%d: rule %s: deny %s: %w", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, d.Name, err)
					}
					deny = append(deny, profile.Deny{Name: d.Name, Verdict: v})
				}
				var err error
				if p, _, err = profile.Intersect(p, profile.DenyList(deny)); err != nil {
					return nil, fmt.Errorf("%w: %s:%d: rule %s: %w", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, err)
				}
			}
			c.profile = p
		}
		e.rules = append(e.rules, c)
	}
	return e, nil
}

// Revision identifies the loaded policy (file names and contents).
func (e *Engine) Revision() string { return e.pol.Revision }

// Policy is the loaded policy.
func (e *Engine) Policy() *policy.Policy { return e.pol }

// Decide computes the decision for one container. Identical inputs get the
// same (cached) decision.
func (e *Engine) Decide(in Input) (*Decision, error) {
	key := ""
	if e.maxSize > 0 {
		key = cacheKey(in)
		e.mu.Lock()
		d, ok := e.cache[key]
		e.mu.Unlock()
		if ok {
			return d, nil
		}
	}
	d, err := e.decide(in)
	if err != nil {
		return nil, err
	}
	if e.maxSize > 0 {
		e.mu.Lock()
		if len(e.cache) >= e.maxSize {
			clear(e.cache) // cheap and bounded; a cache miss only costs a decision
		}
		e.cache[key] = d
		e.mu.Unlock()
	}
	return d, nil
}

func (e *Engine) decide(in Input) (*Decision, error) {
	d := &Decision{PolicyRevision: e.pol.Revision, Seccomp: in.Current}
	hadNone := in.Current == nil
	var cur *profile.Profile
	if !hadNone {
		var err error
		if cur, err = profile.FromSpec(in.Current, e.native); err != nil {
			return nil, fmt.Errorf("container's current seccomp profile: %w", err)
		}
		for _, n := range cur.Inexact {
			d.Notes = append(d.Notes, "current profile: "+n)
		}
	}
	pt := string(in.ProfileType)
	if hadNone {
		pt = string(ProfileTypeUnconfined)
	}
	mi := policy.MatchInput{Namespace: in.Namespace, Pod: in.Pod, Labels: in.Labels, Annotations: in.Annotations,
		Container: in.Container, Image: in.Image, ProfileType: pt}

	p := cur // nil while the container has no seccomp
	modes := map[string]bool{}
	for i, c := range e.rules {
		r := c.rule
		res := RuleResult{Name: r.Name, Action: string(r.Action), Mode: string(r.Mode)}
		ok, why := r.Match(mi)
		if !ok {
			res.Reason = why
			d.Skipped = append(d.Skipped, res)
			continue
		}
		if r.Action == policy.ActionExempt {
			res.Reason = why + "; exempt: no later rule applies"
			d.Rules = append(d.Rules, res)
			d.Exempt = true
			for _, rest := range e.rules[i+1:] {
				d.Skipped = append(d.Skipped, RuleResult{Name: rest.rule.Name, Action: string(rest.rule.Action),
					Mode: string(rest.rule.Mode), Reason: "after exempt rule " + r.Name})
			}
			break
		}
		if r.Action == policy.ActionInject && !hadNone {
			res.Reason = fmt.Sprintf("%s, but the container already has a seccomp profile (%s); inject only applies to containers without one", why, in.ProfileType)
			d.Skipped = append(d.Skipped, res)
			continue
		}
		base := p
		if base == nil {
			base = profile.AllowAll()
		}
		target, notes, err := profile.Intersect(base, c.profile)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		if r.Mode == policy.ModeAudit {
			var an []string
			target, an = profile.Audit(base, target)
			notes = append(notes, an...)
		}
		for _, n := range notes {
			d.Notes = append(d.Notes, "rule "+r.Name+": "+n)
		}
		p = target
		res.Reason = why
		d.Rules = append(d.Rules, res)
		modes[string(r.Mode)] = true
	}
	switch {
	case len(modes) == 2:
		d.Mode = "mixed"
	case len(modes) == 1:
		d.Mode = slices.Collect(maps.Keys(modes))[0]
	}
	if p == nil || p == cur {
		d.Digest = profile.Digest(in.Current)
		return d, nil
	}
	if !hadNone && len(cur.Inexact) == 0 && profile.Equal(p, cur) {
		// Same behaviour as what the container has: leave its section alone.
		d.Digest = profile.Digest(in.Current)
		return d, nil
	}
	spec, notes := p.ToSpec(e.native)
	for _, n := range notes {
		d.Notes = append(d.Notes, "written profile: "+n)
	}
	d.Changed, d.Seccomp, d.Digest = true, spec, profile.Digest(spec)
	return d, nil
}

// cacheKey hashes every field of the input that the decision depends on.
func cacheKey(in Input) string {
	h := sha256.New()
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(in.Namespace)
	w(in.Pod)
	w(in.Container)
	w(in.Image)
	w(string(in.ProfileType))
	for _, m := range []map[string]string{in.Labels, in.Annotations} {
		w(fmt.Sprint(len(m)))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			w(k)
			w(m[k])
		}
	}
	if in.Current == nil {
		w("<none>")
	} else {
		b, _ := json.Marshal(in.Current)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// String renders a rule result for logs.
func (r RuleResult) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s (%s %s)", r.Name, r.Action, r.Mode))
}
