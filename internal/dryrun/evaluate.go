package dryrun

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// ErrRefused is returned to the runtime when no seccomp decision could be
// made for a container. The runtime then fails the creation: a container
// must never start without the policy it should have had.
var ErrRefused = errors.New("nri-seccomp refused the container")

// Decider makes the seccomp decision for one container. *engine.Engine
// implements it; tests use fakes.
type Decider interface {
	Decide(engine.Input) (*engine.Decision, error)
}

// Evaluate asks d for a decision and checks it the way the daemon acts on
// it. The daemon and `explain` both go through here, so a dry run shows the
// same refusals and notes as the real thing. notes are the engine's notes
// plus the plugin's own, in a fresh slice: the engine caches decisions, so
// its slices are shared and must not be appended to.
//
// A panic in the engine becomes an error here, so that explain reports the
// refusal the daemon would make instead of crashing.
func Evaluate(d Decider, in engine.Input) (dec *engine.Decision, notes []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			dec, notes = nil, nil
			err = &PanicError{value: r, Stack: debug.Stack()}
		}
	}()
	dec, err = d.Decide(in)
	if err != nil {
		return nil, nil, err
	}
	if dec == nil {
		return nil, nil, errors.New("internal error: the engine returned no decision")
	}
	notes = append([]string(nil), dec.Notes...)
	if !dec.Changed {
		return dec, notes, nil
	}
	if dec.Seccomp == nil {
		// Removing seccomp can only loosen; the engine must never ask
		// for it, so treat it as the bug it would be.
		return dec, notes, errors.New("internal error: the engine asked to remove the seccomp policy")
	}
	if convert.LostDefaultErrno(dec.Seccomp) {
		notes = append(notes, fmt.Sprintf(
			"defaultErrnoRet %d is dropped by the runtime's NRI conversion; the default action returns EPERM",
			*dec.Seccomp.DefaultErrnoRet))
	}
	return dec, notes, nil
}

// PanicError is a recovered panic. Its message is short, since it travels to
// containerd and the kubelet; the stack goes to the daemon's log.
type PanicError struct {
	value any
	// Stack is where the engine panicked, for the daemon's log.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error: panic in the engine: %v", e.value)
}
