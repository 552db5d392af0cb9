package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// countPlugins is an adaptation.Metrics that tracks connected plugins.
type countPlugins struct{ n atomic.Int64 }

func (*countPlugins) RecordPluginInvocation(string, string, error)      {}
func (*countPlugins) RecordPluginLatency(string, string, time.Duration) {}
func (*countPlugins) RecordPluginAdjustments(string, string, *adaptation.ContainerAdjustment, int, int) {
}
func (c *countPlugins) UpdatePluginCount(n int) { c.n.Store(int64(n)) }

// nriRuntime starts NRI's runtime side in a short temp dir (unix socket
// paths are limited) and stops it when the test ends.
type nriRuntime struct {
	dir, socket, pluginDir, confDir string
	r                               *adaptation.Adaptation
	count                           countPlugins
}

func startNRIRuntime(t *testing.T, prepare func(rt *nriRuntime)) *nriRuntime {
	t.Helper()
	dir, err := os.MkdirTemp("", "nri-seccomp-cmd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rt := &nriRuntime{dir: dir, socket: filepath.Join(dir, "nri.sock"),
		pluginDir: filepath.Join(dir, "plugins"), confDir: filepath.Join(dir, "conf.d")}
	if prepare != nil {
		prepare(rt)
	}
	sync := func(ctx context.Context, cb adaptation.SyncCB) error { _, err := cb(ctx, nil, nil); return err }
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	rt.r, err = adaptation.New("containerd", "v2.4.2", sync, update,
		adaptation.WithPluginPath(rt.pluginDir), adaptation.WithPluginConfigPath(rt.confDir),
		adaptation.WithSocketPath(rt.socket), adaptation.WithMetrics(&rt.count))
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.r.Stop)
	return rt
}

func (rt *nriRuntime) waitPlugins(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for rt.count.n.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d plugins connected, want %d", rt.count.n.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (rt *nriRuntime) create(t *testing.T, ns, ctr string) *api.CreateContainerResponse {
	t.Helper()
	b := rt.r.BlockPluginSync()
	defer b.Unblock()
	rsp, err := rt.r.CreateContainer(context.Background(), &api.CreateContainerRequest{
		Pod:       &api.PodSandbox{Id: "pod-" + ctr, Name: "pod-" + ctr, Uid: "uid", Namespace: ns},
		Container: &api.Container{Id: "ctr-" + ctr, Name: ctr, Linux: &api.LinuxContainer{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rsp
}

func TestRunRefusesBadPolicy(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", badPolicy)
	code, _, stderr := cli(t, "run", "--policy", p, "--socket", filepath.Join(t.TempDir(), "nri.sock"))
	if code != exitFail {
		t.Fatalf("code %d, want %d", code, exitFail)
	}
	// The same file:line problems as check (its last line is its summary).
	_, _, checkErr := cli(t, "check", "--policy", p)
	problems := strings.Split(strings.TrimSpace(checkErr), "\n")
	problems = problems[:len(problems)-1]
	if len(problems) != 3 {
		t.Fatalf("check reports %d problems, want 3:\n%s", len(problems), checkErr)
	}
	for _, line := range problems {
		if !strings.Contains(stderr, line) {
			t.Errorf("run does not report %q:\n%s", line, stderr)
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	p := writeFile(t, t.TempDir(), "policy.yaml", goodPolicy)
	sock := filepath.Join(t.TempDir(), "nri.sock")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--log-format", "xml"}, exitUsage},
		{[]string{"--log-level", "loud"}, exitUsage},
		{[]string{"--posture-interval", "-1s"}, exitUsage},
		{[]string{"--idx", "100"}, exitFail},
		{[]string{"--name", "has space"}, exitFail},
		{[]string{"--decision-log", filepath.Join(t.TempDir(), "no", "dir", "d.jsonl")}, exitFail},
	} {
		args := append([]string{"run", "--policy", p, "--socket", sock}, tc.args...)
		if code, _, stderr := cli(t, args...); code != tc.code {
			t.Errorf("%v: code %d, want %d; stderr %s", tc.args, code, tc.code, stderr)
		}
	}
}

// The daemon serves the runtime, writes its decision log, and exits 0 on
// SIGTERM.
func TestRunServesAndStopsOnSIGTERM(t *testing.T) {
	t.Setenv("NRI_PLUGIN_SOCKET", "")
	t.Setenv("NRI_PLUGIN_NAME", "")
	t.Setenv("NRI_PLUGIN_IDX", "")
	rt := startNRIRuntime(t, nil)
	dir := t.TempDir()
	p := writeFile(t, dir, "policy.yaml", goodPolicy)
	dlog := filepath.Join(dir, "decisions.jsonl")

	done := make(chan int, 1)
	go func() {
		code, _, _ := cli(t, "run", "--policy", p, "--socket", rt.socket, "--decision-log", dlog, "--log-format", "json", "--log-level", "warn")
		done <- code
	}()
	rt.waitPlugins(t, 1)

	rsp := rt.create(t, "prod", "app")
	assertRefuses(t, convert.SeccompFromNRI(rsp.GetAdjust().GetLinux().GetSeccompPolicy()), "keyctl", "chroot", "read!")
	if rsp := rt.create(t, "kube-system", "agent"); rsp.GetAdjust().GetLinux().GetSeccompPolicy() != nil {
		t.Error("exempt container adjusted")
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code after SIGTERM = %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
	data, err := os.ReadFile(dlog)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("%d decision records, want 2:\n%s", n, data)
	}
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
	buildOut  []byte
)

// buildBinary builds the command once per test run, for the test that needs
// a real process (containerd launching a pre-installed plugin). It builds
// with go's defaults, the configuration `go vet` has already compiled every
// dependency in, so a cold build cache pays only for the link; TestMain
// removes it.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "nri-seccomp-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "nri-seccomp")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// removeBuiltBinary removes what buildBinary built, if it ran.
func removeBuiltBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// containerd starts a pre-installed plugin itself, with no arguments, on a
// pre-connected socket, and hands it its conf.d file in Configure: here,
// the policy to use and where to log decisions (the plugin's stderr goes
// nowhere).
func TestPreinstalledPlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("pre-installed plugins are launched over a socketpair on Linux; GOOS=%s", runtime.GOOS)
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := writeFile(t, dir, "policy.yaml", goodPolicy)
	dlog := filepath.Join(dir, "decisions.jsonl")

	rt := startNRIRuntime(t, func(rt *nriRuntime) {
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(rt.pluginDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rt.pluginDir, "10-seccomp"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, rt.confDir, "10-seccomp.conf", "policy: "+p+"\ndecisionLog: "+dlog+"\n")
	})
	rt.waitPlugins(t, 1)

	rsp := rt.create(t, "prod", "app")
	assertRefuses(t, convert.SeccompFromNRI(rsp.GetAdjust().GetLinux().GetSeccompPolicy()), "keyctl", "chroot", "read!")
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(dlog)
		if strings.Contains(string(data), `"container":"app"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision record in the configured log: %q", data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without GOMEMLIMIT the daemon sets its own soft limit; a GOMEMLIMIT in
// the environment, "off" included, is left to the Go runtime.
func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != memoryLimitFloor {
		t.Fatalf("limit %d, want %d", got, memoryLimitFloor)
	}
	t.Setenv("GOMEMLIMIT", "off")
	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("GOMEMLIMIT set: limit changed to %d", got)
	}
	if got := sizeMemoryLimit(); got != math.MaxInt64 {
		t.Fatalf("GOMEMLIMIT set: limit sized to %d", got)
	}
}

// Once a policy is loaded, the limit is the live heap plus the headroom,
// never below the floor; GOMEMLIMIT unset.
func TestSizeMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, memoryLimitFloor},
		{4 << 20, memoryLimitFloor},
		{memoryLimitFloor - memoryLimitHeadroom, memoryLimitFloor},
		{memoryLimitFloor - memoryLimitHeadroom + 1, memoryLimitFloor + 1},
		{100 << 20, 100<<20 + memoryLimitHeadroom},
		{math.MaxUint64, 1<<50 + memoryLimitHeadroom},
	} {
		if got := memoryLimitFor(tc.live); got != tc.want {
			t.Errorf("live %d: limit %d, want %d", tc.live, got, tc.want)
		}
	}
	// This test process's own heap: whatever it is, the limit follows it.
	got := sizeMemoryLimit()
	if want := memoryLimitFor(liveHeap()); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("limit %d, want %d", got, want)
	}
}
