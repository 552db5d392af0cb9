//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// alertsFile is the rules file operators load: the test uses it unchanged.
const alertsFile = "../../deploy/monitoring/alerts.yaml"

// TestMonitoringAlerts: Debian's Prometheus scrapes the live daemon with
// deploy/monitoring/alerts.yaml, and NRISeccompUnfilteredContainers fires
// once a container started with `ctr run` (which never reaches NRI) runs.
// Scrape and evaluation run every second, and the daemon scans every 200ms,
// so the test waits for events, not for production intervals.
func TestMonitoringAlerts(t *testing.T) {
	bin := pluginBin(t)
	promBin := prometheusBin(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	addr, err := h.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := StartPlugin(t, c, bin, policyFile(t, "s13-posture.yaml"), "--metrics-addr", addr,
		"--posture-interval", "200ms", "--posture-containerd-socket", c.Socket)
	prom := startPrometheus(t, promBin, addr)

	// Before: the target is up, the gauge scraped; the alert does not fire
	// unless something on the machine already runs unfiltered (then the
	// count must grow).
	before := waitQuery(t, prom, "nri_seccomp_posture_problem_containers", func(float64) bool { return true })
	if firing(t, prom, "NRISeccompUnfilteredContainers") && before == 0 {
		t.Fatal("NRISeccompUnfilteredContainers fires with no problem container")
	}
	if v := waitQuery(t, prom, "nri_seccomp_runtime_connected", func(v float64) bool { return v == 1 }); v != 1 {
		t.Fatalf("runtime_connected = %v", v)
	}
	if firing(t, prom, "NRISeccompNotConnected") {
		t.Error("NRISeccompNotConnected fires while the plugin is connected")
	}

	const ns, id = "e2e-monitoring", "monitoring-ctr-run"
	start := time.Now()
	ctrRun(t, c, ns, id)
	waitQuery(t, prom, "nri_seccomp_posture_problem_containers", func(v float64) bool { return v >= before+1 })
	wait := ctx(t)
	for !firing(t, prom, "NRISeccompUnfilteredContainers") {
		select {
		case <-wait.Done():
			t.Fatalf("NRISeccompUnfilteredContainers did not fire: %v", wait.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("NRISeccompUnfilteredContainers firing %s after ctr run (scrape and evaluation every 1s; Prometheus' first scrape waits ~5s for target discovery)", time.Since(start).Round(time.Millisecond))
	if n := p.LogCount(`"container_id":"` + id + `"`); n != 1 {
		t.Errorf("the daemon logged the ctr container %d times, want once", n)
	}
}

// prometheusBin is Debian's prometheus (hack/install-prometheus.sh), or
// $PROMETHEUS_BIN.
func prometheusBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMETHEUS_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not found: run hack/install-prometheus.sh (Debian's package, pinned) or set PROMETHEUS_BIN")
	}
	return p
}

// startPrometheus runs Prometheus with its own config and storage on a free
// port, scraping target every second with deploy/monitoring/alerts.yaml,
// and stops it when the test ends. It returns its base URL once ready.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: nri-seccomp
    honor_labels: true
    static_configs: [{targets: [%q]}]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen, err := h.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file", filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", listen)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", tailBytes(out, 4000))
		}
	})
	url := "http://" + listen
	wait := ctx(t)
	for {
		if rsp, err := http.Get(url + "/-/ready"); err == nil {
			rsp.Body.Close()
			if rsp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-wait.Done():
			t.Fatalf("prometheus not ready: %v", wait.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitQuery polls an instant query of one series until ok holds for its
// value, and returns the value.
func waitQuery(t *testing.T, prom, query string, ok func(float64) bool) float64 {
	t.Helper()
	wait := ctx(t)
	for {
		var rsp struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		apiGet(t, prom+"/api/v1/query?query="+query, &rsp)
		if len(rsp.Data.Result) == 1 {
			s, _ := rsp.Data.Result[0].Value[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: value %q: %v", query, s, err)
			}
			if ok(v) {
				return v
			}
		}
		select {
		case <-wait.Done():
			t.Fatalf("query %s: no wanted value: %v (last %+v)", query, wait.Err(), rsp.Data.Result)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// firing reports whether Prometheus has alertname firing now.
func firing(t *testing.T, prom, alertname string) bool {
	t.Helper()
	var rsp struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	apiGet(t, prom+"/api/v1/alerts", &rsp)
	for _, a := range rsp.Data.Alerts {
		if a.Labels["alertname"] == alertname && a.State == "firing" {
			return true
		}
	}
	return false
}

func apiGet(t *testing.T, url string, v any) {
	t.Helper()
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := h.HTTPGet(rctx, url)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, code, err, body)
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
