package plugin

import (
	"sync"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nriPolicies converts the engine's seccomp sections to NRI's type once per
// section. The engine shares one section between all the decisions that
// write it, and a RuntimeDefault-sized conversion is hundreds of
// allocations per container. The NRI message is only read after that (the
// stub marshals it; validation compares with it), so one copy serves every
// answer.
type nriPolicies struct {
	mu sync.Mutex
	m  map[*specs.LinuxSeccomp]*api.LinuxSeccomp
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
	if p, ok := c.m[s]; ok {
		return p
	}
	if c.m == nil || len(c.m) >= maxNRIPolicies {
		c.m = make(map[*specs.LinuxSeccomp]*api.LinuxSeccomp, maxNRIPolicies)
	}
	p := SeccompToNRI(s)
	c.m[s] = p
	return p
}
