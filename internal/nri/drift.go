package nri

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
)

// Drift is one running container whose seccomp is not what the current
// policy would give it: created before the plugin ran, during a fail-open
// window, under an older policy, or outside CRI's view of the plugin.
type Drift struct {
	ContainerID string `json:"container_id"`
	// Explanation is what `nri-seccomp explain --output json` prints for
	// the container as it runs: Changed means the policy would tighten
	// (or inject) its seccomp; Error means the policy would refuse it.
	Explanation *dryrun.Explanation `json:"explanation"`
}

// DriftReport lists the running or created containers whose seccomp the
// current policy would change, or refuse, in container id order; checked is
// how many containers were examined. The container's current seccomp
// section is what the engine sees, so a container the plugin already
// adjusted is not reported: tightening is idempotent.
//
// The plugin's own container is left out: it is always created while the
// plugin is absent (it is the plugin; its pod carries the validator's
// tolerate annotation), so it never has the policy's profile, and reporting
// it kept nri_seccomp_drift_containers above 0 on every DaemonSet node.
// docs/security.md describes how that container is confined instead.
func (p *Plugin) DriftReport(pods []*api.PodSandbox, ctrs []*api.Container) (drifts []Drift, checked int) {
	drifts, checked, _ = p.driftReport(pods, ctrs, readOwnMounts(selfMountinfo))
	return drifts, checked
}

// driftReport is DriftReport given the plugin's own mount table; own is the
// id of the container found to be the plugin itself, if any.
func (p *Plugin) driftReport(pods []*api.PodSandbox, ctrs []*api.Container, self ownMounts) (drifts []Drift, checked int, own string) {
	d := p.policy.Current()
	if d == nil {
		return nil, 0, ""
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
		if own == "" && self.isContainer(ctr) {
			own = ctr.GetId()
			continue
		}
		pod := byID[ctr.GetPodSandboxId()]
		if pod == nil {
			// A container without its pod cannot be matched
			// against the policy; describe it by what we have.
			pod = &api.PodSandbox{Id: ctr.GetPodSandboxId()}
		}
		checked++
		e, err := dryrun.ExplainNRI(d, pod, ctr)
		if err == nil && !e.Changed {
			continue
		}
		drifts = append(drifts, Drift{ContainerID: ctr.GetId(), Explanation: e})
	}
	sort.Slice(drifts, func(i, j int) bool { return drifts[i].ContainerID < drifts[j].ContainerID })
	return drifts, checked, own
}

// Synchronize receives the runtime's running pods and containers when the
// plugin connects, and reports drift: one warning per drifted container,
// carrying the explain-style JSON, plus the drift metrics. It changes
// nothing: NRI cannot change a running container's seccomp, and restarting
// workloads is the operator's call.
func (p *Plugin) Synchronize(ctx context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	// The audit pipeline's registry learns what runs (registry.go).
	p.syncRegistry(pods, ctrs)
	drifts, checked, own := p.driftReport(pods, ctrs, readOwnMounts(selfMountinfo))
	byRule := map[string]int{}
	logger := p.logger.WithContext(ctx)
	if own != "" {
		logger.WithField("container_id", own).Info("drift report skips the plugin's own container: it is created before the plugin runs")
	}
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

// selfMountinfo is the plugin's own mount table.
const selfMountinfo = "/proc/self/mountinfo"

// ownMounts maps each of the plugin's mount points to the path, inside its
// filesystem, that is mounted there (mountinfo's "root" field).
type ownMounts map[string]string

// readOwnMounts reads a mountinfo file; on any error the plugin recognises
// no container as its own, and the report stays as it was (safe side).
func readOwnMounts(path string) ownMounts {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseMountinfo(io.LimitReader(f, 4<<20))
}

// parseMountinfo reads proc(5)'s mountinfo lines: "ID PARENT MAJ:MIN ROOT
// MOUNTPOINT ...". A later mount at the same point hides the earlier one.
func parseMountinfo(r io.Reader) ownMounts {
	m := ownMounts{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		m[unescapeOctal(f[4])] = unescapeOctal(f[3])
	}
	return m
}

// unescapeOctal undoes mountinfo's \NNN escapes (space, tab, newline,
// backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isContainer tells whether ctr is the container the plugin runs in: every
// bind mount of ctr is mounted at the same place in the plugin, and the
// plugin's mount shows the same host path (mountinfo's root is that path,
// or its tail when the source lies on another filesystem). In Kubernetes
// such mounts name the pod (/var/lib/kubelet/pods/UID/...), its sandbox
// and, for /dev/termination-log, the container itself, so no other
// container matches. Outside a container (a host process, a systemd unit),
// no container does.
func (m ownMounts) isContainer(ctr *api.Container) bool {
	matched := false
	for _, mnt := range ctr.GetMounts() {
		if !isBind(mnt) {
			continue
		}
		root, ok := m[mnt.GetDestination()]
		switch {
		case !ok:
			return false
		case root == "/":
			// The source is itself a mount (a tmpfs, the pod's shm):
			// there is no path to compare; the mount point exists.
		case sameHostPath(mnt.GetSource(), root):
			matched = true
		default:
			return false
		}
	}
	return matched
}

func isBind(m *api.Mount) bool {
	return m.GetType() == "bind" || slices.Contains(m.GetOptions(), "bind") || slices.Contains(m.GetOptions(), "rbind")
}

// sameHostPath tells whether root, a path inside some filesystem, is src
// or the tail of src starting at a path component.
func sameHostPath(src, root string) bool {
	src, root = path.Clean(src), path.Clean(root)
	return src == root || strings.HasSuffix(src, root) && strings.HasPrefix(root, "/")
}
