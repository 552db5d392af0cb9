package nri

import (
	"bytes"
	"sync"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"

	"github.com/nri-seccomp/nri-seccomp/internal/nri/nritest"
)

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

// syncBuffer is a bytes.Buffer safe for the concurrent writers in the
// integration tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger returns a JSON logger writing to the returned buffer.
func testLogger() (*log.Entry, *syncBuffer) {
	buf := &syncBuffer{}
	l := logrus.New()
	l.Out = buf
	l.Formatter = &logrus.JSONFormatter{}
	l.Level = logrus.DebugLevel
	return logrus.NewEntry(l), buf
}
