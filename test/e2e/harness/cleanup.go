package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killShims kills containerd-shim-runc-v2 processes whose -address is
// socket, i.e. the shims of this instance only. Normally none are left once
// pods are removed; a killed containerd can leave some behind.
func killShims(socket string) error {
	pids, err := shimPids(socket)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

// shimPids lists the shims started for the containerd at socket.
func shimPids(socket string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "containerd-shim-runc-v2" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-address" && args[i+1] == socket {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

// cgroupMounts lists the mount points of cgroup (v1) and cgroup2 hierarchies.
func cgroupMounts() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		fs := strings.Fields(post)
		if len(f) > 4 && len(fs) > 0 && (fs[0] == "cgroup" || fs[0] == "cgroup2") {
			mounts = append(mounts, unescapeMount(f[4]))
		}
	}
	return mounts, nil
}

// cleanCgroups kills every process still inside parent (in any hierarchy)
// and removes the cgroup directories, deepest first.
func cleanCgroups(parent string) error {
	if parent == "" || parent == "/" {
		return errors.New("refusing to clean an empty cgroup parent")
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var dirs []string
	for _, m := range mounts {
		root := filepath.Join(m, parent)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for attempt := 0; attempt < 50; attempt++ {
		left := 0
		for _, d := range dirs {
			b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					left++
				}
			}
		}
		if left == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var errs []error
	for _, d := range dirs {
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	// The shared top directory (/nri-seccomp-e2e) goes too once empty;
	// another instance still using it simply keeps it alive.
	for _, m := range mounts {
		_ = syscall.Rmdir(filepath.Join(m, filepath.Dir(parent)))
	}
	return errors.Join(errs...)
}

func rmdirRetry(d string) error {
	var err error
	for i := 0; i < 20; i++ {
		err = syscall.Rmdir(d)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", d, err)
}

// unmountUnder detaches every mount point below dir, deepest first.
func unmountUnder(dir string) error {
	if dir == "" || dir == "/" {
		return errors.New("refusing to unmount under an empty dir")
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	prefix := strings.TrimRight(dir, "/") + "/"
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			if p := unescapeMount(f[4]); strings.HasPrefix(p, prefix) {
				points = append(points, p)
			}
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount decodes mountinfo's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Attach returns a handle on a containerd started detached in dir by another
// process (the CLI's `up`), so `down` can stop it. It checks that the pid in
// containerd.pid still runs containerd with this dir's config, so a recycled
// pid is never signalled.
func Attach(dir string) (*Containerd, error) {
	t, err := FindTools()
	if err != nil {
		return nil, err
	}
	c := &Containerd{
		Dir:          dir,
		Socket:       filepath.Join(dir, "containerd.sock"),
		NRISocket:    filepath.Join(dir, "nri.sock"),
		ConfigPath:   filepath.Join(dir, "config.toml"),
		LogPath:      filepath.Join(dir, "containerd.log"),
		CrictlConf:   filepath.Join(dir, "crictl.yaml"),
		CgroupParent: "/nri-seccomp-e2e/" + filepath.Base(dir),
		Tools:        t,
		ownDir:       true,
	}
	b, err := os.ReadFile(filepath.Join(dir, "containerd.pid"))
	if err != nil {
		return c, fmt.Errorf("no containerd.pid in %s: %w", dir, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return c, fmt.Errorf("bad containerd.pid in %s: %w", dir, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err == nil && strings.Contains(string(cmdline), c.ConfigPath) {
		c.Pid = pid
	}
	return c, nil
}

// CleanStale tears down what earlier runs left behind when they were killed
// before their cleanup ran: every /tmp/e2e-ctrd-* directory whose
// containerd no longer runs (its shims, cgroups, mounts, the directory),
// and image build directories older than an hour.
// Instances whose containerd is alive belong to a concurrent run and are
// left alone.
func CleanStale(ctx context.Context) error {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), "e2e-ctrd-*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dirs {
		c, err := Attach(d)
		if c == nil || c.Pid != 0 {
			continue
		}
		if st, serr := os.Stat(d); err != nil && serr == nil && time.Since(st.ModTime()) < time.Minute {
			continue // no pid file yet: maybe a concurrent run still starting
		}
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clean %s: %w", d, err))
		}
	}
	// Image build directories of killed runs; an hour is longer than any run.
	imgs, _ := filepath.Glob(filepath.Join(os.TempDir(), "e2e-images-*"))
	for _, d := range imgs {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > time.Hour {
			_ = os.RemoveAll(d)
		}
	}
	return errors.Join(errs...)
}
