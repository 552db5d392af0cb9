package plugin

import (
	"bytes"
	"sync"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

// fakeDecider answers with fn and remembers every input.
type fakeDecider struct {
	mu     sync.Mutex
	inputs []Input
	fn     func(Input) (*Decision, error)
}

func (f *fakeDecider) Decide(in Input) (*Decision, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.mu.Unlock()
	return f.fn(in)
}

func (f *fakeDecider) calls() []Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Input(nil), f.inputs...)
}

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

func uintp(v uint) *uint { return &v }

// denyProfile is a small but complete policy used as an engine result.
func denyProfile(names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{{
			Names:    names,
			Action:   specs.ActErrno,
			ErrnoRet: uintp(1),
		}},
	}
}

func testPod(ns, name string) *api.PodSandbox {
	return &api.PodSandbox{
		Id:          "sandbox-" + name,
		Name:        name,
		Uid:         "uid-" + name,
		Namespace:   ns,
		Labels:      map[string]string{"app": name},
		Annotations: map[string]string{"team": "blue"},
	}
}

func testContainer(name string) *api.Container {
	return &api.Container{
		Id:          "ctr-" + name,
		Name:        name,
		Annotations: map[string]string{ImageNameAnnotation: "registry.example.com/" + name + ":1"},
		Linux:       &api.LinuxContainer{},
	}
}
