// Package engine makes nri-seccomp's decision: given a pod, a container and the
// seccomp section it already has, which policy rules apply and which seccomp
// section runc will load. It is pure and deterministic — no I/O after loading, no
// NRI types — so the daemon, `check` and `explain` share exactly the same code.
package engine

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
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
	ProfileType profile.Type
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

// DefaultCacheSize is the default bound of the decision and outcome caches.
// A node runs at most a few hundred containers (kubelet's default is 110
// pods), and a full cache is emptied and refilled at the cost of a decision
// each, so a larger bound would only hold memory (about 1 KiB a decision).
const DefaultCacheSize = 1024

// Options tune an Engine.
type Options struct {
	// Native is the node's architecture; default: the one this binary runs on.
	Native specs.Arch
	// CacheSize bounds the decision cache and the profile outcomes cache
	// (entries each); 0 means DefaultCacheSize, <0 disables them.
	CacheSize int
	// Explain records, for every rule that did not match, why not (for the
	// explain command). The daemon leaves it off: building those sentences for
	// thousands of rules per container costs more than the decision itself.
	// The decision is the same either way.
	Explain bool
	// SeccompFlags is nil when the node's runc applies seccomp filter flags,
	// else why not (runc.SeccompFlags); rules with logDenied are then
	// refused when the policy loads.
	SeccompFlags error
}

// Engine decides for one loaded policy. It is safe for concurrent use.
type Engine struct {
	pol     *policy.Policy
	native  specs.Arch
	rules   []compiled
	index   *policy.Index // rules that may match a namespace
	explain bool
	seeds   [2]maphash.Seed

	// The caches, all keyed by content (cache.Table): decisions by a
	// fingerprint of the input; outcomes (the profile part of a decision)
	// by the current section's encoding and the rules applied; parsed
	// current profiles by the section's encoding (most containers share a
	// few); written sections by digest, one copy each.
	decisions *cache.Table[cacheKey, *Decision]
	outcomes  *cache.Table[cacheKey, *outcome]
	models    *cache.Table[cacheKey, *profile.Profile]
	written   *cache.Table[string, *specs.LinuxSeccomp]
}

// maxModels bounds the parsed current profiles: a node's containers run a
// handful of distinct profiles, and a model is tens of KiB.
const maxModels = 256

// cacheKey is a 128-bit fingerprint from two independently seeded hashes; the
// seeds are random per engine, so inputs cannot be crafted to collide.
type cacheKey [2]uint64

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
	pol, err := policy.Load(path, policy.Options{Builtins: b, SeccompFlags: opts.SeccompFlags})
	if err != nil {
		return nil, err
	}
	return New(pol, opts)
}

// New compiles a loaded policy.
func New(pol *policy.Policy, opts Options) (*Engine, error) {
	e := &Engine{pol: pol, native: opts.Native, explain: opts.Explain,
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	if e.native == "" {
		e.native = profile.Native
	}
	size, modelsMax := opts.CacheSize, maxModels
	switch {
	case size == 0:
		size = DefaultCacheSize
	case size < 0:
		modelsMax = 0
	}
	e.decisions = cache.New[cacheKey, *Decision]("decisions", size)
	e.outcomes = cache.New[cacheKey, *outcome]("outcomes", size)
	e.models = cache.New[cacheKey, *profile.Profile]("models", modelsMax)
	e.written = cache.New[string, *specs.LinuxSeccomp]("written", size)
	// Rules with the same body (profile, deny list, logDenied) share one
	// compiled profile: large policies repeat a few bodies across many
	// namespaces, and a full profile model is tens of KiB.
	bodies := map[string]*profile.Profile{}
	// And the named profiles' models are built once: a profile shared by
	// hundreds of bodies (each with its own deny list) would otherwise be
	// built again for each, and kept whole wherever the deny list changes
	// nothing in it.
	models := map[string]*profile.Profile{}
	for _, r := range pol.Rules {
		c := compiled{rule: r}
		if r.Action != policy.ActionExempt {
			k := bodyKey(r)
			p, ok := bodies[k]
			if !ok {
				var err error
				if p, err = e.compileBody(pol, r, models); err != nil {
					return nil, err
				}
				bodies[k] = p
			}
			c.profile = p
		}
		e.rules = append(e.rules, c)
	}
	e.index = policy.NewIndex(pol.Rules)
	return e, nil
}

// Revision identifies the loaded policy (file names and contents).
func (e *Engine) Revision() string { return e.pol.Revision }

// Policy is the loaded policy.
func (e *Engine) Policy() *policy.Policy { return e.pol }

// Decide computes the decision for one container. Identical inputs get the
// same (cached) decision.
func (e *Engine) Decide(in Input) (*Decision, error) {
	var key cacheKey
	if e.decisions.Enabled() {
		key = e.inputKey(in)
		if d, ok := e.decisions.Get(key); ok {
			return d, nil
		}
	}
	d, err := e.decide(in)
	if err != nil {
		return nil, err
	}
	e.decisions.Put(key, d)
	return d, nil
}

func (e *Engine) decide(in Input) (*Decision, error) {
	d := &Decision{PolicyRevision: e.pol.Revision, Seccomp: in.Current}
	hadNone := in.Current == nil
	mi := policy.MatchInput{Namespace: in.Namespace, Pod: in.Pod, Labels: in.Labels, Annotations: in.Annotations,
		Container: in.Container, Image: in.Image, ProfileType: string(profile.TypeOf(in.Current, in.ProfileType))}

	// First which rules apply: that depends on the pod and container.
	// Explain reports every rule; a decision looks only at the rules the
	// index says may match this namespace (a superset of those that do).
	var candidates []int
	if e.explain {
		candidates = make([]int, len(e.rules))
		for i := range candidates {
			candidates[i] = i
		}
	} else {
		candidates = e.index.Candidates(in.Namespace, make([]int, 0, 16))
	}
	var applied []int
	modes := map[string]bool{}
	for _, i := range candidates {
		r := e.rules[i].rule
		res := RuleResult{Name: r.Name, Action: string(r.Action), Mode: string(r.Mode)}
		if !r.Matches(mi) {
			if e.explain {
				_, res.Reason = r.Match(mi)
				d.Skipped = append(d.Skipped, res)
			}
			continue
		}
		_, why := r.Match(mi) // matched: say why, for the decision log
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
		res.Reason = why
		d.Rules = append(d.Rules, res)
		modes[string(r.Mode)] = true
		applied = append(applied, i)
	}
	switch {
	case len(modes) == 2:
		d.Mode = "mixed"
	case len(modes) == 1:
		d.Mode = slices.Collect(maps.Keys(modes))[0]
	}

	// Then the profile: that depends only on the current profile and the
	// rules that apply, so containers that differ in labels or names but
	// share both share the computation.
	out, err := e.outcome(in.Current, applied)
	if err != nil {
		return nil, err
	}
	d.Notes = out.notes
	if out.changed {
		d.Changed, d.Seccomp, d.Digest = true, out.seccomp, out.digest
	} else {
		d.Digest = out.digest
	}
	return d, nil
}

// outcome is the profile part of a decision.
type outcome struct {
	changed bool
	seccomp *specs.LinuxSeccomp // when changed
	digest  string
	notes   []string
}

func (e *Engine) outcome(current *specs.LinuxSeccomp, applied []int) (*outcome, error) {
	buf := getBuf()
	defer putBuf(buf)
	var specBytes []byte
	if current != nil {
		specBytes = profile.AppendBinary((*buf)[:0], current)
	}
	var key cacheKey
	if e.outcomes.Enabled() {
		// The key is the encoded profile followed by the rules applied;
		// appending leaves specBytes itself intact.
		b := binary.LittleEndian.AppendUint64(specBytes, uint64(len(applied)))
		if current == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
		}
		for _, i := range applied {
			b = binary.LittleEndian.AppendUint64(b, uint64(i))
		}
		key = e.key(b)
		*buf = b[:0] // keep the grown buffer
		if o, ok := e.outcomes.Get(key); ok {
			return o, nil
		}
	}
	o, err := e.computeOutcome(current, specBytes, applied)
	if err != nil {
		return nil, err
	}
	e.outcomes.Put(key, o)
	return o, nil
}

func (e *Engine) computeOutcome(current *specs.LinuxSeccomp, specBytes []byte, applied []int) (*outcome, error) {
	o := &outcome{}
	var cur *profile.Profile
	if current != nil {
		var err error
		if cur, err = e.model(current, specBytes); err != nil {
			return nil, fmt.Errorf("container's current seccomp profile: %w", err)
		}
		for _, n := range cur.Inexact {
			o.notes = append(o.notes, "current profile: "+n)
		}
	}
	p, notes, err := e.apply(cur, applied)
	if err != nil {
		return nil, err
	}
	o.notes = append(o.notes, notes...)
	if p == nil || p == cur || (current != nil && len(cur.Inexact) == 0 && profile.Equal(p, cur)) {
		// No rule changed anything, or the result behaves exactly like what
		// the container has: leave its section alone.
		o.digest = profile.Digest(current)
		return o, nil
	}
	spec, notes := p.ToSpec(e.native)
	for _, n := range notes {
		o.notes = append(o.notes, "written profile: "+n)
	}
	digest := profile.Digest(spec)
	// Different rule sets often write the same section (a deny list the
	// profile already refuses): keep one copy of each.
	spec = e.written.Intern(digest, spec)
	o.changed, o.seccomp, o.digest = true, spec, digest
	return o, nil
}

// apply computes the profile the rules give a container whose current profile
// is cur (nil: none). Audit rules are order-independent and exact: with E the
// profile after only the enforce rules (in order) and W the profile after
// every rule as if enforced, the result is profile.Audit(E, W). So a policy
// with audit rules never refuses a call the same policy without them allows,
// and logs exactly the calls the audit rules would add refusals for. (Before,
// each audit rule was transformed on its own, in order: a later enforce rule
// intersected with SCMP_ACT_LOG rules and could refuse what the audit rule
// had only logged.) The result is nil when no rule applied to a container
// with none.
func (e *Engine) apply(cur *profile.Profile, applied []int) (*profile.Profile, []string, error) {
	var notes []string
	enforced, all := cur, cur
	diverged := false // all differs from enforced from the first audit rule on
	for _, i := range applied {
		c := e.rules[i]
		if c.rule.Mode == policy.ModeAudit {
			var n []string
			var err error
			if all, n, err = intersect(all, c); err != nil {
				return nil, nil, err
			}
			for _, s := range n {
				notes = append(notes, "rule "+c.rule.Name+" (audit, what it would give if enforced): "+s)
			}
			diverged = true
			continue
		}
		var n []string
		var err error
		if enforced, n, err = intersect(enforced, c); err != nil {
			return nil, nil, err
		}
		for _, s := range n {
			notes = append(notes, "rule "+c.rule.Name+": "+s)
		}
		if !diverged {
			all = enforced
			continue
		}
		var wn []string
		if all, wn, err = intersect(all, c); err != nil {
			return nil, nil, err
		}
		for _, s := range wn {
			if !slices.Contains(n, s) {
				notes = append(notes, "rule "+c.rule.Name+" (with the audit rules enforced): "+s)
			}
		}
	}
	if !diverged {
		return enforced, notes, nil
	}
	if enforced == nil {
		enforced = profile.AllowAll()
	}
	p, an := profile.Audit(enforced, all)
	for _, s := range an {
		notes = append(notes, "audit: "+s)
	}
	return p, notes, nil
}

// intersect tightens p (nil: no seccomp) with what rule c asks for.
func intersect(p *profile.Profile, c compiled) (*profile.Profile, []string, error) {
	if p == nil {
		p = profile.AllowAll()
	}
	out, notes, err := profile.Intersect(p, c.profile)
	if err != nil {
		return nil, nil, fmt.Errorf("rule %s: %w", c.rule.Name, err)
	}
	return out, notes, nil
}

// model parses a current profile, reusing the parse of an identical one: most
// containers on a node run with one of a handful of profiles.
func (e *Engine) model(s *specs.LinuxSeccomp, encoded []byte) (*profile.Profile, error) {
	if !e.models.Enabled() {
		return profile.FromSpec(s, e.native)
	}
	k := e.key(encoded)
	if m, ok := e.models.Get(k); ok {
		return m, nil // profiles are never modified after FromSpec
	}
	m, err := profile.FromSpec(s, e.native)
	if err != nil {
		return nil, err
	}
	e.models.Put(k, m)
	return m, nil
}

// CacheStats returns the size and hit counts of each of the engine's caches.
func (e *Engine) CacheStats() []cache.Stats {
	return []cache.Stats{e.decisions.Stats(), e.outcomes.Stats(), e.models.Stats(), e.written.Stats()}
}

func (e *Engine) key(b []byte) cacheKey {
	return cacheKey{maphash.Bytes(e.seeds[0], b), maphash.Bytes(e.seeds[1], b)}
}

// inputKey fingerprints every field of the input that the decision depends on.
func (e *Engine) inputKey(in Input) cacheKey {
	buf := getBuf()
	defer putBuf(buf)
	b := (*buf)[:0]
	for _, s := range []string{in.Namespace, in.Pod, in.Container, in.Image, string(in.ProfileType)} {
		b = appendString(b, s)
	}
	for _, m := range []map[string]string{in.Labels, in.Annotations} {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(m)))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b = appendString(appendString(b, k), m[k])
		}
	}
	if in.Current == nil {
		b = append(b, 0)
	} else {
		b = profile.AppendBinary(append(b, 1), in.Current)
	}
	*buf = b // keep the grown buffer
	return e.key(b)
}

// Encoding buffers: an encoded RuntimeDefault is about 8 KiB, and every
// decision encodes the container's profile once or twice; pooling keeps that
// from being garbage (and GC pauses from being the decision's tail latency).
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 { // don't keep a huge one forever
		bufPool.Put(b)
	}
}

func appendString(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
}

// String renders a rule result for logs.
func (r RuleResult) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s (%s %s)", r.Name, r.Action, r.Mode))
}

// bodyKey identifies what a rule asks for, independent of what it matches.
func bodyKey(r *policy.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %v", r.Profile, r.LogDenied)
	for _, d := range r.Deny {
		errno := "-"
		if d.Errno != nil {
			errno = strconv.FormatUint(uint64(*d.Errno), 10)
		}
		fmt.Fprintf(&b, " %q/%q/%s", d.Name, d.Action, errno)
	}
	return b.String()
}

// compileBody builds what a rule asks for: its named profile (or allow-all)
// minus its deny list, with SECCOMP_FILTER_FLAG_LOG for logDenied. models
// holds the named profiles' models built so far (models are never modified
// once built, so rules share them).
func (e *Engine) compileBody(pol *policy.Policy, r *policy.Rule, models map[string]*profile.Profile) (*profile.Profile, error) {
	p := profile.AllowAll()
	if r.Profile != "" {
		m, ok := models[r.Profile]
		if !ok {
			s, ok := pol.Profile(r.Profile)
			if !ok {
				return nil, fmt.Errorf("%w: %s:%d: rule %s: unknown profile %q", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, r.Profile)
			}
			var err error
			if m, err = profile.FromSpec(s, e.native); err != nil {
				return nil, fmt.Errorf("%w: %s:%d: rule %s: profile %s: %w", policy.ErrInvalidPolicy, r.File, r.Line, r.Name, r.Profile, err)
			}
			models[r.Profile] = m
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
	if r.LogDenied {
		// Intersection keeps every flag either side sets, so the
		// result carries it; models are shared, so copy first.
		cp := *p
		cp.Flags = append(slices.Clone(p.Flags), specs.LinuxSeccompFlagLog)
		slices.Sort(cp.Flags)
		cp.Flags = slices.Compact(cp.Flags)
		p = &cp
	}
	return p, nil
}

// RuleWidening is a place where an enforce rule, applied to a container that
// runs a known profile, gives a result stricter than the exact intersection.
type RuleWidening struct {
	Rule     *policy.Rule
	Index    int    // the rule's position in Policy.Rules
	Base     string // the profile the container runs
	Widening profile.Widening
}

// Widenings intersects every enforce-mode tighten rule with each of bases (the
// profiles containers may run, by name) and lists where a result is stricter
// than the exact intersection. A decision only knows the profile a container
// actually has; this is what `check` can say ahead of time. Audit-mode rules
// are left out: there a stricter result only logs more.
func (e *Engine) Widenings(bases map[string]*specs.LinuxSeccomp) ([]RuleWidening, error) {
	var out []RuleWidening
	for _, name := range slices.Sorted(maps.Keys(bases)) {
		base, err := profile.FromSpec(bases[name], e.native)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", name, err)
		}
		for i, c := range e.rules {
			if c.rule.Action != policy.ActionTighten || c.rule.Mode == policy.ModeAudit {
				continue
			}
			_, ws, err := profile.IntersectDetail(base, c.profile)
			if err != nil {
				// No architecture in common and the like: the daemon
				// refuses such containers, and says so per container.
				continue
			}
			for _, w := range ws {
				out = append(out, RuleWidening{Rule: c.rule, Index: i, Base: name, Widening: w})
			}
		}
	}
	return out, nil
}
