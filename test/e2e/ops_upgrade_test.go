//go:build e2e

package e2e

import (
	"strconv"
	"sync"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// The upgrade story: the old plugin stops (SIGTERM, as a DaemonSet rollout
// or `systemctl restart` does) and the new one starts. With the recommended
// containerd config every creation in between is refused (the kubelet
// retries it) and none starts unfiltered: first deterministically, a
// creation in the gap, then with creations running without pause across a
// second replacement.
func TestOpsUpgradeNoUnfilteredWindow(t *testing.T) {
	bin := pluginBin(t)
	c := StartContainerd(t, h.ContainerdOptions{RequiredPlugins: []string{pluginName}})
	pod := RunPod(t, c, h.PodSpec{Name: "upgrade", Namespace: "e2e-upgrade"})
	old := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	requireEnforced(t, createAndProbe(t, pod, "before"), "old version running")

	if code, err := old.Stop(); err != nil || code != 0 {
		t.Fatalf("old plugin stop: code %d, %v", code, err)
	}
	gap := createAndProbe(t, pod, "gap-1")
	if gap.refused == nil {
		t.Fatalf("gap-1: created (filtered=%v) between the old plugin's exit and the new one's start", gap.filtered)
	}
	requireRefusedMissing(t, createAndProbe(t, pod, "gap-2"), "second creation between the versions")
	current := StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	requireEnforced(t, createAndProbe(t, pod, "new"), "new version running")

	// Again, with creations racing the replacement.
	var (
		mu       sync.Mutex
		outcomes []outcome
		stop     = make(chan struct{})
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			o := tryCreateAndProbe(t, pod, "during-"+strconv.Itoa(i))
			mu.Lock()
			outcomes = append(outcomes, o)
			mu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	stopAt := time.Now()
	if code, err := current.Stop(); err != nil || code != 0 {
		t.Fatalf("plugin stop: code %d, %v", code, err)
	}
	gapStart := time.Now()
	StartPlugin(t, c, bin, policyFile(t, "s9-restart.yaml"))
	t.Logf("plugin replaced: stopped in %s, new one connected %s later",
		gapStart.Sub(stopAt).Round(time.Millisecond), time.Since(gapStart).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-done

	var refused, enforced int
	for i, o := range outcomes {
		switch {
		case o.refused != nil:
			refused++
		case o.filtered:
			enforced++
		default:
			t.Errorf("during-%d: created WITHOUT the plugin's profile during the upgrade", i)
		}
	}
	t.Logf("racing the replacement: %d creations, %d refused, %d enforced, 0 unfiltered", len(outcomes), refused, enforced)
	if enforced == 0 {
		t.Error("no creation ran during the replacement: the race was not exercised")
	}
	requireEnforced(t, createAndProbe(t, pod, "after"), "new version running")
}

// tryCreateAndProbe is createAndProbe for a goroutine other than the test's:
// it reports failures with t.Errorf instead of stopping the test.
func tryCreateAndProbe(t *testing.T, pod *h.Pod, name string) outcome {
	start := time.Now()
	ct, err := pod.CreateContainer(ctx(t), h.ContainerSpec{Name: name, Seccomp: h.SeccompRuntimeDefault})
	took := time.Since(start)
	if err != nil {
		return outcome{refused: err, took: took}
	}
	if err := ct.Start(ctx(t)); err != nil {
		t.Errorf("%s: created but does not start: %v", name, err)
		return outcome{took: took}
	}
	res, err := ct.Exec(ctx(t), h.ProbePath, "mkdir", "/tmp/"+name)
	if err != nil || res.ExitCode != 0 {
		t.Errorf("%s: probe: %v (exit %d)", name, err, res.ExitCode)
		return outcome{took: took}
	}
	r, err := h.ParseProbe(res.Stdout)
	if err != nil {
		t.Errorf("%s: probe output: %v", name, err)
		return outcome{took: took}
	}
	return outcome{took: took, filtered: r.Errno == "EPERM"}
}
