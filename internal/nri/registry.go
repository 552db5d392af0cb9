package nri

import (
	"context"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"

	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
)

// containerRegistry is the registry the plugin feeds; an alias so that
// plugin.go needs no import for a field that is optional.
type containerRegistry = *containers.Registry

// The lifecycle events that keep the registry current and the decision log's
// start records. Configure subscribes to them only when a registry or a
// decision log needs them (Plugin.events).
var (
	_ stub.StartContainerInterface     = (*Plugin)(nil)
	_ stub.PostStartContainerInterface = (*Plugin)(nil)
	_ stub.RemoveContainerInterface    = (*Plugin)(nil)
)

// SetRegistry makes the plugin record every container it sees in reg: its
// pod and name and decision at creation, its init PID at start, and drop it
// at removal. Call it before Run.
func (p *Plugin) SetRegistry(reg *containers.Registry) { p.reg = reg }

// noteDecision records the identity and decision of a container the plugin
// let through. A refused container never starts, so it is not recorded.
func (p *Plugin) noteDecision(rec decisionlog.Entry) {
	if p.reg == nil || rec.Error != "" || rec.ContainerID == "" {
		return
	}
	rules := rec.Rules
	if rules == nil {
		rules = []string{}
	}
	p.reg.Upsert(containers.Container{
		ID:        rec.ContainerID,
		Namespace: rec.Namespace,
		Pod:       rec.Pod,
		PodUID:    rec.PodUID,
		Name:      rec.Container,
		Rules:     rules,
		Mode:      rec.Mode,
		Digest:    rec.Digest,
	})
}

// containerFromNRI is the registry's view of an NRI container: identity and
// PID (0 until the runtime has started the task).
func containerFromNRI(pod *api.PodSandbox, ctr *api.Container) containers.Container {
	return containers.Container{
		ID:        ctr.GetId(),
		Namespace: pod.GetNamespace(),
		Pod:       pod.GetName(),
		PodUID:    pod.GetUid(),
		Name:      ctr.GetName(),
		PID:       int(ctr.GetPid()),
	}
}

// StartContainer records the container with its PID when the runtime
// already knows it (the task is created, not yet started), so that the
// first audit records of the container's process are attributed by PID
// rather than raced. Subscribed to only with a registry (auditing).
func (p *Plugin) StartContainer(_ context.Context, pod *api.PodSandbox, ctr *api.Container) error {
	if p.reg != nil {
		p.reg.Upsert(containerFromNRI(pod, ctr))
	}
	return nil
}

// PostStartContainer records the container's init PID, and writes it to the
// decision log: audit records carry only host PIDs, and this line is what
// lets `nri-seccomp audit report` attribute them offline.
func (p *Plugin) PostStartContainer(_ context.Context, pod *api.PodSandbox, ctr *api.Container) error {
	c := containerFromNRI(pod, ctr)
	c.Started = p.now().UTC()
	if p.reg != nil {
		p.reg.Upsert(c)
	}
	if c.PID <= 0 {
		return nil
	}
	p.mu.RLock()
	err := p.dlog.WriteStarted(decisionlog.Started{Time: c.Started, Event: decisionlog.EventStarted, Node: p.node, ContainerID: c.ID, PID: c.PID})
	p.mu.RUnlock()
	if err != nil {
		p.logger.WithError(err).Warn("writing the decision log")
	}
	return nil
}

// RemoveContainer forgets the container: the registry keeps it for its
// grace (the kernel's last audit records for it may still be on their way),
// and an answer no validation took (a creation another plugin failed) goes
// now rather than at its TTL. A stopped container is kept until removal, on
// purpose. (StopContainer is not subscribed to: every event the plugin
// takes is a round trip the runtime waits for.)
func (p *Plugin) RemoveContainer(_ context.Context, _ *api.PodSandbox, ctr *api.Container) error {
	p.answers.take(ctr.GetId())
	if p.reg != nil {
		p.reg.Remove(ctr.GetId())
	}
	return nil
}

// syncRegistry replaces the registry's content with the runtime's running
// and created containers. Synchronize calls it on every (re)connection: a
// container that started or went away while the plugin was disconnected is
// then known, or forgotten. The decisions of containers created before the
// plugin ran are unknown and stay empty.
func (p *Plugin) syncRegistry(pods []*api.PodSandbox, ctrs []*api.Container) {
	if p.reg == nil {
		return
	}
	byID := make(map[string]*api.PodSandbox, len(pods))
	for _, pod := range pods {
		byID[pod.GetId()] = pod
	}
	var cs []containers.Container
	for _, ctr := range ctrs {
		switch ctr.GetState() {
		case api.ContainerState_CONTAINER_RUNNING, api.ContainerState_CONTAINER_CREATED:
		default:
			continue
		}
		cs = append(cs, containerFromNRI(byID[ctr.GetPodSandboxId()], ctr))
	}
	p.reg.Sync(cs)
}
