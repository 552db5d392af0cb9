package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/log"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	rsp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp.StatusCode, string(b)
}

// The daemon with --metrics-addr: ready once connected with a valid policy;
// SIGHUP with a broken policy keeps the old one and turns /readyz and the
// reload metrics red; SIGHUP after the fix turns them green again.
func TestRunMetricsAndSIGHUPReload(t *testing.T) {
	t.Setenv("NRI_PLUGIN_SOCKET", "")
	t.Setenv("NRI_PLUGIN_NAME", "")
	t.Setenv("NRI_PLUGIN_IDX", "")
	rt := startNRIRuntime(t, nil)
	dir := t.TempDir()
	p := writeFile(t, dir, "policy.yaml", goodPolicy)
	addr := freeAddr(t)
	base := "http://" + addr

	done := make(chan int, 1)
	go func() {
		code, _, _ := cli(t, "run", "--policy", p, "--socket", rt.socket, "--metrics-addr", addr,
			"--watch-policy=false", "--log-format", "json", "--log-level", "error")
		done <- code
	}()
	rt.waitPlugins(t, 1)

	waitReady := func(want int, contains string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := httpGet(t, base+"/readyz")
			if code == want && strings.Contains(body, contains) {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %q, want %d with %q", code, body, want, contains)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitReady(200, "ok")
	if code, _ := httpGet(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	rt.create(t, "prod", "app")
	_, m := httpGet(t, base+"/metrics")
	for _, want := range []string{`nri_seccomp_runtime_connected 1`, `nri_seccomp_decisions_total{mode="enforce",outcome="changed"} 1`, `nri_seccomp_policy_last_reload_success 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Signal handling is registered before the plugin connects, so the
	// test process is not killed by its own SIGHUP.
	writeFile(t, dir, "policy.yaml", badPolicy)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitReady(503, "the last policy reload failed; still enforcing revision")
	_, m = httpGet(t, base+"/metrics")
	for _, want := range []string{`nri_seccomp_policy_last_reload_success 0`, `nri_seccomp_policy_reloads_total{result="failure"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics after a bad reload lacks %q", want)
		}
	}
	// Still enforcing the old policy.
	rsp := rt.create(t, "prod", "after-bad-reload")
	if rsp.GetAdjust().GetLinux().GetSeccompPolicy() == nil {
		t.Error("no adjustment after a refused reload: the old policy was dropped")
	}

	writeFile(t, dir, "policy.yaml", goodPolicy+"\n# edited\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitReady(200, "ok")

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code = %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the metrics server still answers after the daemon stopped")
	}
}

func TestRunMetricsAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	code, _, stderr := cli(t, "run", "--policy", p, "--socket", "/nonexistent/nri.sock", "--metrics-addr", ln.Addr().String())
	if code != exitFail || !strings.Contains(stderr, "--metrics-addr") {
		t.Errorf("code %d, stderr %q; want a refusal naming --metrics-addr", code, stderr)
	}
}

type reloadCounter struct{ n chan string }

func (r *reloadCounter) Reload(reason string) (bool, error) { r.n <- reason; return true, nil }

func TestHandleSignals(t *testing.T) {
	sigC := make(chan os.Signal, 1)
	r := &reloadCounter{n: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); handleSignals(ctx, log.L, sigC, cancel, r) }()

	sigC <- syscall.SIGHUP
	if reason := <-r.n; reason != "SIGHUP" {
		t.Errorf("reload reason %q", reason)
	}
	sigC <- syscall.SIGHUP
	<-r.n // a second SIGHUP reloads again: the loop goes on
	sigC <- syscall.SIGTERM
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not stop the signal loop")
	}
	if ctx.Err() == nil {
		t.Error("SIGTERM did not cancel the daemon's context")
	}
}
