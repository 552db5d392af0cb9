package posture

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// fakeContainerd serves the two services posture calls, with containers
// per namespace; it refuses a call without the namespace header, as
// containerd does.
type fakeContainerd struct {
	containersapi.UnimplementedContainersServer
	byNS    map[string][]*containersapi.Container
	nsOrder []string
	failNS  string
}

type fakeNamespaces struct {
	namespacesapi.UnimplementedNamespacesServer
	f *fakeContainerd
}

func (fn fakeNamespaces) List(context.Context, *namespacesapi.ListNamespacesRequest) (*namespacesapi.ListNamespacesResponse, error) {
	resp := &namespacesapi.ListNamespacesResponse{}
	for _, n := range fn.f.nsOrder {
		resp.Namespaces = append(resp.Namespaces, &namespacesapi.Namespace{Name: n})
	}
	return resp, nil
}

func (f *fakeContainerd) ListStream(_ *containersapi.ListContainersRequest, s containersapi.Containers_ListStreamServer) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	ns := md.Get(namespaceHeader)
	if len(ns) != 1 {
		return status.Error(codes.FailedPrecondition, "namespace is required")
	}
	if ns[0] == f.failNS {
		return status.Error(codes.Internal, "boom")
	}
	for _, c := range f.byNS[ns[0]] {
		if err := s.Send(&containersapi.ListContainerMessage{Container: c}); err != nil {
			return err
		}
	}
	return nil
}

func serveFake(t *testing.T, f *fakeContainerd) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	namespacesapi.RegisterNamespacesServer(srv, fakeNamespaces{f: f})
	containersapi.RegisterContainersServer(srv, f)
	go srv.Serve(l) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	return sock
}

func TestContainerd(t *testing.T) {
	f := &fakeContainerd{
		nsOrder: []string{"default", "k8s.io"},
		byNS: map[string][]*containersapi.Container{
			"default": {{ID: "my-box", Image: "busybox"}, {ID: idC, Image: "dup"}},
			"k8s.io": {
				// the seccomp section of the spec, digested as the plugin logs it
				{ID: idB, Image: "web:1", Labels: map[string]string{LabelCRIKind: "container", LabelPodName: "web"}, Spec: &anypb.Any{
					Value: []byte(`{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}}}`)}},
				{ID: idC, Image: "pause"},
				// crictl: no io.kubernetes labels, the names in the spec's annotations
				{ID: idD, Image: "busybox", Labels: map[string]string{LabelCRIKind: "container"}, Spec: &anypb.Any{
					TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec",
					Value:   []byte(`{"ociVersion":"1.2.0","annotations":{"io.kubernetes.cri.sandbox-namespace":"team","io.kubernetes.cri.sandbox-name":"db","io.kubernetes.cri.container-name":"pg"}}`)}},
				// a spec that is not JSON adds nothing
				{ID: idE, Labels: map[string]string{LabelPodName: "kept"}, Spec: &anypb.Any{Value: []byte{0x0a, 0x01}}},
			},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta, warnings, err := Containerd(ctx, serveFake(t, f))
	if err != nil {
		t.Fatal(err)
	}
	webSeccomp := profile.Digest(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}})
	want := map[string]Meta{
		"my-box": {Namespace: "default", Image: "busybox"},
		idC:      {Namespace: "default", Image: "dup"},
		idB: {Namespace: "k8s.io", Image: "web:1", Labels: map[string]string{LabelCRIKind: "container", LabelPodName: "web"},
			SpecRead: true, Seccomp: webSeccomp},
		// a spec without linux.seccomp: read, no section
		idD: {Namespace: "k8s.io", Image: "busybox", Labels: map[string]string{LabelCRIKind: "container",
			LabelPodNamespace: "team", LabelPodName: "db", LabelContainerName: "pg"}, SpecRead: true},
		idE: {Namespace: "k8s.io", Labels: map[string]string{LabelPodName: "kept"}},
	}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("meta:\n got %+v\nwant %+v", meta, want)
	}
	wantWarn := []string{"container " + idC + " is in namespaces default and k8s.io; showing default"}
	if !reflect.DeepEqual(warnings, wantWarn) {
		t.Errorf("warnings %q, want %q", warnings, wantWarn)
	}
}

func TestContainerdErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := &fakeContainerd{nsOrder: []string{"default", "broken"}, failNS: "broken"}
	_, _, err := Containerd(ctx, serveFake(t, f))
	if !errors.Is(err, ErrContainerd) || !containsAll(err.Error(), "namespace broken: listing containers", "boom") {
		t.Errorf("err = %v, want ErrContainerd naming namespace broken", err)
	}
	_, _, err = Containerd(ctx, filepath.Join(t.TempDir(), "none.sock"))
	if !errors.Is(err, ErrContainerd) || !containsAll(err.Error(), "listing namespaces") {
		t.Errorf("err = %v, want ErrContainerd listing namespaces", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
