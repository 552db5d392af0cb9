package nri

// Integration tests: the plugin against NRI's own runtime side
// (pkg/adaptation, what containerd embeds) over a real unix socket.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// pluginCount is an adaptation.Metrics that only tracks connected plugins,
// which is how the tests know the plugin is registered and synchronised.
type pluginCount struct{ n atomic.Int64 }

func (*pluginCount) RecordPluginInvocation(string, string, error)      {}
func (*pluginCount) RecordPluginLatency(string, string, time.Duration) {}
func (*pluginCount) RecordPluginAdjustments(string, string, *adaptation.ContainerAdjustment, int, int) {
}
func (c *pluginCount) UpdatePluginCount(n int) { c.n.Store(int64(n)) }

// The runtime side of NRI does not close external plugins' connections on
// Stop (in containerd the process dies and the kernel does it), so the
// harness puts a proxy between plugin and runtime and closes every proxied
// connection to simulate containerd going away.
type connProxy struct {
	front, back string
	mu          sync.Mutex
	ln          net.Listener
	conns       []net.Conn
}

func (p *connProxy) start() error {
	ln, err := net.Listen("unix", p.front)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("unix", p.back)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return nil
}

func (p *connProxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	os.Remove(p.front)
}

type runtimeHarness struct {
	t      *testing.T
	dir    string
	socket string // what the plugin dials
	proxy  *connProxy
	r      *adaptation.Adaptation
	count  *pluginCount
	// version is the containerd version the runtime announces.
	version string
	// opts are extra runtime options (a default validator).
	opts []adaptation.Option
	// syncPods and syncCtrs are what the runtime reports as running when
	// a plugin connects.
	syncPods []*api.PodSandbox
	syncCtrs []*api.Container
}

func newRuntimeHarness(t *testing.T) *runtimeHarness {
	t.Helper()
	// Not t.TempDir(): unix socket paths must stay short.
	dir, err := os.MkdirTemp("", "nri-seccomp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &runtimeHarness{t: t, dir: dir, socket: filepath.Join(dir, "nri.sock"), version: "v2.4.2"}
	h.proxy = &connProxy{front: h.socket, back: filepath.Join(dir, "runtime.sock")}
	t.Cleanup(h.stop)
	return h
}

func (h *runtimeHarness) start() {
	h.t.Helper()
	h.count = &pluginCount{}
	sync := func(ctx context.Context, cb adaptation.SyncCB) error {
		_, err := cb(ctx, h.syncPods, h.syncCtrs)
		return err
	}
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	r, err := adaptation.New("containerd", h.version, sync, update,
		append([]adaptation.Option{
			adaptation.WithPluginPath(filepath.Join(h.dir, "plugins")),
			adaptation.WithPluginConfigPath(filepath.Join(h.dir, "conf.d")),
			adaptation.WithSocketPath(h.proxy.back),
			adaptation.WithMetrics(h.count),
		}, h.opts...)...,
	)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.r = r
	if err := h.proxy.start(); err != nil {
		h.t.Fatal(err)
	}
}

// stop simulates the runtime exiting: its socket disappears and every
// plugin connection is closed.
func (h *runtimeHarness) stop() {
	h.proxy.kill()
	if h.r != nil {
		h.r.Stop()
		h.r = nil
	}
}

func (h *runtimeHarness) waitPlugins(n int64) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.count.n.Load() != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d plugins connected after 10s, want %d", h.count.n.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *runtimeHarness) create(pod *api.PodSandbox, ctr *api.Container) (*api.CreateContainerResponse, error) {
	b := h.r.BlockPluginSync()
	defer b.Unblock()
	return h.r.CreateContainer(context.Background(), &api.CreateContainerRequest{Pod: pod, Container: ctr})
}

// adjustedPolicy returns the seccomp policy a create response sets, nil if
// none.
func adjustedPolicy(rsp *api.CreateContainerResponse) *specs.LinuxSeccomp {
	return convert.SeccompFromNRI(rsp.GetAdjust().GetLinux().GetSeccompPolicy())
}

// startPlugin runs p against the harness's socket until the test ends.
func startPlugin(t *testing.T, p *Plugin, socket string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, RunOptions{Socket: socket, Name: "seccomp", Idx: "10",
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func TestIntegrationDecisions(t *testing.T) {
	h := newRuntimeHarness(t)
	h.start()
	p, d, _, dlog := newTestPlugin(t, policyDecider)
	startPlugin(t, p, h.socket)
	h.waitPlugins(1)

	t.Run("inject applied", func(t *testing.T) {
		rsp, err := h.create(testPod("prod", "web"), testContainer("app"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := adjustedPolicy(rsp), denyProfile("mkdir", "mkdirat", "app"); !reflect.DeepEqual(got, want) {
			t.Errorf("adjusted policy:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("current policy reaches the engine and is tightened", func(t *testing.T) {
		current := denyProfile("bpf")
		ctr := testContainer("tight")
		ctr.Linux.SeccompProfile = &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT}
		ctr.Linux.SeccompPolicy = convert.SeccompToNRI(current)
		rsp, err := h.create(testPod("prod", "web"), ctr)
		if err != nil {
			t.Fatal(err)
		}
		calls := d.Calls()
		last := calls[len(calls)-1]
		if last.ProfileType != profile.TypeRuntimeDefault || !reflect.DeepEqual(last.Current, current) {
			t.Errorf("engine input: type %q current %+v, want RuntimeDefault %+v", last.ProfileType, last.Current, current)
		}
		got := adjustedPolicy(rsp)
		if got == nil || len(got.Syscalls) != 2 || got.Syscalls[1].Names[0] != "keyctl" {
			t.Errorf("adjusted policy = %+v, want the current one plus keyctl", got)
		}
	})

	t.Run("exempt: no adjustment", func(t *testing.T) {
		rsp, err := h.create(testPod("kube-system", "agent"), testContainer("agent"))
		if err != nil {
			t.Fatal(err)
		}
		if got := adjustedPolicy(rsp); got != nil {
			t.Errorf("exempt container adjusted: %+v", got)
		}
	})

	t.Run("no match: no adjustment", func(t *testing.T) {
		rsp, err := h.create(testPod("other", "x"), testContainer("x"))
		if err != nil {
			t.Fatal(err)
		}
		if got := adjustedPolicy(rsp); got != nil {
			t.Errorf("unmatched container adjusted: %+v", got)
		}
	})

	for _, ns := range []string{"fail", "boom"} {
		t.Run("internal failure fails the creation: "+ns, func(t *testing.T) {
			_, err := h.create(testPod(ns, "x"), testContainer("x"))
			if err == nil {
				t.Fatal("creation succeeded, want it refused")
			}
			if !strings.Contains(err.Error(), "nri-seccomp refused the container") || !strings.Contains(err.Error(), ns+`/x container "x"`) {
				t.Errorf("runtime error does not explain the refusal: %v", err)
			}
			// The plugin survives and keeps deciding.
			rsp, err := h.create(testPod("prod", "web"), testContainer("after-"+ns))
			if err != nil {
				t.Fatal(err)
			}
			if adjustedPolicy(rsp) == nil {
				t.Error("the plugin stopped adjusting after a failure")
			}
			if h.count.n.Load() != 1 {
				t.Error("the plugin was dropped by the runtime after a failure")
			}
		})
	}

	recs := testutil.JSONLines(t, dlog.String())
	if len(recs) != 8 {
		t.Errorf("%d decision records, want 8", len(recs))
	}
	var errorsSeen int
	for _, r := range recs {
		if r["error"] != nil {
			errorsSeen++
		}
	}
	if errorsSeen != 2 {
		t.Errorf("%d refused decisions recorded, want 2", errorsSeen)
	}
}

func TestIntegrationReconnect(t *testing.T) {
	h := newRuntimeHarness(t)
	h.start()
	p, _, logs, _ := newTestPlugin(t, policyDecider)
	startPlugin(t, p, h.socket)
	h.waitPlugins(1)

	if rsp, err := h.create(testPod("prod", "web"), testContainer("before")); err != nil || adjustedPolicy(rsp) == nil {
		t.Fatalf("before restart: %v %v", rsp, err)
	}

	// containerd restarts: the runtime goes away for a while, then comes
	// back on the same socket.
	h.stop()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "reconnecting") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "reconnecting"); n < 3 {
		t.Fatalf("%d reconnect attempts logged while the runtime was away, want >= 3", n)
	}
	h.start()
	h.waitPlugins(1)

	rsp, err := h.create(testPod("prod", "web"), testContainer("after"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := adjustedPolicy(rsp), denyProfile("mkdir", "mkdirat", "after"); !reflect.DeepEqual(got, want) {
		t.Errorf("after reconnect: got %+v, want %+v", got, want)
	}

	// And once more, to show the loop is not one-shot.
	h.stop()
	h.start()
	h.waitPlugins(1)
	if rsp, err := h.create(testPod("prod", "web"), testContainer("again")); err != nil || adjustedPolicy(rsp) == nil {
		t.Fatalf("after second restart: %v %v", rsp, err)
	}
}

func TestIntegrationConcurrentCreates(t *testing.T) {
	h := newRuntimeHarness(t)
	h.start()
	p, _, _, dlog := newTestPlugin(t, policyDecider)
	startPlugin(t, p, h.socket)
	h.waitPlugins(1)

	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			name := "c" + strconv.Itoa(i)
			rsp, err := h.create(testPod("prod", "pod-"+name), testContainer(name))
			if err != nil {
				errs[i] = err
				return
			}
			// Each container gets its own answer: no cross-talk.
			if got, want := adjustedPolicy(rsp), denyProfile("mkdir", "mkdirat", name); !reflect.DeepEqual(got, want) {
				errs[i] = fmt.Errorf("%s: got %+v, want %+v", name, got, want)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	recs := testutil.JSONLines(t, dlog.String())
	if len(recs) != n {
		t.Fatalf("%d decision records, want %d", len(recs), n)
	}
	seen := map[any]bool{}
	for _, r := range recs {
		if r["changed"] != true || r["digest"] != "sha256:"+fmt.Sprint(r["container"]) {
			t.Errorf("record %v", r)
		}
		seen[r["container"]] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct containers recorded, want %d", len(seen), n)
	}
}

// A plugin started by the runtime on a pre-connected socket cannot redial it:
// when the runtime closes the connection, Run returns nil so the process ends
// and the runtime can start a fresh one.
func TestIntegrationPreconnectedSocket(t *testing.T) {
	h := newRuntimeHarness(t)
	h.start()

	conn, err := net.Dial("unix", h.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A raw duplicate: the stub takes ownership of the descriptor and
	// closes it, so it must not belong to an *os.File of ours.
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := raw.Control(func(f uintptr) { fd, err = syscall.Dup(int(f)) }); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(api.PluginSocketEnvVar, strconv.Itoa(fd))
	t.Setenv(api.PluginNameEnvVar, "seccomp")
	t.Setenv(api.PluginIdxEnvVar, "10")
	conn.Close()

	p, _, logs, _ := newTestPlugin(t, policyDecider)
	done := make(chan error, 1)
	go func() {
		// Flags that differ from the environment: the runtime's win.
		done <- p.Run(context.Background(), RunOptions{Socket: "/nonexistent", Name: "other", Idx: "99"})
	}()
	h.waitPlugins(1)
	if rsp, err := h.create(testPod("prod", "web"), testContainer("app")); err != nil || adjustedPolicy(rsp) == nil {
		t.Fatalf("pre-connected plugin: %v %v", rsp, err)
	}

	h.stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil when the runtime closes a pre-connected socket", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going on a closed pre-connected socket")
	}
	if !strings.Contains(logs.String(), "10-seccomp") {
		t.Errorf("the runtime-given name was not used: %s", logs.String())
	}
}

// On a containerd that would ignore the adjustment or hide the current
// policy, the plugin refuses to register (so the node's validator, if any,
// sees it missing) and keeps trying in case containerd is upgraded.
func TestIntegrationOldRuntimeRefused(t *testing.T) {
	h := newRuntimeHarness(t)
	h.version = "v2.2.0"
	h.start()
	p, _, logs, _ := newTestPlugin(t, policyDecider)
	startPlugin(t, p, h.socket)

	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "refusing to register") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "refusing to register"); n < 2 {
		t.Fatalf("%d refusals logged, want the plugin to refuse and retry:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "containerd v2.2.0") {
		t.Errorf("the refusal does not name the version: %s", logs.String())
	}
	if n := h.count.n.Load(); n != 0 {
		t.Errorf("%d plugins connected to an unsupported runtime", n)
	}
}
