//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/test/cluster/kube"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// podOpts shape a test pod.
type podOpts struct {
	Script      string            // sh -c; default: print Seccomp, then sleep
	Annotations map[string]string // e.g. the tolerate annotation
	Profile     string            // seccompProfile type; default Unconfined
}

const defaultScript = "grep Seccomp: /proc/self/status; exec sleep 3600"

// podYAML is a pod of the e2e busybox image (syscall-probe included), never
// pulled, with no service-account token (the plugin needs none, and the
// pod starts without waiting for the token controller).
func podYAML(ns, name string, o podOpts) string {
	if o.Script == "" {
		o.Script = defaultScript
	}
	if o.Profile == "" {
		o.Profile = "Unconfined"
	}
	ann := ""
	if len(o.Annotations) > 0 {
		ann = "  annotations:\n"
		for k, v := range o.Annotations {
			ann += fmt.Sprintf("    %s: %q\n", k, v)
		}
	}
	script, _ := json.Marshal(o.Script)
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {nri-seccomp-cluster-test: "true"}
%sspec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: 1
  securityContext:
    seccompProfile: {type: %s}
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", %s]
`, name, ns, ann, o.Profile, harness.BusyboxImage, script)
}

func createPod(ctx context.Context, ns, name string, o podOpts) error {
	_, err := cl.KubectlStdin(ctx, podYAML(ns, name, o), "create", "-f", "-")
	return err
}

func mustCreatePod(t *testing.T, ns, name string, o podOpts) {
	t.Helper()
	if err := createPod(context.Background(), ns, name, o); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits (through kubectl's watch) until the pods are Ready.
func waitReady(t *testing.T, ns string, timeout time.Duration, pods ...string) {
	t.Helper()
	args := []string{"wait", "-n", ns, "--for=condition=Ready", "--timeout=" + timeout.String()}
	for _, p := range pods {
		args = append(args, "pod/"+p)
	}
	if _, err := cl.Kubectl(context.Background(), args...); err != nil {
		t.Fatalf("pods %v not Ready: %v\n%s", pods, err, describe(ns))
	}
}

// describe is the pods' state for a failure message.
func describe(ns string) string {
	out, err := cl.Kubectl(context.Background(), "get", "pods", "-n", ns, "-o", "wide")
	if err != nil {
		return err.Error()
	}
	ev, _ := cl.Kubectl(context.Background(), "get", "events", "-n", ns, "--sort-by=.lastTimestamp")
	return out + "\n" + lastLines(ev, 15)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ensureNamespace creates ns and waits for its default service account,
// which pod admission requires.
func ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cl.Kubectl(ctx, "create", "namespace", ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	if err := pollUntil(ctx, 30*time.Second, func() error {
		_, err := cl.Kubectl(ctx, "get", "serviceaccount", "default", "-n", ns)
		return err
	}); err != nil {
		t.Fatalf("namespace %s: no default service account: %v", ns, err)
	}
}

// deleteNamespaces deletes them together (each waits for its pods' grace
// period and the kubelet's sync) and waits for all.
func deleteNamespaces(ns ...string) {
	_, _ = cl.Kubectl(context.Background(), append([]string{"delete", "namespace", "--wait=true", "--timeout=90s"}, ns...)...)
}

// pollUntil calls check every 200ms until it succeeds or limit passes.
func pollUntil(ctx context.Context, limit time.Duration, check func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// daemonSet is what the tests read of the plugin's DaemonSet.
type daemonSet struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration     int64 `json:"observedGeneration"`
		DesiredNumberScheduled int   `json:"desiredNumberScheduled"`
		UpdatedNumberScheduled int   `json:"updatedNumberScheduled"`
		NumberReady            int   `json:"numberReady"`
		NumberAvailable        int   `json:"numberAvailable"`
	} `json:"status"`
}

func getDaemonSet(ctx context.Context, name string) (daemonSet, error) {
	var ds daemonSet
	out, err := cl.Kubectl(ctx, "get", "daemonset", name, "-n", pluginNamespace, "-o", "json")
	if err != nil {
		return ds, err
	}
	return ds, json.Unmarshal([]byte(out), &ds)
}

// pod is what the tests read of a pod.
type pod struct {
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Image string `json:"image"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase             string `json:"phase"`
		ContainerStatuses []struct {
			Ready        bool   `json:"ready"`
			RestartCount int    `json:"restartCount"`
			ContainerID  string `json:"containerID"`
			State        struct {
				Waiting *struct {
					Reason  string `json:"reason"`
					Message string `json:"message"`
				} `json:"waiting"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func listPods(ctx context.Context, ns, selector string) ([]pod, error) {
	args := []string{"get", "pods", "-n", ns, "-o", "json"}
	if selector != "" {
		args = append(args, "-l", selector)
	}
	out, err := cl.Kubectl(ctx, args...)
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []pod `json:"items"`
	}
	return list.Items, json.Unmarshal([]byte(out), &list)
}

func selectorOf(ds daemonSet) string {
	var parts []string
	for k, v := range ds.Spec.Selector.MatchLabels {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// waitDaemonSet waits until the DaemonSet's single pod runs image tag and
// is Ready (connected to containerd, policy loaded), and returns that pod.
func waitDaemonSet(t *testing.T, inst *installer, tag string, limit time.Duration) pod {
	t.Helper()
	ctx := context.Background()
	var ready pod
	err := pollUntil(ctx, limit, func() error {
		ds, err := getDaemonSet(ctx, inst.DaemonSet)
		if err != nil {
			return err
		}
		st := ds.Status
		if st.ObservedGeneration < ds.Metadata.Generation || st.DesiredNumberScheduled != 1 ||
			st.UpdatedNumberScheduled != 1 || st.NumberReady != 1 || st.NumberAvailable != 1 {
			return fmt.Errorf("daemonset status %+v (generation %d)", st, ds.Metadata.Generation)
		}
		pods, err := listPods(ctx, pluginNamespace, selectorOf(ds))
		if err != nil {
			return err
		}
		if len(pods) != 1 {
			return fmt.Errorf("%d plugin pods", len(pods))
		}
		p := pods[0]
		if want := imageRepo + ":" + tag; p.Spec.Containers[0].Image != want {
			return fmt.Errorf("plugin pod runs %s, want %s", p.Spec.Containers[0].Image, want)
		}
		if len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready {
			return fmt.Errorf("plugin pod %s not ready", p.Metadata.Name)
		}
		ready = p
		return nil
	})
	if err != nil {
		t.Fatalf("daemonset %s: %v\n%s", inst.DaemonSet, err, describe(pluginNamespace))
	}
	return ready
}

// pluginPid is the host PID of the plugin's running container.
func pluginPid(t *testing.T, p pod) int {
	t.Helper()
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
	out, err := cl.Containerd.Crictl(context.Background(), "inspect", id)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Info struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Info.Pid <= 0 {
		t.Fatalf("crictl inspect %s: pid %d, %v", id, info.Info.Pid, err)
	}
	return info.Info.Pid
}

// deniesKeyctl reports whether a seccomp section refuses keyctl, the first
// syscall of the shipped policy's floor: the mark that the policy, not just
// some profile, filtered the container.
func deniesKeyctl(s *specs.LinuxSeccomp) bool {
	if s == nil {
		return false
	}
	for _, r := range s.Syscalls {
		for _, n := range r.Names {
			if n == "keyctl" && len(r.Args) == 0 {
				return r.Action != specs.ActAllow && r.Action != specs.ActLog
			}
		}
	}
	return s.DefaultAction != specs.ActAllow && s.DefaultAction != specs.ActLog
}

// assertAllFiltered checks every workload container in the namespaces,
// whatever its state: each has a seccomp section that refuses keyctl.
// Containers are never mutated after creation, so one that started without
// a filter would still show it here.
func assertAllFiltered(t *testing.T, namespaces ...string) int {
	t.Helper()
	cs, err := cl.Containers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, ns := range namespaces {
		want[ns] = true
	}
	n := 0
	for _, c := range cs {
		if !want[c.Namespace] {
			continue
		}
		n++
		if !deniesKeyctl(c.Seccomp) {
			t.Errorf("container %s/%s/%s (%s, %s) runs unfiltered: seccomp %+v", c.Namespace, c.Pod, c.Name, c.ID, c.State, c.Seccomp)
		}
	}
	return n
}

// refusals counts containerd's refused creations so far (NRI's default
// validator: `required plugin "seccomp" not present`).
func refusals() int {
	return cl.Containerd.CountLog(`not present`)
}

// metrics scrapes the plugin's metrics port on the node's IP (host network).
func metrics(port int) (string, error) {
	resp, err := http.Get(fmt.Sprintf("http://%s:%d/metrics", cl.NodeIP, port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(b), nil
}

// metricSum adds the values of every sample of name (any labels).
func metricSum(text, name string) (float64, bool) {
	var sum float64
	found := false
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}

// freezer freezes or thaws the cgroup (v1 freezer) of a process.
func freezer(pid int, state string) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == "freezer" {
			return os.WriteFile(filepath.Join("/sys/fs/cgroup/freezer", parts[2], "freezer.state"), []byte(state), 0o644)
		}
	}
	return errors.New("no freezer cgroup (cgroup v1 freezer hierarchy expected)")
}

func sigkill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// podLogContains waits until the pod's log holds substr.
func podLogContains(ctx context.Context, ns, name, container, substr string, limit time.Duration) (string, error) {
	var log string
	err := pollUntil(ctx, limit, func() error {
		var err error
		if log, err = cl.PodLog(ns, name, container); err != nil {
			return err
		}
		if !strings.Contains(log, substr) {
			return fmt.Errorf("no %q in the log of %s/%s/%s", substr, ns, name, container)
		}
		return nil
	})
	return log, err
}

var _ = kube.NodeName
