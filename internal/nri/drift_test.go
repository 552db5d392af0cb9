package nri

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
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
			c.Linux.SeccompPolicy = convert.SeccompToNRI(current)
		}
		return c
	}
	// What the plugin would have given a container with denyProfile("bpf").
	loose := denyProfile("bpf")
	dec, err := p.policy.Current().Decide(convert.InputFromNRI(testPod("prod", "web"), running("x", "pod-web", loose)))
	if err != nil || !dec.Changed {
		t.Fatalf("setup: %v %v", dec, err)
	}
	pod := testPod("prod", "web")
	pod.Id = "pod-web"
	stopped := running("stopped", "pod-web", loose)
	stopped.State = api.ContainerState_CONTAINER_STOPPED
	enforced := running("enforced", "pod-web", convert.SeccompFromNRI(convert.SeccompToNRI(dec.Seccomp)))

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
	for _, l := range testutil.JSONLines(t, logs.String()) {
		if l["msg"] != "running container's seccomp differs from the current policy" {
			continue
		}
		reported = append(reported, l["container_id"].(string))
		var e dryrun.Explanation
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

// The plugin's own container in a DaemonSet pod, as NRI reports it, and
// the same mounts as the plugin sees them in /proc/self/mountinfo.
const (
	podDir       = "/var/lib/kubelet/pods/0b5c-uid"
	sandboxDir   = "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/sb1"
	ownMountinfo = `1210 1100 0:98 / / ro,relatime master:1 - overlay overlay rw
1211 1210 0:99 / /proc rw,nosuid - proc proc rw
1212 1210 0:100 / /dev rw,nosuid - tmpfs tmpfs rw
1220 1210 254:1 /var/lib/kubelet/pods/0b5c-uid/volumes/kubernetes.io~configmap/policy /etc/nri-seccomp ro - ext4 /dev/vda1 rw
1221 1210 0:25 /nri /var/run/nri rw - tmpfs tmpfs rw
1222 1210 254:1 /var/lib/kubelet/pods/0b5c-uid/etc-hosts /etc/hosts rw - ext4 /dev/vda1 rw
1223 1212 254:1 /var/lib/kubelet/pods/0b5c-uid/containers/nri-seccomp/7f3a /dev/termination-log rw - ext4 /dev/vda1 rw
1224 1210 254:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/sb1/hostname /etc/hostname rw - ext4 /dev/vda1 rw
1225 1210 254:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/sb1/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda1 rw
1226 1212 0:60 / /dev/shm rw - tmpfs shm rw
1227 1211 0:100 /null /proc/kcore rw - tmpfs tmpfs rw
`
)

func bindMount(src, dst string) *api.Mount {
	return &api.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{"rbind", "rprivate", "rw"}}
}

// pluginMounts are the mounts of the plugin's container, with its
// termination-log file (one per container) as given.
func pluginMounts(terminationLog string) []*api.Mount {
	return []*api.Mount{
		{Source: "proc", Destination: "/proc", Type: "proc"},
		{Source: "tmpfs", Destination: "/dev", Type: "tmpfs"},
		bindMount(podDir+"/volumes/kubernetes.io~configmap/policy", "/etc/nri-seccomp"),
		bindMount("/var/run/nri", "/var/run/nri"),
		bindMount(podDir+"/etc-hosts", "/etc/hosts"),
		bindMount(podDir+"/containers/nri-seccomp/"+terminationLog, "/dev/termination-log"),
		bindMount(sandboxDir+"/hostname", "/etc/hostname"),
		bindMount(sandboxDir+"/resolv.conf", "/etc/resolv.conf"),
		bindMount("/run/containerd/io.containerd.grpc.v1.cri/sandboxes/sb1/shm", "/dev/shm"),
	}
}

func TestParseMountinfo(t *testing.T) {
	m := parseMountinfo(strings.NewReader(`1 0 0:1 / / rw - overlay overlay rw
2 1 0:2 /a\040dir/x\134y /mnt/with\040space rw - ext4 /dev/vda1 rw
3 1 0:3 /first /over rw - ext4 /dev/vda1 rw
4 1 0:3 /second /over rw - ext4 /dev/vda1 rw
short line
`))
	want := ownMounts{"/": "/", "/mnt/with space": `/a dir/x\y`, "/over": "/second"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("parseMountinfo = %q, want %q", m, want)
	}
	if unescapeOctal(`/end\04`) != `/end\04` || unescapeOctal(`\999`) != `\999` {
		t.Error("unescapeOctal changed an incomplete or non-octal escape")
	}
	if got := readOwnMounts("/nonexistent/mountinfo"); got != nil {
		t.Errorf("readOwnMounts of a missing file = %v", got)
	}
}

func TestIsOwnContainer(t *testing.T) {
	self := parseMountinfo(strings.NewReader(ownMountinfo))
	// /var/lib/kubelet on its own filesystem: mountinfo shows the tail.
	separate := parseMountinfo(strings.NewReader(strings.ReplaceAll(ownMountinfo, "254:1 /var/lib/kubelet/", "254:2 /")))
	host := parseMountinfo(strings.NewReader("1 0 254:1 / / rw - ext4 /dev/vda1 rw\n"))
	extra := append(pluginMounts("7f3a"), bindMount("/data", "/data"))
	moved := pluginMounts("7f3a")
	moved[2] = bindMount(podDir+"/volumes/kubernetes.io~configmap/other", "/etc/nri-seccomp")
	onlyTmpfs := []*api.Mount{bindMount("/run/containerd/io.containerd.grpc.v1.cri/sandboxes/sb1/shm", "/dev/shm")}
	for _, tc := range []struct {
		name   string
		self   ownMounts
		mounts []*api.Mount
		want   bool
	}{
		{"the plugin's container", self, pluginMounts("7f3a"), true},
		{"kubelet dir on another filesystem", separate, pluginMounts("7f3a"), true},
		{"the previous plugin container of the pod", self, pluginMounts("0c41"), false},
		{"a bind mount the plugin lacks", self, extra, false},
		{"another host path at the same place", self, moved, false},
		{"only mounts of whole filesystems", self, onlyTmpfs, false},
		{"no bind mounts", self, pluginMounts("7f3a")[:2], false},
		{"the plugin runs on the host", host, pluginMounts("7f3a"), false},
		{"no mount table", nil, pluginMounts("7f3a"), false},
	} {
		c := testContainer("x")
		c.Mounts = tc.mounts
		if got := tc.self.isContainer(c); got != tc.want {
			t.Errorf("%s: isContainer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The plugin's own pod, created while the plugin was absent, has
// RuntimeDefault without the policy's floor: it is the plugin, so it is
// neither checked nor reported; a workload with the same seccomp is.
func TestDriftReportSkipsOwnContainer(t *testing.T) {
	p, _, _, _, _ := newReloadPlugin(t, policyA)
	running := func(id string, mounts []*api.Mount) *api.Container {
		c := testContainer(id)
		c.Id, c.PodSandboxId, c.State, c.Mounts = id, "pod-"+id, api.ContainerState_CONTAINER_RUNNING, mounts
		c.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT}
		c.Linux.SeccompPolicy = convert.SeccompToNRI(denyProfile("bpf"))
		return c
	}
	ctrs := []*api.Container{running("plugin", pluginMounts("7f3a")), running("workload", pluginMounts("0c41"))}
	self := parseMountinfo(strings.NewReader(ownMountinfo))

	drifts, checked, own := p.driftReport(nil, ctrs, self)
	if own != "plugin" || checked != 1 || len(drifts) != 1 || drifts[0].ContainerID != "workload" {
		t.Errorf("with the plugin's mounts: own %q, checked %d, drifts %+v; want own plugin, 1 checked, workload drifted", own, checked, drifts)
	}
	// As a host process the plugin is none of them: both are reported.
	drifts, checked, own = p.driftReport(nil, ctrs, nil)
	if own != "" || checked != 2 || len(drifts) != 2 {
		t.Errorf("without: own %q, checked %d, %d drifts; want none, 2, 2", own, checked, len(drifts))
	}
}
