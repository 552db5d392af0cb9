//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHelmEvents: with events.enabled the plugin posts an Event on a pod
// whose seccomp it set, through the API server with the chart's RBAC
// (create and patch on events, nothing else), so `kubectl describe pod`
// says which rules decided. The test cluster has no kube-proxy: the plugin
// (host network) reaches the API server at events.apiServer.
func TestHelmEvents(t *testing.T) {
	ctx := context.Background()
	ns := "events-helm"
	inst := helmInstaller(t, "--set", "events.enabled=true", "--set", "events.apiServer="+cl.APIServer)
	t.Cleanup(func() {
		if err := inst.Remove(ctx); err != nil {
			t.Errorf("uninstall: %v", err)
		}
		deleteNamespaces(ns)
	})
	start := time.Now()
	if err := inst.Apply(ctx, imageTag, ""); err != nil {
		t.Fatal(err)
	}
	waitDaemonSet(t, inst, imageTag, 2*time.Minute)
	logf(t, "helm install with events.enabled Ready in %s", since(start))

	ensureNamespace(t, ns)
	mustCreatePod(t, ns, "evented", podOpts{})
	waitReady(t, ns, time.Minute, "evented")
	created := time.Now()

	// The Event is posted from a queue after the decision: wait for it.
	var got string
	err := pollUntil(ctx, time.Minute, func() error {
		out, err := cl.Kubectl(ctx, "describe", "pod", "-n", ns, "evented")
		if err != nil {
			return err
		}
		got = out
		if !strings.Contains(out, "SeccompInjected") {
			return fmt.Errorf("no SeccompInjected event yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kubectl describe pod shows no SeccompInjected event after %s: %v\n%s", since(created), err, lastLines(got, 15))
	}
	logf(t, "SeccompInjected event on the pod %s after it was Ready", since(created))
	// The event names the rules that decided: the shipped policy injects
	// runtime-default into an Unconfined container, then applies the floor.
	out, err := cl.Kubectl(ctx, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=evented,reason=SeccompInjected",
		"-o", "jsonpath={range .items[*]}{.source.component}|{.message}{\"\\n\"}{end}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "runtime-default-for-unconfined") || !strings.Contains(out, "floor") {
		t.Errorf("the event does not name the deciding rules (runtime-default-for-unconfined, floor):\n%s", out)
	}
}
