package nri

import (
	"bytes"
	"slices"
	"sync"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// nriPolicies converts the engine's seccomp sections to NRI's type once per
// section. The engine shares one section between all the decisions that
// write it, and a RuntimeDefault-sized conversion is hundreds of
// allocations per container. The NRI message is only read after that (the
// stub marshals it; validation compares with it), so one copy serves every
// answer.
//
// It also keeps the digest of what containerd writes for each section
// (writtenDigest): for a section with a default errno that is a second
// digest of a RuntimeDefault-sized section, too much to repeat per
// container.
type nriPolicies struct {
	mu sync.Mutex
	m  map[*specs.LinuxSeccomp]*nriPolicy
}

type nriPolicy struct {
	nri    *api.LinuxSeccomp
	digest string // "" until written asks for it
}

// maxNRIPolicies bounds the cache: a node runs a handful of distinct
// sections; the bound only keeps a pathological policy from holding many.
const maxNRIPolicies = 64

func (c *nriPolicies) get(s *specs.LinuxSeccomp) *api.LinuxSeccomp {
	if s == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entry(s).nri
}

// written is convert.WrittenDigest(dec), computed once per section.
func (c *nriPolicies) written(dec *engine.Decision) string {
	if !dec.Changed || dec.Seccomp == nil || dec.Seccomp.DefaultErrnoRet == nil {
		return dec.Digest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(dec.Seccomp)
	if e.digest == "" {
		e.digest = convert.WrittenDigest(dec)
	}
	return e.digest
}

// entry finds or makes s's entry; c.mu is held.
func (c *nriPolicies) entry(s *specs.LinuxSeccomp) *nriPolicy {
	if e, ok := c.m[s]; ok {
		return e
	}
	if c.m == nil || len(c.m) >= maxNRIPolicies {
		c.m = make(map[*specs.LinuxSeccomp]*nriPolicy, maxNRIPolicies)
	}
	e := &nriPolicy{nri: convert.SeccompToNRI(s)}
	c.m[s] = e
	return e
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
