package policyhost

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/log"
)

// ErrReload marks a policy reload that was refused; the previous policy stays
// in force.
var ErrReload = errors.New("policy reload failed")

// policyState is one loaded policy. It is immutable: a reload builds a new
// one and swaps the pointer.
type policyState struct {
	decider  Decider // nil: no policy yet (waiting for the runtime to name one)
	path     string  // where it was loaded from; what Reload reads again
	revision string  // the decider's revision, when it has one
}

// revisioner is implemented by *engine.Engine: a digest of the policy, so
// that a reload can tell a real change from a touched file.
type revisioner interface{ Revision() string }

func newPolicyState(d Decider, path string) *policyState {
	st := &policyState{decider: d, path: path}
	if r, ok := d.(revisioner); ok {
		st.revision = r.Revision()
	}
	return st
}

// get is nil-safe: no state means no policy.
func (st *policyState) get() Decider {
	if st == nil {
		return nil
	}
	return st.decider
}

// policyChanged calls Options.OnChange: another policy is in force.
func (h *Host) policyChanged() {
	if h.onChange != nil {
		h.onChange()
	}
}

func (h *Host) swap(st *policyState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.cur.Load()
	h.cur.Store(st)
	h.metrics.PolicyLoaded(st.revision, true, h.now())
	h.policyChanged()
	if old == nil || old.path != st.path {
		select {
		case h.moved <- struct{}{}:
		default: // one pending notice is enough
		}
	}
}

// Path is the file or directory the policy in force was loaded from
// ("" when none is known).
func (h *Host) Path() string {
	if st := h.cur.Load(); st != nil {
		return st.path
	}
	return ""
}

// Revision is the revision of the policy in force ("" when none is
// loaded, or the decider has no revision).
func (h *Host) Revision() string {
	if st := h.cur.Load(); st != nil {
		return st.revision
	}
	return ""
}

// Reload loads the policy again from where the one in force came from, and
// swaps it in only if it loads completely: the loader (engine.Load) parses
// and validates every rule and profile before returning an engine, so a
// half-valid policy is never used. On failure the previous policy stays in
// force, every problem is logged, and the failure shows in the metrics and
// /readyz until a later reload succeeds. A creation in flight keeps the
// decider it started with: it sees the old or the new policy, never a mix.
//
// changed is false when the new policy has the same revision as the old.
func (h *Host) Reload(reason string) (changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	old := h.cur.Load()
	logger := h.logger.WithField("reason", reason)
	fail := func(err error) (bool, error) {
		err = fmt.Errorf("%w: %w", ErrReload, err)
		h.metrics.PolicyLoadFailed(err, h.now())
		if old.get() != nil {
			logger = logger.WithField("revision_kept", old.revision)
		}
		// One line per problem, so that none is lost in a long message
		// and each can be grepped for by file name.
		for _, line := range splitLines(err.Error()) {
			logger.WithField("problem", line).Error("policy reload refused, keeping the policy in force")
		}
		return false, err
	}
	if old == nil || old.path == "" {
		return fail(errors.New("no policy path to reload from"))
	}
	if h.loader == nil {
		return fail(errors.New("this daemon cannot load policies"))
	}
	d, err := h.loader(old.path)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", old.path, err))
	}
	if d == nil {
		return fail(fmt.Errorf("%s: the loader returned no policy", old.path))
	}
	st := newPolicyState(d, old.path)
	changed = old.get() == nil || st.revision == "" || st.revision != old.revision
	if !changed {
		// Keep the old engine and its warm decision cache.
		h.metrics.PolicyLoaded(st.revision, false, h.now())
		logger.WithField("revision", st.revision).Info("policy reloaded, unchanged")
		return false, nil
	}
	h.cur.Store(st)
	h.metrics.PolicyLoaded(st.revision, true, h.now())
	h.policyChanged()
	logger.WithFields(log.Fields{"policy": st.path, "revision": st.revision, "previous_revision": old.revision}).Info("policy reloaded")
	return true, nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
