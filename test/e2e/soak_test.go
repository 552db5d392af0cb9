//go:build e2e && soak

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// soakPolicy logs mkdir (audit mode) in the soak's namespace: every pod
// gets its own audit series.
const soakPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: soak
  match: {namespaces: [e2e-soak]}
  action: tighten
  deny: [mkdir]
  mode: audit
`

// sample is one look at the plugin's /metrics.
type sample struct {
	at          time.Duration
	pods        int64
	rss, heap   float64
	series      int // every sample line
	auditSeries int // nri_seccomp_audit_records_total
	tracked     float64
}

func scrape(t *testing.T, addr string) sample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	var s sample
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s.series++
		name, val, _ := strings.Cut(line, " ")
		v, _ := strconv.ParseFloat(val, 64)
		switch {
		case strings.HasPrefix(name, "nri_seccomp_audit_records_total{"):
			s.auditSeries++
		case name == "process_resident_memory_bytes":
			s.rss = v
		case name == "go_memstats_heap_inuse_bytes":
			s.heap = v
		case name == "nri_seccomp_audit_tracked_processes":
			s.tracked = v
		}
	}
	return s
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestChurnSoak creates and removes NRI_SECCOMP_SOAK_PODS short-lived pods
// (default 400) of NRI_SECCOMP_SOAK_CONTAINERS short-lived containers each
// (default 5: 2000 containers, each its own audit series), with
// NRI_SECCOMP_SOAK_WORKERS pods at a time (default 4), with
// auditing on and every pod making audit-mode calls (so each gets audit
// series and process-table entries), and samples the plugin's RSS, heap
// and /metrics series. State must follow what runs: once the churn stops
// and the removal grace is over, the audit series are back to none and the
// series count to what it was after the warm-up. RSS and heap are printed
// (figures for docs/benchmarks.md), not asserted.
//
// Build tag soak: minutes long, run by `make soak`, not by `make e2e`.
func TestChurnSoak(t *testing.T) {
	pods := envInt(t, "NRI_SECCOMP_SOAK_PODS", 400)
	perPod := envInt(t, "NRI_SECCOMP_SOAK_CONTAINERS", 5)
	workers := envInt(t, "NRI_SECCOMP_SOAK_WORKERS", 4)
	bin := pluginBin(t)
	privateAuditd(t)
	c := StartContainerd(t, h.ContainerdOptions{})
	events := filepath.Join(c.Dir, "audit-events.jsonl")
	addr := freeAddr(t)
	StartPlugin(t, c, bin, writePolicy(t, soakPolicy), "--audit", "--audit-events", events,
		"--audit-window", "1s", "--audit-burst", "100000", "--metrics-addr", addr)

	var done, ctrs atomic.Int64
	cycle := func(i int) error {
		p, err := c.RunPod(ctx(t), h.PodSpec{Name: fmt.Sprintf("soak-%d", i), Namespace: "e2e-soak"})
		if err != nil {
			return err
		}
		// A forked mkdir (gone before its record is read) and the
		// shell's exec'd last command, in short-lived containers.
		for j := 0; j < perPod && err == nil; j++ {
			_, err = p.RunContainer(ctx(t), h.ContainerSpec{Name: fmt.Sprintf("app-%d", j), Seccomp: h.SeccompRuntimeDefault,
				Command: []string{"/bin/sh", "-c", "mkdir /tmp/a; mkdir /tmp/b"}})
			if err == nil {
				ctrs.Add(1)
			}
		}
		if rerr := p.Remove(ctx(t)); err == nil {
			err = rerr
		}
		done.Add(1)
		return err
	}
	run := func(from, to int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= to {
						return
					}
					if err := cycle(i); err != nil {
						t.Errorf("pod %d: %v", i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}

	// Warm-up: the label values every later pod reuses (decision outcome,
	// rule) exist, and their removal grace is over.
	start := time.Now()
	warm := min(4, pods)
	run(0, warm)
	time.Sleep(containers.ContainerGrace + 15*time.Second)
	base := scrape(t, addr)
	base.at, base.pods = time.Since(start), done.Load()
	samples := []sample{base}

	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(15 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				s := scrape(t, addr)
				s.at, s.pods = time.Since(start), done.Load()
				samples = append(samples, s)
			}
		}
	}()
	churnStart := time.Now()
	run(warm, pods)
	churn := time.Since(churnStart)
	close(stop)
	<-sampled
	peak := samples[len(samples)-1]
	for _, s := range samples {
		if s.auditSeries > peak.auditSeries {
			peak = s
		}
	}
	// Past the removal grace and the expiry tick, nothing of the pods
	// should be left.
	time.Sleep(containers.ContainerGrace + 15*time.Second)
	end := scrape(t, addr)
	end.at, end.pods = time.Since(start), done.Load()
	samples = append(samples, end)

	t.Logf("churn: %d pods, %d containers in all, in %s (%.1f containers/s, %d workers)", pods-warm, ctrs.Load(), churn.Round(time.Second), float64(ctrs.Load())/churn.Seconds(), workers)
	t.Logf("%8s %6s %9s %9s %7s %7s %8s", "t", "pods", "rss_MiB", "heap_MiB", "series", "audit", "procs")
	for _, s := range samples {
		t.Logf("%8s %6d %9.1f %9.1f %7d %7d %8.0f", s.at.Round(time.Second), s.pods, s.rss/(1<<20), s.heap/(1<<20), s.series, s.auditSeries, s.tracked)
	}
	attributed, total := 0, 0
	for _, ev := range readEvents(t, events) {
		if ev.Syscall == "mkdir" && ev.Comm == "mkdir" {
			total += ev.Count
			if ev.Known() && ev.Namespace == "e2e-soak" && strings.HasPrefix(ev.Container, "app-") {
				attributed += ev.Count
			}
		}
	}
	t.Logf("mkdir records attributed under churn: %d of %d (%.2f%%)", attributed, total, 100*float64(attributed)/float64(max(total, 1)))

	// Unattributed records (if any) share one series with empty labels.
	if end.auditSeries > 1 {
		t.Errorf("%d audit series left after the churn and the grace period, want at most 1 (unattributed)", end.auditSeries)
	}
	if end.series > base.series+1 {
		t.Errorf("%d series after the churn, %d before: state grows with pods that are gone", end.series, base.series)
	}
}
