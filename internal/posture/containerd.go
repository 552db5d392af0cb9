package posture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// This file talks to containerd through the generated gRPC services of the
// small github.com/containerd/containerd/api module, not through the
// containerd/v2 client: posture needs two read-only calls (list namespaces,
// list containers), and the full client would pull in containerd's
// snapshotters, content store, image handling and their dependencies for
// nothing. The price is that the namespace header below is spelled out
// here rather than taken from containerd's namespaces package.

// ErrContainerd marks containerd's API being unreachable or failing.
var ErrContainerd = errors.New("containerd")

// namespaceHeader is the gRPC metadata key containerd reads the namespace
// from (containerd's pkg/namespaces.GRPCHeader).
const namespaceHeader = "containerd-namespace"

// maxRecvMsg matches containerd's own client: a container's record holds
// its whole OCI spec.
const maxRecvMsg = 16 << 20

// CRI labels on containers created through the CRI plugin.
const (
	LabelCRIKind       = "io.cri-containerd.kind" // "sandbox" or "container"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelContainerName = "io.kubernetes.container.name"
)

// OCI annotations containerd's CRI plugin sets on every container it
// creates; the io.kubernetes.* labels above come from the kubelet's
// container config and are missing when another CRI client (crictl)
// creates the container.
const (
	annotationSandboxNamespace = "io.kubernetes.cri.sandbox-namespace"
	annotationSandboxName      = "io.kubernetes.cri.sandbox-name"
	annotationContainerName    = "io.kubernetes.cri.container-name"
)

// Meta is what containerd knows about one container.
type Meta struct {
	Namespace string // containerd namespace (k8s.io for CRI, default for ctr)
	Image     string
	Labels    map[string]string
	// SpecRead says the container's OCI spec was decoded; Seccomp then
	// holds profile.Digest of its linux.seccomp section ("" when it has
	// none), the digest the plugin logs for what it answered.
	SpecRead bool
	Seccomp  string
}

// CRIKind returns "sandbox", "container" or "" (not created through CRI).
func (m Meta) CRIKind() string { return m.Labels[LabelCRIKind] }

// Containerd lists every container of every namespace of the containerd
// listening on socket, by id. Ids are unique per namespace only: two
// namespaces may hold the same id, then the first namespace in containerd's
// order wins and the clash is reported in the returned warnings.
func Containerd(ctx context.Context, socket string) (map[string]Meta, []string, error) {
	abs, err := filepath.Abs(socket)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: socket %s: %w", ErrContainerd, socket, err)
	}
	conn, err := grpc.NewClient("unix://"+abs,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrContainerd, abs, err)
	}
	defer conn.Close()
	nsResp, err := namespacesapi.NewNamespacesClient(conn).List(ctx, &namespacesapi.ListNamespacesRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: listing namespaces: %w", ErrContainerd, abs, err)
	}
	out := map[string]Meta{}
	var warnings []string
	cc := containersapi.NewContainersClient(conn)
	for _, ns := range nsResp.GetNamespaces() {
		name := ns.GetName()
		err := listNamespace(ctx, cc, name, func(c *containersapi.Container) {
			if prev, dup := out[c.GetID()]; dup {
				warnings = append(warnings, fmt.Sprintf("container %s is in namespaces %s and %s; showing %s",
					c.GetID(), prev.Namespace, name, prev.Namespace))
				return
			}
			m := Meta{Namespace: name, Image: c.GetImage()}
			m.Labels, m.SpecRead, m.Seccomp = fromSpec(c)
			out[c.GetID()] = m
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: namespace %s: listing containers: %w", ErrContainerd, abs, name, err)
		}
	}
	return out, warnings, nil
}

// listNamespace streams the containers of one namespace, so that a node
// with many containers is not one message over the size limit.
func listNamespace(ctx context.Context, cc containersapi.ContainersClient, ns string, fn func(*containersapi.Container)) error {
	ctx = metadata.AppendToOutgoingContext(ctx, namespaceHeader, ns)
	stream, err := cc.ListStream(ctx, &containersapi.ListContainersRequest{})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(msg.GetContainer())
	}
}

// fromSpec reads the container's OCI spec. It returns the container's
// labels, with the pod and container names filled in from the spec's CRI
// annotations where the labels lack them, and the digest of the spec's
// linux.seccomp section (ok false when the spec does not decode). The spec
// is JSON (containerd's typeurl registers runtime-spec's Spec as JSON); its
// size is bounded by maxRecvMsg.
func fromSpec(c *containersapi.Container) (labels map[string]string, ok bool, seccomp string) {
	labels = c.GetLabels()
	var spec struct {
		Annotations map[string]string `json:"annotations"`
		Linux       *struct {
			Seccomp *specs.LinuxSeccomp `json:"seccomp"`
		} `json:"linux"`
	}
	if json.Unmarshal(c.GetSpec().GetValue(), &spec) != nil {
		return labels, false, ""
	}
	if spec.Linux != nil {
		seccomp = profile.Digest(spec.Linux.Seccomp)
	}
	if len(spec.Annotations) == 0 {
		return labels, true, seccomp
	}
	out := make(map[string]string, len(labels)+3)
	maps.Copy(out, labels)
	for label, ann := range map[string]string{
		LabelPodNamespace:  annotationSandboxNamespace,
		LabelPodName:       annotationSandboxName,
		LabelContainerName: annotationContainerName,
	} {
		if v, ok := spec.Annotations[ann]; ok && out[label] == "" {
			out[label] = v
		}
	}
	return out, true, seccomp
}
