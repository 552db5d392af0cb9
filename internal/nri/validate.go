package nri

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// ErrValidation is the cause of every adjustment the plugin rejects in
// ValidateContainerAdjustment; the runtime then fails the creation.
var ErrValidation = errors.New("nri-seccomp rejected the container adjustment")

// Reasons for a rejection, also the metrics' reason label.
const (
	reasonForeignOwner = "foreign_owner" // another plugin set the seccomp policy
	reasonMissing      = "missing"       // the policy asked for a change that is not in the adjustment
	reasonAltered      = "altered"       // the adjustment's policy is not the one this plugin answered
	reasonUnverifiable = "unverifiable"  // no decision to compare with (engine error)
)

// ValidateContainerAdjustment checks the final adjustment of a container,
// after every plugin has answered, and rejects it when its seccomp policy is
// not the one this plugin decided:
//
//   - another plugin set the seccomp policy: NRI lets any plugin replace the
//     whole section, and a later or earlier plugin could loosen it;
//   - the policy required a change and the adjustment does not carry it, or
//     carries a different policy.
//
// Being a validator also closes two fail-open windows of containerd 2.4.2
// (NRI 0.12.3): when this plugin crashed, or hung past the request timeout,
// NRI drops it from the creation it was answering and would create that
// container unadjusted (containerd/nri#316), but it still calls the same
// plugin as a validator for that creation; the call fails on the closed
// connection and NRI refuses the container. See docs/security.md.
func (p *Plugin) ValidateContainerAdjustment(ctx context.Context, req *api.ValidateContainerAdjustmentRequest) error {
	reason, err := p.checkAdjustment(req)
	if err != nil {
		p.metrics.Validation(true, reason)
		// The entry is built only for a rejection: an accepted
		// adjustment logs nothing, and this call runs for every container.
		pod, ctr := req.GetPod(), req.GetContainer()
		p.logger.WithContext(ctx).WithFields(log.Fields{
			"pod":          pod.GetNamespace() + "/" + pod.GetName(),
			"container":    ctr.GetName(),
			"container_id": ctr.GetId(),
		}).WithError(err).WithField("reason", reason).Error("container adjustment rejected")
		return err
	}
	p.metrics.Validation(false, "")
	return nil
}

func (p *Plugin) checkAdjustment(req *api.ValidateContainerAdjustmentRequest) (reason string, _ error) {
	pod, ctr := req.GetPod(), req.GetContainer()
	id := ctr.GetId()
	reject := func(reason, format string, args ...any) (string, error) {
		return reason, fmt.Errorf("%w: %s/%s container %q: %s", ErrValidation,
			pod.GetNamespace(), pod.GetName(), ctr.GetName(), fmt.Sprintf(format, args...))
	}

	// Taken first, so that a rejected container's answer does not linger.
	want, recorded := p.answers.take(id)

	self := ""
	if s := p.self.Load(); s != nil {
		self = *s
	}
	var owner string
	claimed := false
	if req.GetOwners() != nil {
		owner, claimed = req.GetOwners().SeccompPolicyOwner(id)
	}
	if claimed && owner != self {
		return reject(reasonForeignOwner, "seccomp policy set by plugin %q; only %q may set it", owner, self)
	}

	if !recorded {
		// No answer on record (a reconnect between create and
		// validation): decide again from the pristine container.
		var err error
		if want, err = p.expected(pod, ctr); err != nil {
			return reject(reasonUnverifiable, "cannot compute the expected seccomp policy: %v", err)
		}
	}
	got := req.GetAdjust().GetLinux().GetSeccompPolicy()
	same := false
	if want != nil && got != nil {
		var err error
		if same, err = p.converted.same(got, want); err != nil {
			return reject(reasonUnverifiable, "cannot compare the adjustment's seccomp policy: %v", err)
		}
	}
	switch {
	case want == nil && claimed:
		return reject(reasonAltered, "a seccomp policy was set, but the policy asked for no change")
	case want == nil:
		return "", nil
	case !claimed || got == nil:
		return reject(reasonMissing, "the policy requires a seccomp adjustment and the adjustment has none")
	case !same:
		return reject(reasonAltered, "the adjustment's seccomp policy differs from the one nri-seccomp decided")
	}
	return "", nil
}

// expected is the seccomp policy the current policy gives ctr, nil for no
// change.
func (p *Plugin) expected(pod *api.PodSandbox, ctr *api.Container) (*api.LinuxSeccomp, error) {
	d := p.policy.Current()
	if d == nil {
		return nil, errors.New("no policy loaded")
	}
	dec, _, err := dryrun.Evaluate(d, convert.InputFromNRI(pod, ctr))
	if err != nil {
		return nil, err
	}
	if !dec.Changed {
		return nil, nil
	}
	return p.converted.get(dec), nil
}

// answerBook remembers, per container, the seccomp policy CreateContainer
// answered (nil: no change) until ValidateContainerAdjustment takes it.
// Validation compares with what was answered rather than deciding again, so
// a policy reload between the two calls cannot cause a false rejection.
type answerBook struct {
	mu sync.Mutex
	m  map[string]answer
}

type answer struct {
	policy *api.LinuxSeccomp
	at     time.Time
}

// answerTTL bounds how long an answer waits for its validation. NRI
// validates right after the create, under the same lock; an answer that
// waits longer belongs to a creation that failed in between (another plugin
// refused it), and is dropped so the book cannot grow without bound.
const answerTTL = time.Minute

func (b *answerBook) put(id string, policy *api.LinuxSeccomp, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]answer{}
	}
	if len(b.m) >= 64 {
		for k, a := range b.m {
			if now.Sub(a.at) > answerTTL {
				delete(b.m, k)
			}
		}
	}
	b.m[id] = answer{policy: policy, at: now}
}

func (b *answerBook) take(id string) (*api.LinuxSeccomp, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.m[id]
	if ok {
		delete(b.m, id)
	}
	return a.policy, ok
}

func (b *answerBook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
