package plugin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The drift report on connect: the runtime's Synchronize lists running
// containers with their current seccomp; those the policy would still
// change are reported, with the explain JSON, in the log and the metrics.
func TestIntegrationSynchronizeReportsDrift(t *testing.T) {
	p, _, m, logs, _ := newReloadPlugin(t, policyA)

	running := func(id, podID string, current *specs.LinuxSeccomp) *api.Container {
		c := testContainer(id)
		c.Id, c.PodSandboxId, c.State = id, podID, api.ContainerState_CONTAINER_RUNNING
		if current != nil {
			c.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT}
			c.Linux.SeccompPolicy = SeccompToNRI(current)
		}
		return c
	}
	// What the plugin would have given a container with denyProfile("bpf").
	loose := denyProfile("bpf")
	dec, err := p.policy.Load().get().Decide(InputFromNRI(testPod("prod", "web"), running("x", "pod-web", loose)))
	if err != nil || !dec.Changed {
		t.Fatalf("setup: %v %v", dec, err)
	}
	pod := testPod("prod", "web")
	pod.Id = "pod-web"
	stopped := running("stopped", "pod-web", loose)
	stopped.State = api.ContainerState_CONTAINER_STOPPED
	enforced := running("enforced", "pod-web", SeccompFromNRI(SeccompToNRI(dec.Seccomp)))

	h := newRuntimeHarness(t)
	h.syncPods = []*api.PodSandbox{pod}
	h.syncCtrs = []*api.Container{
		running("drifted", "pod-web", loose),
		enforced,
		stopped,
		running("unconfined", "pod-web", nil),
	}
	h.start()
	startPlugin(t, p, h.socket)
	h.waitPlugins(1)

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"drift report"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var reported []string
	for _, l := range jsonLines(t, logs.String()) {
		if l["msg"] != "running container's seccomp differs from the current policy" {
			continue
		}
		reported = append(reported, l["container_id"].(string))
		var e Explanation
		if err := json.Unmarshal([]byte(l["explain"].(string)), &e); err != nil {
			t.Fatalf("explain field is not the explain JSON: %v", err)
		}
		if !e.Changed || e.Input.Namespace != "prod" || len(e.Rules) != 1 || e.Rules[0] != "floor-a" || e.Seccomp == nil {
			t.Errorf("%s: explanation %+v", l["container_id"], e)
		}
	}
	// unconfined: floor-a tightens no seccomp into a profile, so it
	// drifted too; enforced already has the policy's profile; stopped is
	// not running.
	if got := strings.Join(reported, ","); got != "drifted,unconfined" {
		t.Errorf("drifted containers reported: %q, want drifted,unconfined\n%s", got, logs.String())
	}
	if got := metricValue(t, m, "nri_seccomp_drift_containers", nil); got != 2 {
		t.Errorf("drift_containers = %v, want 2", got)
	}
	if got := metricValue(t, m, "nri_seccomp_drift_checked_containers", nil); got != 3 {
		t.Errorf("drift_checked_containers = %v, want 3", got)
	}
	if got := metricValue(t, m, "nri_seccomp_drift_containers_by_rule", map[string]string{"rule": "floor-a"}); got != 2 {
		t.Errorf("drift by floor-a = %v, want 2", got)
	}
}

func TestDriftReportWithoutPolicy(t *testing.T) {
	logger, _ := testLogger()
	p, err := New(Options{PolicyFromRuntime: true, Loader: engineLoader, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c := testContainer("x")
	c.State = api.ContainerState_CONTAINER_RUNNING
	if drifts, checked := p.DriftReport(nil, []*api.Container{c}); drifts != nil || checked != 0 {
		t.Errorf("DriftReport without a policy = %v, %d", drifts, checked)
	}
}
