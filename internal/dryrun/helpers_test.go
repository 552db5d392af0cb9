package dryrun

import "github.com/nri-seccomp/nri-seccomp/internal/nri/nritest"

// The shared fixtures, under the names these tests use.
type fakeDecider = nritest.FakeDecider

var (
	uintp         = nritest.Uintp
	denyProfile   = nritest.DenyProfile
	testPod       = nritest.Pod
	testContainer = nritest.Container
	policyDecider = nritest.PolicyDecider
	errEngine     = nritest.ErrEngine
	runtimeWrites = nritest.RuntimeWrites
)
