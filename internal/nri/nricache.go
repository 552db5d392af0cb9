package nri

import (
	"bytes"
	"slices"
	"sync"

	"github.com/containerd/nri/pkg/api"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/engine/cache"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// nriPolicies converts the engine's seccomp sections to NRI's type once per
// section. Decisions that write the same section share its conversion (a
// RuntimeDefault-sized conversion is hundreds of allocations per
// container). The NRI message is only read after that (the stub marshals
// it; validation compares with it), so one copy serves every answer.
//
// It also keeps the digest of what containerd writes for each section
// (writtenDigest): for a section with a default errno that is a second
// digest of a RuntimeDefault-sized section, too much to repeat per
// container.
//
// Entries are keyed by the decision's Digest, the content of its section
// (profile.Digest), so a hit never depends on which copy of a section a
// decision holds. A decision without a digest (a Decider that does not set
// one) is converted every time, never cached under "".
type nriPolicies struct {
	once  sync.Once
	table *cache.Table[string, *nriPolicy]
}

type nriPolicy struct {
	nri *api.LinuxSeccomp

	mu     sync.Mutex
	digest string // "" until written asks for it
}

// maxNRIPolicies bounds the cache: a node runs a handful of distinct
// sections; the bound only keeps a pathological policy from holding many.
const maxNRIPolicies = 64

// get is dec's section in NRI's type; nil when dec has none.
func (c *nriPolicies) get(dec *engine.Decision) *api.LinuxSeccomp {
	if dec.Seccomp == nil {
		return nil
	}
	return c.entry(dec).nri
}

// written is convert.WrittenDigest(dec), computed once per section.
func (c *nriPolicies) written(dec *engine.Decision) string {
	if !dec.Changed || dec.Seccomp == nil || dec.Seccomp.DefaultErrnoRet == nil {
		return dec.Digest
	}
	e := c.entry(dec)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.digest == "" {
		e.digest = convert.WrittenDigest(dec)
	}
	return e.digest
}

// entry finds or makes the entry of dec's section.
func (c *nriPolicies) entry(dec *engine.Decision) *nriPolicy {
	c.once.Do(func() { c.table = cache.New[string, *nriPolicy]("nri-sections", maxNRIPolicies) })
	if dec.Digest == "" {
		return &nriPolicy{nri: convert.SeccompToNRI(dec.Seccomp)}
	}
	if e, ok := c.table.Get(dec.Digest); ok {
		return e
	}
	// Two callers missing at once may both convert and both answer with
	// their own copy: equal content, so either is right; the last is kept.
	e := &nriPolicy{nri: convert.SeccompToNRI(dec.Seccomp)}
	c.table.Put(dec.Digest, e)
	return e
}

// stats is the cache's size and hit counts.
func (c *nriPolicies) stats() cache.Stats {
	c.once.Do(func() { c.table = cache.New[string, *nriPolicy]("nri-sections", maxNRIPolicies) })
	return c.table.Stats()
}

// deterministic encodes messages so that equal messages give equal bytes.
var deterministic = proto.MarshalOptions{Deterministic: true}

// same reports whether got is the policy want, field for field (what
// proto.Equal answers). Every known field is compared directly: marshalling
// the incoming policy to compare encodings was a third of the plugin's work
// per container. A message carrying fields this build does not know (a newer
// runtime's) is compared by deterministic encoding, which covers those too;
// that case is rare enough that the encodings are not kept (they were a
// RuntimeDefault-sized buffer per cached policy, for nothing).
func (c *nriPolicies) same(got, want *api.LinuxSeccomp) (bool, error) {
	if got == nil || want == nil {
		return got == want, nil
	}
	if !unknownFieldsIn(got) && !unknownFieldsIn(want) {
		return equalSeccomp(got, want), nil
	}
	w, err := deterministic.Marshal(want)
	if err != nil {
		return false, err
	}
	g, err := deterministic.Marshal(got)
	if err != nil {
		return false, err
	}
	return bytes.Equal(g, w), nil
}

// equalSeccomp compares every field of two policies without unknown fields.
// A nil optional errno differs from an errno of 0, as on the wire.
func equalSeccomp(a, b *api.LinuxSeccomp) bool {
	if a.DefaultAction != b.DefaultAction || !equalOptional(a.DefaultErrno, b.DefaultErrno) ||
		!slices.Equal(a.Architectures, b.Architectures) || !slices.Equal(a.Flags, b.Flags) ||
		a.ListenerPath != b.ListenerPath || a.ListenerMetadata != b.ListenerMetadata ||
		len(a.Syscalls) != len(b.Syscalls) {
		return false
	}
	for i, x := range a.Syscalls {
		y := b.Syscalls[i]
		if (x == nil) != (y == nil) {
			return false
		}
		if x == nil {
			continue
		}
		if x.Action != y.Action || !equalOptional(x.ErrnoRet, y.ErrnoRet) || !slices.Equal(x.Names, y.Names) ||
			!slices.EqualFunc(x.Args, y.Args, func(p, q *api.LinuxSeccompArg) bool {
				if p == nil || q == nil {
					return p == q
				}
				return p.Index == q.Index && p.Value == q.Value && p.ValueTwo == q.ValueTwo && p.Op == q.Op
			}) {
			return false
		}
	}
	return true
}

func equalOptional(a, b *api.OptionalUInt32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Value == b.Value
}

// unknownFieldsIn reports whether any message in p carries fields this
// build does not know.
func unknownFieldsIn(p *api.LinuxSeccomp) bool {
	unknown := func(m proto.Message) bool { return len(m.ProtoReflect().GetUnknown()) > 0 }
	if unknown(p) || p.DefaultErrno != nil && unknown(p.DefaultErrno) {
		return true
	}
	for _, sc := range p.Syscalls {
		if sc == nil {
			continue
		}
		if unknown(sc) || sc.ErrnoRet != nil && unknown(sc.ErrnoRet) {
			return true
		}
		for _, a := range sc.Args {
			if a != nil && unknown(a) {
				return true
			}
		}
	}
	return false
}
