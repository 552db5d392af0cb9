//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	tolerateKey = "tolerate-missing-nri-plugins.nri-seccomp.io"
	metricsPort = 9765
	// upgradeTag is the second tag of the same image for the rolling
	// upgrade (imported by tagging; the DaemonSet cannot tell).
	upgradeSuffix = "-upgrade"
)

// runInstall installs the plugin with inst and runs every assertion
// against it; the plugin is removed at the end.
func runInstall(t *testing.T, inst *installer) {
	ctx := context.Background()
	policed := "policed-" + inst.Name
	edit := "edit-" + inst.Name
	churn := "churn-" + inst.Name
	t.Cleanup(func() {
		start := time.Now()
		if err := inst.Remove(ctx); err != nil {
			t.Errorf("uninstall: %v", err)
		}
		deleteNamespaces(policed, edit, churn)
		logf(t, "uninstalled and namespaces deleted in %s", since(start))
	})

	var plugin pod
	ok := t.Run("daemonset ready and plugin registered", func(t *testing.T) {
		connectedBefore := cl.Containerd.CountLog(`plugin \"10-seccomp\" connected and synchronized`)
		start := time.Now()
		if err := inst.Apply(ctx, imageTag, ""); err != nil {
			t.Fatal(err)
		}
		applied := since(start)
		plugin = waitDaemonSet(t, inst, imageTag, 2*time.Minute)
		logf(t, "%s install took %s, daemonset Ready %s after it", inst.Name, applied, since(start)-applied)
		if n := cl.Containerd.CountLog(`plugin \"10-seccomp\" connected and synchronized`); n <= connectedBefore {
			t.Errorf("containerd logged no new %q (%d before, %d now):\n%s", "connected and synchronized", connectedBefore, n, cl.Containerd.LogTail(20))
		}
		if _, err := podLogContains(ctx, pluginNamespace, plugin.Metadata.Name, "nri-seccomp", "configured by the runtime", 10*time.Second); err != nil {
			t.Error(err)
		}
	})
	if !ok {
		t.FailNow()
	}
	for _, ns := range []string{policed, edit, churn} {
		ensureNamespace(t, ns)
	}

	t.Run("unconfined pod runs filtered", func(t *testing.T) {
		start := time.Now()
		mustCreatePod(t, policed, "unconfined", podOpts{})
		waitReady(t, policed, time.Minute, "unconfined")
		logf(t, "Unconfined pod Ready in %s", since(start))
		cs, err := cl.Containers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range cs {
			if c.Namespace == policed && c.Pod == "unconfined" {
				found = true
				if !deniesKeyctl(c.Seccomp) {
					t.Errorf("OCI spec of %s: seccomp %+v, want a filter refusing keyctl", c.ID, c.Seccomp)
				} else {
					logf(t, "OCI spec: defaultAction %s, %d syscall rules", c.Seccomp.DefaultAction, len(c.Seccomp.Syscalls))
				}
			}
		}
		if !found {
			t.Fatalf("no container of %s/unconfined in containerd", policed)
		}
		log, err := podLogContains(ctx, policed, "unconfined", "main", "Seccomp:", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, "Seccomp:\t2") {
			t.Errorf("inside the container: %q, want Seccomp:\t2 (filter mode)", strings.TrimSpace(log))
		}
	})

	t.Run("admission refuses the tolerate annotation", func(t *testing.T) {
		err := createPod(ctx, policed, "tolerates", podOpts{Annotations: map[string]string{tolerateKey: "true"}})
		if err == nil {
			t.Errorf("pod with %s created in %s; want refused by the admission policy", tolerateKey, policed)
		} else if !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") || !strings.Contains(err.Error(), tolerateKey) {
			t.Errorf("create refused, but not by the admission policy: %v", err)
		}
		// The same with a container-scoped key (annotation/container).
		err = createPod(ctx, policed, "tolerates-scoped", podOpts{Annotations: map[string]string{tolerateKey + "/main": "true"}})
		if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
			t.Errorf("pod with %s/main: %v, want refused by the admission policy", tolerateKey, err)
		}
		// On update: annotate a running pod.
		_, err = cl.Kubectl(ctx, "annotate", "pod", "unconfined", "-n", policed, tolerateKey+"=true")
		if err == nil {
			t.Errorf("annotating a pod in %s with %s succeeded; want refused", policed, tolerateKey)
		} else if !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
			t.Errorf("annotate refused, but not by the admission policy: %v", err)
		}
		// The plugin's own namespace may (its pods carry the annotation):
		// a server-side dry run of a pod there is admitted.
		_, err = cl.KubectlStdin(ctx, podYAML(pluginNamespace, "tolerates", podOpts{Annotations: map[string]string{tolerateKey: "true"}}),
			"create", "--dry-run=server", "-f", "-")
		if err != nil {
			t.Errorf("a pod with %s in %s refused: %v", tolerateKey, pluginNamespace, err)
		}
	})

	t.Run("policy edit in the configmap reaches new pods", func(t *testing.T) {
		testPolicyEdit(t, inst, plugin, edit)
	})

	t.Run("plugin away: creations refused, none starts unfiltered", func(t *testing.T) {
		testPluginAway(t, inst, churn)
	})

	t.Run("rolling upgrade to a new tag: zero unfiltered pods", func(t *testing.T) {
		testRollingUpgrade(t, inst, churn)
	})

	t.Run("metrics scraped from the plugin's port", func(t *testing.T) {
		text, err := metrics(metricsPort)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := metricSum(text, "nri_seccomp_runtime_connected"); !ok || v != 1 {
			t.Errorf("nri_seccomp_runtime_connected = %v (present %v), want 1", v, ok)
		}
		if v, ok := metricSum(text, "nri_seccomp_policy_last_reload_success"); !ok || v != 1 {
			t.Errorf("nri_seccomp_policy_last_reload_success = %v (present %v), want 1", v, ok)
		}
		// The rolling upgrade's pods were decided by this plugin instance.
		if v, ok := metricSum(text, "nri_seccomp_decisions_total"); !ok || v < 1 {
			t.Errorf("nri_seccomp_decisions_total = %v (present %v), want >= 1", v, ok)
		} else {
			logf(t, "nri_seccomp_decisions_total %v", v)
		}
		// The posture scan (on by default) sees the node's processes, not
		// only its own pod's: hostPID works as the chart and base set it.
		if v, ok := metricSum(text, `nri_seccomp_posture_scans_total{result="success"}`); !ok || v < 1 {
			t.Errorf("posture scans succeeded %v times (present %v), want >= 1", v, ok)
		}
		if v, ok := metricSum(text, "nri_seccomp_posture_host_processes"); !ok || v < 10 {
			t.Errorf("nri_seccomp_posture_host_processes = %v (present %v): the scan does not see the host's processes", v, ok)
		} else {
			logf(t, "posture: %v host processes seen", v)
		}
	})

	t.Run("every test container filtered", func(t *testing.T) {
		n := assertAllFiltered(t, policed, edit, churn)
		logf(t, "%d containers checked in %s, %s, %s", n, policed, edit, churn)
	})
}

// editedPolicy is the shipped policy plus a rule refusing mkdir(2) in ns.
func editedPolicy(t *testing.T, ns string) string {
	b, err := os.ReadFile(filepath.Join(root, "policies", "default-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + fmt.Sprintf(`
# Added by the cluster test's policy edit.
- name: cluster-test-edit
  match: {namespaces: [%s]}
  action: tighten
  deny: [mkdir]
`, ns)
}

// probeMkdir runs syscall-probe mkdir in a new pod of ns and returns the
// errno it saw ("" for success).
func probeMkdir(t *testing.T, ns, name string) string {
	t.Helper()
	mustCreatePod(t, ns, name, podOpts{Script: "/bin/syscall-probe mkdir /tmp/probe; exec sleep 3600"})
	waitReady(t, ns, time.Minute, name)
	log, err := podLogContains(context.Background(), ns, name, "main", `"syscall"`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Errno string `json:"errno"`
	}
	line := strings.TrimSpace(log)
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("probe output %q: %v", line, err)
	}
	return r.Errno
}

func testPolicyEdit(t *testing.T, inst *installer, plugin pod, ns string) {
	ctx := context.Background()
	if e := probeMkdir(t, ns, "before-edit"); e != "" {
		t.Fatalf("before the edit mkdir failed with %s; want it allowed (else the test proves nothing)", e)
	}
	dataLink := filepath.Join(cl.KubeletRoot, "pods", plugin.Metadata.UID, "volumes", "kubernetes.io~configmap", "policy", "..data")
	before, err := os.Readlink(dataLink)
	if err != nil {
		t.Fatalf("the plugin pod's ConfigMap volume: %v", err)
	}
	reloadsBefore := strings.Count(mustPodLog(t, plugin), `"policy reloaded"`)
	start := time.Now()
	if err := inst.Apply(ctx, imageTag, editedPolicy(t, ns)); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	// The kubelet swaps the volume's ..data link on its pod sync.
	if err := pollUntil(ctx, 3*time.Minute, func() error {
		now, err := os.Readlink(dataLink)
		if err != nil {
			return err
		}
		if now == before {
			return fmt.Errorf("..data still %s", now)
		}
		return nil
	}); err != nil {
		t.Fatalf("the kubelet did not update the ConfigMap volume: %v", err)
	}
	swapped := time.Now()
	if err := pollUntil(ctx, 30*time.Second, func() error {
		if n := strings.Count(mustPodLog(t, plugin), `"policy reloaded"`); n <= reloadsBefore {
			return fmt.Errorf("%d policy reloaded lines, %d before", n, reloadsBefore)
		}
		return nil
	}); err != nil {
		t.Fatalf("the plugin did not reload: %v", err)
	}
	reloaded := time.Now()
	logf(t, "%s apply %s; kubelet swapped the volume %s after it; plugin reloaded %s after the swap (edit to reload: %s)",
		inst.Name, applied.Sub(start).Round(time.Millisecond), swapped.Sub(applied).Round(time.Millisecond),
		reloaded.Sub(swapped).Round(time.Millisecond), reloaded.Sub(start).Round(time.Millisecond))
	if e := probeMkdir(t, ns, "after-edit"); e != "EPERM" {
		t.Errorf("after the edit mkdir gave %q, want EPERM from the new rule", e)
	}
}

func mustPodLog(t *testing.T, p pod) string {
	t.Helper()
	log, err := cl.PodLog(pluginNamespace, p.Metadata.Name, "nri-seccomp")
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// testPluginAway takes the plugin away four ways and, each time, creates pods
// while it is away: they are refused (containerd's validator) and retried by
// the kubelet, and every one of them runs filtered once the plugin is back.
func testPluginAway(t *testing.T, inst *installer, ns string) {
	ctx := context.Background()
	type way struct {
		name string
		// away takes the plugin away and returns a function bringing it
		// back; strict ways hold the plugin away until every pod has been
		// refused at least once.
		away   func(t *testing.T, p pod) (back func())
		strict bool
	}
	ways := []way{
		{name: "absent", strict: true, away: func(t *testing.T, p pod) func() {
			// No plugin pod on the node (as during a reschedule or a
			// botched uninstall): a nodeSelector no node has.
			patch := `{"spec":{"template":{"spec":{"nodeSelector":{"nri-seccomp-cluster-test/absent":"true"}}}}}`
			if _, err := cl.Kubectl(ctx, "patch", "daemonset", inst.DaemonSet, "-n", pluginNamespace, "-p", patch); err != nil {
				t.Fatal(err)
			}
			if err := pollUntil(ctx, time.Minute, func() error {
				pods, err := listPods(ctx, pluginNamespace, "app.kubernetes.io/name=nri-seccomp")
				if err != nil {
					return err
				}
				if len(pods) != 0 {
					return fmt.Errorf("%d plugin pods left", len(pods))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := cl.Kubectl(ctx, "patch", "daemonset", inst.DaemonSet, "-n", pluginNamespace, "--type=json",
					"-p", `[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]`); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "deleted", away: func(t *testing.T, p pod) func() {
			if _, err := cl.Kubectl(ctx, "delete", "pod", p.Metadata.Name, "-n", pluginNamespace, "--wait=false"); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{name: "SIGKILLed", away: func(t *testing.T, p pod) func() {
			if err := sigkill(pluginPid(t, p)); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{name: "frozen past NRI's timeout", strict: true, away: func(t *testing.T, p pod) func() {
			pid := pluginPid(t, p)
			if err := freezer(pid, "FROZEN"); err != nil {
				t.Fatal(err)
			}
			thawed := false
			thaw := func() {
				if !thawed {
					thawed = true
					if err := freezer(pid, "THAWED"); err != nil {
						t.Error(err)
					}
				}
			}
			t.Cleanup(thaw)
			return thaw
		}},
	}
	for i, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			plugin := waitDaemonSet(t, inst, imageTag, 2*time.Minute)
			refusedBefore := refusals()
			start := time.Now()
			back := w.away(t, plugin)
			var names []string
			for j := 0; j < 3; j++ {
				name := fmt.Sprintf("away-%d-%d", i, j)
				names = append(names, name)
				mustCreatePod(t, ns, name, podOpts{})
			}
			if w.strict {
				// Hold the plugin away until each pod has been refused.
				if err := pollUntil(ctx, 2*time.Minute, func() error {
					return allRefused(ctx, ns, names)
				}); err != nil {
					back()
					t.Fatalf("pods not refused while the plugin was away: %v\n%s", err, describe(ns))
				}
			}
			refusedAt := time.Now()
			back()
			waitDaemonSet(t, inst, imageTag, 2*time.Minute)
			pluginBack := time.Now()
			waitReady(t, ns, 3*time.Minute, names...)
			n := refusals() - refusedBefore
			logf(t, "plugin away %s; %d creations refused by containerd; pods Ready %s after the plugin was back (total %s)",
				refusedAt.Sub(start).Round(time.Millisecond), n, since(pluginBack), since(start))
			if w.strict && n < len(names) {
				t.Errorf("%d refusals in containerd's log, want >= %d", n, len(names))
			}
			assertAllFiltered(t, ns)
		})
	}
}

// allRefused is nil once every pod's container waits with containerd's
// validator refusal as its reason.
func allRefused(ctx context.Context, ns string, names []string) error {
	pods, err := listPods(ctx, ns, "")
	if err != nil {
		return err
	}
	refused := map[string]bool{}
	for _, p := range pods {
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && strings.Contains(w.Message, `required plugin "seccomp" not present`) {
				refused[p.Metadata.Name] = true
			}
		}
	}
	for _, n := range names {
		if !refused[n] {
			return fmt.Errorf("pod %s not (yet) refused", n)
		}
	}
	return nil
}

// testRollingUpgrade moves the DaemonSet to a new tag while pods are being
// created every half second; every one of them runs filtered.
func testRollingUpgrade(t *testing.T, inst *installer, ns string) {
	ctx := context.Background()
	waitDaemonSet(t, inst, imageTag, 2*time.Minute)
	newTag := imageTag + upgradeSuffix
	if _, err := cl.Containerd.Ctr(ctx, "-n", "k8s.io", "images", "tag", "--force", imageRepo+":"+imageTag, imageRepo+":"+newTag); err != nil {
		t.Fatal(err)
	}
	refusedBefore := refusals()
	var (
		mu      sync.Mutex
		names   []string
		errs    []error
		stop    = make(chan struct{})
		stopped = make(chan struct{})
	)
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			name := fmt.Sprintf("upgrade-%d", i)
			err := createPod(ctx, ns, name, podOpts{})
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			} else {
				names = append(names, name)
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	// Keep the policy the edit test left, so only the image changes.
	policy := ""
	if b, err := cl.Kubectl(ctx, "get", "configmap", inst.ConfigMap, "-n", pluginNamespace, "-o", "jsonpath={.data.policy\\.yaml}"); err == nil {
		policy = b
	}
	if err := inst.Apply(ctx, newTag, policy); err != nil {
		close(stop)
		<-stopped
		t.Fatal(err)
	}
	waitDaemonSet(t, inst, newTag, 2*time.Minute)
	rolled := since(start)
	time.Sleep(2 * time.Second) // a few creations with the new plugin too
	close(stop)
	<-stopped
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("pod creations failed at the API: %v", errs)
	}
	waitReady(t, ns, 3*time.Minute, names...)
	logf(t, "rollout to %s took %s; %d pods created during it, %d creations refused and retried, all Ready %s after the start",
		newTag, rolled, len(names), refusals()-refusedBefore, since(start))
	assertAllFiltered(t, ns)
}
