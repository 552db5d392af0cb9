package convert

import (
	"reflect"
	"testing"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/nritest"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

func TestInputFromNRI(t *testing.T) {
	policy := nritest.DenyProfile("mkdir")
	nriPolicy := api.FromOCILinuxSeccomp(policy)

	tests := []struct {
		name      string
		pod       *api.PodSandbox
		ctr       func() *api.Container
		wantType  profile.Type
		wantCur   *specs.LinuxSeccomp
		wantImage string
	}{{
		name: "no policy and no profile: unconfined",
		pod:  nritest.Pod("prod", "web"),
		ctr:  func() *api.Container { return nritest.Container("app") },
		// The NRI enum's zero value reads RUNTIME_DEFAULT; without a
		// policy that is a lie.
		wantType:  profile.TypeUnconfined,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "nil policy whatever the type says",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT}
			return c
		},
		wantType:  profile.TypeUnconfined,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "nil Linux section",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Linux = nil
			return c
		},
		wantType:  profile.TypeUnconfined,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "runtime default with its policy",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT}
			c.Linux.SeccompPolicy = nriPolicy
			return c
		},
		wantType:  profile.TypeRuntimeDefault,
		wantCur:   policy,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "localhost",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_LOCALHOST, LocalhostRef: "profiles/x.json"}
			c.Linux.SeccompPolicy = nriPolicy
			return c
		},
		wantType:  profile.TypeLocalhost,
		wantCur:   policy,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "policy without a profile description",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Linux.SeccompPolicy = nriPolicy
			return c
		},
		wantType:  profile.TypeRuntimeDefault,
		wantCur:   policy,
		wantImage: "registry.example.com/app:1",
	}, {
		name: "NRI image field wins over the annotation",
		pod:  nritest.Pod("prod", "web"),
		ctr: func() *api.Container {
			c := nritest.Container("app")
			c.Image = &api.Image{Name: "docker.io/library/busybox:1.36"}
			return c
		},
		wantType:  profile.TypeUnconfined,
		wantImage: "docker.io/library/busybox:1.36",
	}}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := InputFromNRI(tc.pod, tc.ctr())
			if in.Namespace != "prod" || in.Pod != "web" || in.PodUID != "uid-web" || in.Container != "app" {
				t.Errorf("identity = %q %q %q %q", in.Namespace, in.Pod, in.PodUID, in.Container)
			}
			if in.ProfileType != tc.wantType {
				t.Errorf("ProfileType = %q, want %q", in.ProfileType, tc.wantType)
			}
			if !reflect.DeepEqual(in.Current, tc.wantCur) {
				t.Errorf("Current = %+v, want %+v", in.Current, tc.wantCur)
			}
			if in.Image != tc.wantImage {
				t.Errorf("Image = %q, want %q", in.Image, tc.wantImage)
			}
			if !reflect.DeepEqual(in.Labels, map[string]string{"app": "web"}) {
				t.Errorf("Labels = %v", in.Labels)
			}
		})
	}
}

func TestInputFromNRINilMaps(t *testing.T) {
	in := InputFromNRI(&api.PodSandbox{Namespace: "ns", Name: "p"}, &api.Container{Name: "c"})
	if in.Labels == nil || in.Annotations == nil {
		t.Fatalf("Labels/Annotations must be non-nil empty maps, got %v %v", in.Labels, in.Annotations)
	}
	if in.Image != "" {
		t.Errorf("Image = %q, want empty", in.Image)
	}
}

func TestInputFromNRIDoesNotAliasPodMaps(t *testing.T) {
	pod := nritest.Pod("prod", "web")
	in := InputFromNRI(pod, nritest.Container("app"))
	in.Labels["x"] = "y"
	in.Annotations["x"] = "y"
	if _, ok := pod.Labels["x"]; ok {
		t.Error("Input.Labels aliases the pod's labels")
	}
	if _, ok := pod.Annotations["x"]; ok {
		t.Error("Input.Annotations aliases the pod's annotations")
	}
}

func TestEffectiveAnnotations(t *testing.T) {
	pod := nritest.Pod("prod", "web")
	pod.Annotations = map[string]string{
		"seccomp.example/tier":               "plain",
		"seccomp.example/tier/pod":           "pod-scoped",
		"seccomp.example/tier/container.app": "app-scoped",
		"other/container.sidecar":            "sidecar-only",
		"only/pod":                           "p",
	}

	app := InputFromNRI(pod, nritest.Container("app")).Annotations
	want := map[string]string{
		"seccomp.example/tier":               "app-scoped",
		"seccomp.example/tier/pod":           "pod-scoped",
		"seccomp.example/tier/container.app": "app-scoped",
		"other/container.sidecar":            "sidecar-only",
		"only/pod":                           "p",
		"only":                               "p",
	}
	if !reflect.DeepEqual(app, want) {
		t.Errorf("app annotations:\n got %v\nwant %v", app, want)
	}

	sidecar := InputFromNRI(pod, nritest.Container("sidecar")).Annotations
	if got := sidecar["seccomp.example/tier"]; got != "pod-scoped" {
		t.Errorf("sidecar tier = %q, want pod-scoped", got)
	}
	if got := sidecar["other"]; got != "sidecar-only" {
		t.Errorf("sidecar other = %q, want sidecar-only", got)
	}
	if _, ok := app["other"]; ok {
		t.Error("a container-scoped annotation leaked to another container")
	}
}

func TestSeccompRoundTrip(t *testing.T) {
	in := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActErrno,
		DefaultErrnoRet:  nritest.Uintp(38),
		Architectures:    []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64},
		Flags:            []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG"},
		ListenerPath:     "/run/listener.sock",
		ListenerMetadata: "meta",
		Syscalls: []specs.LinuxSyscall{{
			Names:  []string{"read", "write"},
			Action: specs.ActAllow,
		}, {
			Names:    []string{"personality"},
			Action:   specs.ActAllow,
			ErrnoRet: nritest.Uintp(1),
			Args: []specs.LinuxSeccompArg{{
				Index: 0, Value: 0xffffffff, ValueTwo: 2, Op: specs.OpEqualTo,
			}},
		}},
	}

	nri := SeccompToNRI(in)
	// Through the wire and back, as the runtime sees it.
	data, err := proto.Marshal(nri)
	if err != nil {
		t.Fatal(err)
	}
	var wire api.LinuxSeccomp
	if err := proto.Unmarshal(data, &wire); err != nil {
		t.Fatal(err)
	}
	out := SeccompFromNRI(&wire)
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip changed the policy:\n got %+v\nwant %+v", out, in)
	}
}

func TestSeccompNil(t *testing.T) {
	if SeccompToNRI(nil) != nil {
		t.Error("SeccompToNRI(nil) != nil")
	}
	if SeccompFromNRI(nil) != nil {
		t.Error("SeccompFromNRI(nil) != nil")
	}
}

func TestLostDefaultErrno(t *testing.T) {
	tests := []struct {
		name string
		s    *specs.LinuxSeccomp
		want bool
	}{
		{"nil", nil, false},
		{"no default errno", nritest.DenyProfile("mkdir"), false},
		{"EPERM is what runc uses anyway", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: nritest.Uintp(1)}, false},
		{"ENOSYS is lost", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: nritest.Uintp(38)}, true},
	}
	for _, tc := range tests {
		if got := LostDefaultErrno(tc.s); got != tc.want {
			t.Errorf("%s: lostDefaultErrno = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The slab conversion gives what NRI's own conversion gives (absent
// arguments as nil), over containerd's RuntimeDefault and rules with several
// arguments, errnos and neither; and appending to one rule's arguments
// cannot reach the next rule's.
func TestSyscallsFromNRIMatchesNRI(t *testing.T) {
	builtins, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	many := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"a"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 2, ValueTwo: 3, Op: specs.OpMaskedEqual}}},
		{Names: []string{"b"}, Action: specs.ActErrno, ErrnoRet: nritest.Uintp(38)},
		{Names: []string{"c", "d"}, Action: specs.ActAllow, ErrnoRet: nritest.Uintp(0), Args: []specs.LinuxSeccompArg{{Index: 5, Value: 7, Op: specs.OpNotEqual}}},
		{Names: []string{"e"}, Action: specs.ActLog},
	}}
	for name, s := range map[string]*specs.LinuxSeccomp{"runtime-default": builtins["runtime-default"], "mixed": many} {
		msg := SeccompToNRI(s)
		want := api.ToOCILinuxSyscalls(msg.GetSyscalls())
		for i := range want {
			if len(want[i].Args) == 0 {
				want[i].Args = nil
			}
		}
		got := syscallsFromNRI(msg.GetSyscalls())
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
	got := syscallsFromNRI(SeccompToNRI(many).GetSyscalls())
	_ = append(got[0].Args, specs.LinuxSeccompArg{Index: 9})
	if got[2].Args[0].Index != 5 {
		t.Fatal("appending to a rule's arguments overwrote the next rule's")
	}
	if syscallsFromNRI(nil) != nil {
		t.Fatal("no rules converts to nil")
	}
}
