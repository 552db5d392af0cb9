// Package nritest holds the fixtures the tests of the NRI edge, its
// conversion and the dry runs share: NRI pods and containers, a fake
// decider and a stand-in policy.
package nritest

import (
	"errors"
	"sync"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// FakeDecider answers with Fn and remembers every input.
type FakeDecider struct {
	mu     sync.Mutex
	inputs []engine.Input
	Fn     func(engine.Input) (*engine.Decision, error)
}

// Decide records in and returns Fn's answer.
func (f *FakeDecider) Decide(in engine.Input) (*engine.Decision, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.mu.Unlock()
	return f.Fn(in)
}

// Calls returns the inputs Decide was called with, in order.
func (f *FakeDecider) Calls() []engine.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Input(nil), f.inputs...)
}

// Uintp returns a pointer to v.
func Uintp(v uint) *uint { return &v }

// DenyProfile is a small but complete policy used as an engine result.
func DenyProfile(names ...string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{{
			Names:    names,
			Action:   specs.ActErrno,
			ErrnoRet: Uintp(1),
		}},
	}
}

// Pod is an NRI pod named name in namespace ns, with an app label and a
// team annotation.
func Pod(ns, name string) *api.PodSandbox {
	return &api.PodSandbox{
		Id:          "sandbox-" + name,
		Name:        name,
		Uid:         "uid-" + name,
		Namespace:   ns,
		Labels:      map[string]string{"app": name},
		Annotations: map[string]string{"team": "blue"},
	}
}

// Container is an NRI container named name whose image is named by CRI's
// image-name annotation (convert.ImageNameAnnotation).
func Container(name string) *api.Container {
	return &api.Container{
		Id:          "ctr-" + name,
		Name:        name,
		Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example.com/" + name + ":1"},
		Linux:       &api.LinuxContainer{},
	}
}

// ErrEngine is the error PolicyDecider returns for namespace "fail".
var ErrEngine = errors.New("engine exploded")

// PolicyDecider is a stand-in for the engine with one behaviour per
// namespace.
func PolicyDecider(in engine.Input) (*engine.Decision, error) {
	switch in.Namespace {
	case "prod":
		if in.Current != nil {
			// Tighten: keep what the container has, deny more.
			out := *in.Current
			out.Syscalls = append(append([]specs.LinuxSyscall(nil), in.Current.Syscalls...),
				specs.LinuxSyscall{Names: []string{"keyctl"}, Action: specs.ActErrno, ErrnoRet: Uintp(1)})
			return &engine.Decision{Rules: []engine.RuleResult{{Name: "floor", Action: "tighten"}}, Mode: "enforce", Changed: true, Seccomp: &out, Digest: profile.Digest(&out)}, nil
		}
		return &engine.Decision{Rules: []engine.RuleResult{{Name: "inject", Action: "inject"}}, Mode: "enforce", Changed: true,
			Seccomp: DenyProfile("mkdir", "mkdirat", in.Container), Digest: "sha256:" + in.Container}, nil
	case "kube-system":
		return &engine.Decision{Rules: []engine.RuleResult{{Name: "node-agents", Action: "exempt"}}, Exempt: true}, nil
	case "fail":
		return nil, ErrEngine
	case "boom":
		var m map[string]int
		m["x"]++ // a real nil-map panic
		return nil, nil
	default:
		return &engine.Decision{Skipped: []engine.RuleResult{{Name: "inject", Reason: "namespace does not match"}}}, nil
	}
}

// RuntimeWrites is the section containerd writes into the OCI spec from the
// plugin's adjustment: the fields NRI's runtime side copies
// (github.com/containerd/nri pkg/runtime-tools/generate,
// Generator.AdjustSeccompPolicy, v0.12.3), which leaves out the default
// errno. Kept as a copy rather than imported: that package pulls in a
// module this one does not otherwise need.
func RuntimeWrites(p *api.LinuxSeccomp) *specs.LinuxSeccomp {
	archs := make([]specs.Arch, len(p.Architectures))
	for i, a := range p.Architectures {
		archs[i] = specs.Arch(a)
	}
	flags := make([]specs.LinuxSeccompFlag, len(p.Flags))
	for i, f := range p.Flags {
		flags[i] = specs.LinuxSeccompFlag(f)
	}
	return &specs.LinuxSeccomp{
		DefaultAction:    specs.LinuxSeccompAction(p.DefaultAction),
		Architectures:    archs,
		ListenerPath:     p.ListenerPath,
		ListenerMetadata: p.ListenerMetadata,
		Flags:            flags,
		Syscalls:         api.ToOCILinuxSyscalls(p.Syscalls),
	}
}
