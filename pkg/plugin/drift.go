package plugin

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"
)

// Drift is one running container whose seccomp is not what the current
// policy would give it: created before the plugin ran, during a fail-open
// window, under an older policy, or outside CRI's view of the plugin.
type Drift struct {
	ContainerID string `json:"container_id"`
	// Explanation is what `nri-seccomp explain --output json` prints for
	// the container as it runs: Changed means the policy would tighten
	// (or inject) its seccomp; Error means the policy would refuse it.
	Explanation *Explanation `json:"explanation"`
}

// DriftReport lists the running or created containers whose seccomp the
// current policy would change, or refuse, in container id order; checked is
// how many containers were examined. The container's current seccomp
// section is what the engine sees, so a container the plugin already
// adjusted is not reported: tightening is idempotent.
func (p *Plugin) DriftReport(pods []*api.PodSandbox, ctrs []*api.Container) (drifts []Drift, checked int) {
	d := p.policy.Load().get()
	if d == nil {
		return nil, 0
	}
	byID := make(map[string]*api.PodSandbox, len(pods))
	for _, pod := range pods {
		byID[pod.GetId()] = pod
	}
	for _, ctr := range ctrs {
		switch ctr.GetState() {
		case api.ContainerState_CONTAINER_RUNNING, api.ContainerState_CONTAINER_CREATED:
		default:
			continue
		}
		pod := byID[ctr.GetPodSandboxId()]
		if pod == nil {
			// A container without its pod cannot be matched
			// against the policy; describe it by what we have.
			pod = &api.PodSandbox{Id: ctr.GetPodSandboxId()}
		}
		checked++
		e, err := explainNRI(d, pod, ctr)
		if err == nil && !e.Changed {
			continue
		}
		drifts = append(drifts, Drift{ContainerID: ctr.GetId(), Explanation: e})
	}
	sort.Slice(drifts, func(i, j int) bool { return drifts[i].ContainerID < drifts[j].ContainerID })
	return drifts, checked
}

// Synchronize receives the runtime's running pods and containers when the
// plugin connects, and reports drift: one warning per drifted container,
// carrying the explain-style JSON, plus the drift metrics. It changes
// nothing: NRI cannot change a running container's seccomp, and restarting
// workloads is the operator's call.
func (p *Plugin) Synchronize(ctx context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	// The audit pipeline's registry learns what runs (registry.go).
	p.syncRegistry(pods, ctrs)
	drifts, checked := p.DriftReport(pods, ctrs)
	byRule := map[string]int{}
	logger := p.logger.WithContext(ctx)
	for _, dr := range drifts {
		e := dr.Explanation
		for _, r := range e.Rules {
			byRule[r]++
		}
		data, err := json.Marshal(e)
		if err != nil {
			logger.WithError(err).Warn("encoding a drift report")
			continue
		}
		logger.WithFields(log.Fields{
			"pod":          e.Input.Namespace + "/" + e.Input.Pod,
			"container":    e.Input.Container,
			"container_id": dr.ContainerID,
			"rules":        e.Rules,
			"explain":      string(data),
		}).Warn("running container's seccomp differs from the current policy")
	}
	p.metrics.Drift(checked, len(drifts), byRule)
	logger.WithFields(log.Fields{"checked": checked, "drifted": len(drifts)}).Info("drift report")
	return nil, nil
}
