package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/workloads/images"
)

// hostRun runs each workload's exercises with no containerd and no filter:
// the command in its root filesystem (a private mount namespace with /proc,
// /dev and /dev/shm bound in, chroot as the image's user). A development
// aid for writing exercises; it needs no lock because it touches nothing
// the e2e machinery owns.
func hostRun(ctx context.Context, o options, built map[string]images.Built) error {
	defs := map[string]images.Def{}
	for _, d := range images.Defs() {
		defs[d.Name] = d
	}
	var failed []string
	for _, w := range Workloads() {
		if !wanted(o, w.Name) {
			continue
		}
		img, d := built[w.Image], defs[w.Image]
		port, err := freePort()
		if err != nil {
			return err
		}
		var cmd *exec.Cmd
		e := &env{port: port, rootfs: img.Rootfs}
		e.pid = func() (int, error) { return childOf(cmd.Process.Pid) }
		start := func(ctx context.Context) error {
			user := d.User
			if user == "" {
				user = "0:0"
			}
			script := `set -e; r=$1; shift; u=$1; shift
mount --bind /proc "$r/proc"; mount --bind /dev "$r/dev"; mount -t tmpfs shm "$r/dev/shm"; mount -t tmpfs -o mode=1777 tmp "$r/tmp"
exec /usr/sbin/chroot --userspec="$u" "$r" "$@"`
			args := append([]string{"--mount", "--fork", "sh", "-c", script, "sh", img.Rootfs, user}, w.Command(port)...)
			cmd = exec.Command("unshare", args...)
			cmd.Env = append(d.Env, "HOME=/tmp")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				return err
			}
			if err := waitPort(ctx, port, 120*time.Second, func() error { return nil }); err != nil {
				return err
			}
			if w.Ready != nil {
				return w.Ready(ctx, e)
			}
			return nil
		}
		stop := func() {
			if pid, err := childOf(cmd.Process.Pid); err == nil {
				syscall.Kill(pid, syscall.SIGTERM)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		e.restart = func(ctx context.Context) error { stop(); return start(ctx) }
		t0 := time.Now()
		if err := start(ctx); err != nil {
			failed = append(failed, w.Name+" start: "+err.Error())
			stop()
			continue
		}
		errA := w.A(ctx, e)
		t1 := time.Now()
		var errB error
		if errA == nil {
			errB = w.B(ctx, e)
		}
		stop()
		logf("%s on the host: A %v (%.1fs), B %v (%.1fs)", w.Name, errA, t1.Sub(t0).Seconds(), errB, time.Since(t1).Seconds())
		if errA != nil || errB != nil {
			failed = append(failed, fmt.Sprintf("%s: A %v B %v", w.Name, errA, errB))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return nil
}

// childOf is the only child of pid (unshare --fork's child, which execs
// through sh and chroot into the workload).
func childOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0, fmt.Errorf("pid %d has %d children", pid, len(f))
	}
	return strconv.Atoi(f[0])
}
