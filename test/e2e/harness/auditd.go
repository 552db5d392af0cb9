package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
)

// PrivateAuditd makes sure an auditd receives the kernel's audit records for
// the rest of the test: the one running, or one started here with a private
// config (`auditd -n -c DIR`) and stopped at the end. The kernel log is no
// substitute for recording: it passes 10 audit records per 5 s
// (printk_ratelimit), auditd all of them. The kernel's backlog is raised
// for the test (a container start logs a burst of records) and restored.
func PrivateAuditd(t testing.TB) string {
	t.Helper()
	backlog := AuditStatus(t, "backlog_limit")
	if out, err := exec.Command("auditctl", "-b", "8192").CombinedOutput(); err != nil {
		t.Fatalf("auditctl -b: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("auditctl", "-b", strconv.Itoa(backlog)).CombinedOutput(); err != nil {
			t.Errorf("restoring the audit backlog limit: %v: %s", err, out)
		}
	})
	if log, ok := source.AuditdLog("/proc"); ok {
		t.Logf("using the running auditd (log %s)", log)
		return log
	}
	dir, err := os.MkdirTemp("", "e2e-auditd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	log := filepath.Join(dir, "audit.log")
	conf := fmt.Sprintf("log_file = %s\nlog_format = ENRICHED\nwrite_logs = yes\nflush = INCREMENTAL_ASYNC\nfreq = 20\n"+
		"max_log_file = 64\nmax_log_file_action = ROTATE\nnum_logs = 2\nspace_left = 10\nadmin_space_left = 5\n"+
		"space_left_action = IGNORE\nadmin_space_left_action = IGNORE\ndisk_full_action = IGNORE\ndisk_error_action = IGNORE\n"+
		"plugin_dir = %s\nlocal_events = yes\nq_depth = 2000\n", log, dir)
	if err := os.WriteFile(filepath.Join(dir, "auditd.conf"), []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("auditd", "-n", "-c", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, _ := os.Create(filepath.Join(dir, "auditd.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start auditd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out.Close()
	})
	deadline := time.Now().Add(5 * time.Second)
	for AuditStatus(t, "pid") != cmd.Process.Pid {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "auditd.out"))
			t.Fatalf("auditd did not register with the kernel: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("started a private auditd (log %s)", log)
	return log
}

// AuditStatus reads one number from `auditctl -s`.
func AuditStatus(t testing.TB, key string) int {
	t.Helper()
	out, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		t.Fatalf("auditctl -s: %v: %s", err, out)
	}
	m := regexp.MustCompile(`(?m)^` + key + ` (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("auditctl -s: no %s in %s", key, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
