package main

// Shared by sections 2 (NRI round trip) and 6 (memory): NRI's runtime side
// (pkg/adaptation, the code containerd embeds) runs in this process and the
// plugins run as separate processes connected to its real socket, which is
// how nri-seccomp runs on a node. The pods and containers are described the
// way containerd 2.4.2's CRI plugin describes them to NRI.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"
	"github.com/containerd/nri/pkg/stub"
	"google.golang.org/protobuf/proto"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
)

// nriRuntimeVersion is what the in-process runtime announces: the containerd
// nri-seccomp targets (older ones are refused by the plugin).
const nriRuntimeVersion = "v2.4.2"

// A stub plugin is this bench binary started again with these variables set:
// the process then serves NRI as the named stub instead of running the bench
// (see init below). Same kind of process as nri-seccomp, so the comparison
// is fair: its own address space, its own Go runtime, the same socket.
const (
	stubKindEnv    = "NRI_SECCOMP_BENCH_STUB"         // "noop", "noopvalidator" or "fixed"
	stubSocketEnv  = "NRI_SECCOMP_BENCH_STUB_SOCKET"  // the runtime's NRI socket
	stubAnswersEnv = "NRI_SECCOMP_BENCH_STUB_ANSWERS" // fixed: directory of the answers
)

// Files of a fixed stub's answers: proto-encoded api.LinuxSeccomp.
const (
	answerWithPolicy    = "with-policy.pb"    // for containers that have a seccomp policy
	answerWithoutPolicy = "without-policy.pb" // for containers that have none
)

func init() {
	if kind := os.Getenv(stubKindEnv); kind != "" {
		os.Exit(runStubPlugin(kind, os.Getenv(stubSocketEnv), os.Getenv(stubAnswersEnv)))
	}
}

// noopStub subscribes to CreateContainer and answers nothing: the least a
// plugin can cost.
type noopStub struct{}

func (noopStub) CreateContainer(context.Context, *api.PodSandbox, *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	return nil, nil, nil
}

// noopValidatorStub is noopStub that also validates every adjustment and
// accepts it: the cost of being a validator at all (a second call per
// creation), without any work in either call.
type noopValidatorStub struct{ noopStub }

func (noopValidatorStub) ValidateContainerAdjustment(context.Context, *api.ValidateContainerAdjustmentRequest) error {
	return nil
}

// fixedStub answers every CreateContainer with a precomputed seccomp policy
// and decides nothing: what NRI costs to carry a full policy back, whoever
// computes it.
type fixedStub struct {
	withPolicy, withoutPolicy *api.LinuxSeccomp
}

func (f *fixedStub) CreateContainer(_ context.Context, _ *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	adj := &api.ContainerAdjustment{}
	if ctr.GetLinux().GetSeccompPolicy() != nil {
		adj.SetLinuxSeccompPolicy(f.withPolicy)
	} else {
		adj.SetLinuxSeccompPolicy(f.withoutPolicy)
	}
	return adj, nil, nil
}

// runStubPlugin serves one stub until the runtime closes the connection or a
// signal arrives; it returns the exit code.
func runStubPlugin(kind, socket, answers string) int {
	var impl any
	switch kind {
	case "noop":
		impl = noopStub{}
	case "noopvalidator":
		impl = noopValidatorStub{}
	case "fixed":
		f := &fixedStub{}
		for name, dst := range map[string]**api.LinuxSeccomp{answerWithPolicy: &f.withPolicy, answerWithoutPolicy: &f.withoutPolicy} {
			b, err := os.ReadFile(filepath.Join(answers, name))
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench stub %s: reading its answer: %v\n", kind, err)
				return 1
			}
			*dst = &api.LinuxSeccomp{}
			if err := proto.Unmarshal(b, *dst); err != nil {
				fmt.Fprintf(os.Stderr, "bench stub %s: decoding %s: %v\n", kind, name, err)
				return 1
			}
		}
		impl = f
	default:
		fmt.Fprintf(os.Stderr, "bench stub: unknown kind %q\n", kind)
		return 1
	}
	s, err := stub.New(impl, stub.WithPluginName(kind), stub.WithPluginIdx("10"), stub.WithSocketPath(socket))
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench stub %s: %v\n", kind, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := s.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "bench stub %s: %v\n", kind, err)
		return 1
	}
	return 0
}

// quietNRILog replaces NRI's logger while a section runs: the runtime side
// logs every plugin connection at info level, which would bury the
// progress lines. Warnings and errors still reach stderr. The returned
// function restores the previous logger.
func quietNRILog() (restore func()) {
	prev := nrilog.Get()
	nrilog.Set(nriWarnLogger{})
	return func() { nrilog.Set(prev) }
}

type nriWarnLogger struct{}

func (nriWarnLogger) Debugf(context.Context, string, ...any) {}
func (nriWarnLogger) Infof(context.Context, string, ...any)  {}
func (nriWarnLogger) Warnf(_ context.Context, format string, args ...any) {
	logf("   nri: warning: "+format, args...)
}
func (nriWarnLogger) Errorf(_ context.Context, format string, args ...any) {
	logf("   nri: error: "+format, args...)
}

// pluginCounter is an adaptation.Metrics that only tracks how many plugins
// are registered and synchronised: that is how the bench knows a plugin is
// in the path of every creation.
type pluginCounter struct{ n atomic.Int64 }

func (*pluginCounter) RecordPluginInvocation(string, string, error)      {}
func (*pluginCounter) RecordPluginLatency(string, string, time.Duration) {}
func (*pluginCounter) RecordPluginAdjustments(string, string, *adaptation.ContainerAdjustment, int, int) {
}
func (c *pluginCounter) UpdatePluginCount(n int) { c.n.Store(int64(n)) }

// nriRuntime is one NRI runtime side with its own socket and plugins.
type nriRuntime struct {
	dir    string
	socket string
	r      *adaptation.Adaptation
	count  *pluginCounter
	procs  []*pluginProc
}

// startNRIRuntime starts a runtime side listening on dir/nri.sock. dir must
// be short: unix socket paths are limited to 108 bytes.
func startNRIRuntime(dir string) (*nriRuntime, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("NRI runtime directory: %w", err)
	}
	rt := &nriRuntime{dir: dir, socket: filepath.Join(dir, "nri.sock"), count: &pluginCounter{}}
	syncFn := func(ctx context.Context, cb adaptation.SyncCB) error {
		_, err := cb(ctx, nil, nil)
		return err
	}
	updateFn := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	r, err := adaptation.New("containerd", nriRuntimeVersion, syncFn, updateFn,
		adaptation.WithPluginPath(filepath.Join(dir, "plugins")),
		adaptation.WithPluginConfigPath(filepath.Join(dir, "conf.d")),
		adaptation.WithSocketPath(rt.socket),
		adaptation.WithMetrics(rt.count),
	)
	if err != nil {
		return nil, fmt.Errorf("creating the NRI runtime side: %w", err)
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("starting the NRI runtime side: %w", err)
	}
	rt.r = r
	return rt, nil
}

// stop ends the runtime's plugins, then the runtime. NRI's Stop does not
// close external plugins' connections (in containerd the process exit
// does), so the plugins are stopped first.
func (rt *nriRuntime) stop() {
	for _, p := range rt.procs {
		p.stop()
	}
	if rt.r != nil {
		rt.r.Stop()
		rt.r = nil
	}
}

// create sends one CreateContainer through the runtime side, as containerd
// does (plugin synchronisation blocked meanwhile), and returns how long the
// runtime side took in all: every plugin's answer, and validation.
func (rt *nriRuntime) create(ctx context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.CreateContainerResponse, time.Duration, error) {
	start := time.Now()
	b := rt.r.BlockPluginSync()
	rsp, err := rt.r.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pod, Container: ctr})
	b.Unblock()
	took := time.Since(start)
	if err != nil {
		return nil, took, fmt.Errorf("CreateContainer %s/%s %s: %w", pod.GetNamespace(), pod.GetName(), ctr.GetName(), err)
	}
	return rsp, took, nil
}

// startPlugin starts a plugin process and waits until the runtime has it
// registered and synchronised (one more plugin than before).
func (rt *nriRuntime) startPlugin(ctx context.Context, name string, cmd *exec.Cmd) (*pluginProc, error) {
	before := rt.count.n.Load()
	logPath := filepath.Join(rt.dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("plugin %s log: %w", name, err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = pluginEnv(cmd.Env)
	// Its own process group, and killed if the bench dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting plugin %s: %w", name, err)
	}
	p := &pluginProc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	rt.procs = append(rt.procs, p)

	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for rt.count.n.Load() <= before {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("plugin %s exited before registering (%v); its log:\n%s", name, p.waitErr, p.logTail(20))
		case <-deadline.C:
			return nil, fmt.Errorf("plugin %s not registered with the runtime after 15s; its log:\n%s", name, p.logTail(20))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	return p, nil
}

// pluginEnv is the environment of a plugin process: extra on top of ours,
// without the Go runtime knobs a deployment does not set, so that the plugin
// runs with Go's defaults whatever the shell running the bench has.
func pluginEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", stubKindEnv, stubSocketEnv, stubAnswersEnv:
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// startSeccompPlugin runs the real nri-seccomp binary against the runtime
// with the flags of the shipped DaemonSet (deploy/kubernetes/base:
// --log-format=json and a metrics listener), plus extra.
func (rt *nriRuntime) startSeccompPlugin(ctx context.Context, env *Env, name, policyPath string, extra ...string) (*pluginProc, error) {
	return rt.startSeccompPluginEnv(ctx, env, name, policyPath, nil, extra...)
}

// startSeccompPluginEnv is startSeccompPlugin with extra environment
// variables (KEY=value) for the plugin process.
func (rt *nriRuntime) startSeccompPluginEnv(ctx context.Context, env *Env, name, policyPath string, vars []string, extra ...string) (*pluginProc, error) {
	args := append([]string{"run",
		"--socket", rt.socket,
		"--policy", policyPath,
		"--log-format", "json",
		"--metrics-addr", "127.0.0.1:0",
		"--node", "bench",
	}, extra...)
	cmd := exec.Command(env.Bin, args...)
	cmd.Env = vars
	return rt.startPlugin(ctx, name, cmd)
}

// startStubPlugin runs this binary as a stub plugin (see runStubPlugin).
func (rt *nriRuntime) startStubPlugin(ctx context.Context, kind, answers string) (*pluginProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the bench binary to run the %s stub: %w", kind, err)
	}
	cmd := exec.Command(self)
	cmd.Env = []string{stubKindEnv + "=" + kind, stubSocketEnv + "=" + rt.socket, stubAnswersEnv + "=" + answers}
	return rt.startPlugin(ctx, kind, cmd)
}

// pluginProc is a running plugin process.
type pluginProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	once    sync.Once
}

func (p *pluginProc) pid() int { return p.cmd.Process.Pid }

// alive fails if the plugin has exited: a number measured after its exit
// would be the fail-open path, not the plugin.
func (p *pluginProc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("plugin %s exited (%v); its log:\n%s", p.name, p.waitErr, p.logTail(20))
	default:
		return nil
	}
}

// stop sends SIGTERM, and SIGKILL if the plugin is still there 5 s later.
func (p *pluginProc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

func (p *pluginProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// metricsURL finds the plugin's /metrics address in its JSON log (it listens
// on port 0).
func (p *pluginProc) metricsURL() (string, error) {
	f, err := os.Open(p.logPath)
	if err != nil {
		return "", fmt.Errorf("reading plugin %s log: %w", p.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Msg, "serving metrics") && line.Addr != "" {
			return "http://" + line.Addr + "/metrics", nil
		}
	}
	return "", fmt.Errorf("plugin %s logged no metrics address", p.name)
}

// goMemStats reads the Go runtime's memory gauges from the plugin's /metrics
// (heap in use, memory obtained from the OS), in bytes.
func (p *pluginProc) goMemStats(ctx context.Context) (heapInuse, sys int64, err error) {
	url, err := p.metricsURL()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("plugin %s /metrics: %w", p.name, err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("plugin %s /metrics: %w", p.name, err)
	}
	vals := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || strings.HasPrefix(l, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			vals[f[0]] = int64(v)
		}
	}
	heapInuse, ok1 := vals["go_memstats_heap_inuse_bytes"]
	sys, ok2 := vals["go_memstats_sys_bytes"]
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("plugin %s /metrics has no go_memstats_heap_inuse_bytes or go_memstats_sys_bytes", p.name)
	}
	return heapInuse, sys, nil
}

// procStatusMemory reads VmRSS (resident now) and VmHWM (resident at its peak)
// from /proc/PID/status, in bytes.
func procStatusMemory(pid int) (rss, hwm int64, err error) {
	v, err := procStatusKiB(pid, "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// procStatusRSSSplit reads how VmRSS divides: RssAnon (memory the process
// wrote: Go's heap, stacks, runtime) and RssFile (file pages mapped: the
// binary's code and read-only data, as many of them as the kernel mapped,
// which depends on the page cache rather than on the program).
func procStatusRSSSplit(pid int) (anon, file int64, err error) {
	v, err := procStatusKiB(pid, "RssAnon", "RssFile")
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// procStatusKiB reads the given "Key:   N kB" lines of /proc/PID/status, in
// bytes.
func procStatusKiB(pid int, keys ...string) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("reading the plugin's memory: %w", err)
	}
	kib := func(key string) (int64, error) {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, key+":"); ok {
				f := strings.Fields(v)
				if len(f) != 2 || f[1] != "kB" {
					return 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, key, l)
				}
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("/proc/%d/status: %s: %w", pid, key, err)
				}
				return n << 10, nil
			}
		}
		return 0, fmt.Errorf("/proc/%d/status has no %s", pid, key)
	}
	out := make([]int64, len(keys))
	for i, k := range keys {
		if out[i], err = kib(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runtimeDefaultNRI is containerd's RuntimeDefault profile as NRI carries it
// in container.linux.seccomp_policy: the built-in runtime-default profile,
// generated from containerd 2.4.2's own code.
func runtimeDefaultNRI() (*api.LinuxSeccomp, error) {
	b, err := engine.Builtins()
	if err != nil {
		return nil, fmt.Errorf("built-in profiles: %w", err)
	}
	rd := b["runtime-default"]
	if rd == nil {
		return nil, errors.New("no built-in runtime-default profile")
	}
	return convert.SeccompToNRI(rd), nil
}

// nriPodSpec describes one pod of a workload.
type nriPodSpec struct {
	Namespace string
	Name      string
	UID       string
	Labels    map[string]string
}

// nriPod is a pod as containerd's CRI plugin describes it to NRI: the
// kubelet's labels and annotations, cgroup parent, namespaces and IP.
func nriPod(p nriPodSpec, seq int) *api.PodSandbox {
	id := nriHexID("sandbox", p.UID)
	return &api.PodSandbox{
		Id:        id,
		Name:      p.Name,
		Uid:       p.UID,
		Namespace: p.Namespace,
		Labels:    p.Labels,
		Annotations: map[string]string{
			"kubernetes.io/config.seen":   "2025-01-01T00:00:00.000000000Z",
			"kubernetes.io/config.source": "api",
		},
		Linux: &api.LinuxPodSandbox{
			CgroupParent: "/kubepods/burstable/pod" + p.UID,
			CgroupsPath:  "/kubepods/burstable/pod" + p.UID + "/" + id,
			Namespaces: []*api.LinuxNamespace{
				{Type: "network", Path: "/var/run/netns/cni-" + p.UID},
				{Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "pid"},
			},
		},
		Pid: uint32(10000 + seq%50000),
		Ips: []string{fmt.Sprintf("10.244.%d.%d", seq/250%250, seq%250+2)},
	}
}

// nriContainer is a container of pod as containerd's CRI plugin describes it
// to NRI when creating it: the mounts, environment, resources and
// namespaces a kubelet asks for, and its seccomp profile type and policy
// (policy nil: the container runs with no seccomp, Unconfined).
func nriContainer(pod *api.PodSandbox, name, image string, seq int, profile api.SecurityProfile_ProfileType, policy *api.LinuxSeccomp) *api.Container {
	id := nriHexID("container", strconv.Itoa(seq)+"/"+pod.GetUid()+"/"+name)
	sa := "/var/lib/kubelet/pods/" + pod.GetUid() + "/volumes/kubernetes.io~projected/kube-api-access-x7k2p"
	return &api.Container{
		Id:           id,
		PodSandboxId: pod.GetId(),
		Name:         name,
		State:        api.ContainerState_CONTAINER_CREATED,
		Labels: map[string]string{
			"io.kubernetes.container.name": name,
			"io.kubernetes.pod.name":       pod.GetName(),
			"io.kubernetes.pod.namespace":  pod.GetNamespace(),
			"io.kubernetes.pod.uid":        pod.GetUid(),
		},
		Annotations: map[string]string{
			"io.kubernetes.cri.container-name":                 name,
			"io.kubernetes.cri.container-type":                 "container",
			convert.ImageNameAnnotation:                        image,
			"io.kubernetes.cri.sandbox-id":                     pod.GetId(),
			"io.kubernetes.cri.sandbox-name":                   pod.GetName(),
			"io.kubernetes.cri.sandbox-namespace":              pod.GetNamespace(),
			"io.kubernetes.cri.sandbox-uid":                    pod.GetUid(),
			"io.kubernetes.container.hash":                     "4a7d2c1b",
			"io.kubernetes.container.restartCount":             "0",
			"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
			"io.kubernetes.container.terminationMessagePolicy": "File",
		},
		Args: []string{"/app/server", "--port=8080", "--log-level=info"},
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOSTNAME=" + pod.GetName(),
			"KUBERNETES_SERVICE_HOST=10.96.0.1",
			"KUBERNETES_SERVICE_PORT=443",
			"KUBERNETES_SERVICE_PORT_HTTPS=443",
			"KUBERNETES_PORT=tcp://10.96.0.1:443",
			"KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
			"KUBERNETES_PORT_443_TCP_PROTO=tcp",
			"KUBERNETES_PORT_443_TCP_PORT=443",
			"KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
			"POD_NAMESPACE=" + pod.GetNamespace(),
		},
		Mounts: []*api.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/etc/hosts", Type: "bind", Source: "/var/lib/kubelet/pods/" + pod.GetUid() + "/etc-hosts", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/dev/termination-log", Type: "bind", Source: "/var/lib/kubelet/pods/" + pod.GetUid() + "/containers/" + name + "/0a1b2c3d", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/etc/hostname", Type: "bind", Source: "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + pod.GetId() + "/hostname", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/etc/resolv.conf", Type: "bind", Source: "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + pod.GetId() + "/resolv.conf", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/dev/shm", Type: "bind", Source: "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/" + pod.GetId() + "/shm", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/var/run/secrets/kubernetes.io/serviceaccount", Type: "bind", Source: sa, Options: []string{"rbind", "rprivate", "ro"}},
		},
		Linux: &api.LinuxContainer{
			Namespaces: []*api.LinuxNamespace{
				{Type: "pid"},
				{Type: "ipc", Path: "/proc/" + strconv.Itoa(int(pod.GetPid())) + "/ns/ipc"},
				{Type: "uts", Path: "/proc/" + strconv.Itoa(int(pod.GetPid())) + "/ns/uts"},
				{Type: "mount"},
				{Type: "network", Path: "/proc/" + strconv.Itoa(int(pod.GetPid())) + "/ns/net"},
			},
			Resources: &api.LinuxResources{
				Memory: &api.LinuxMemory{Limit: api.Int64(256 << 20)},
				Cpu:    &api.LinuxCPU{Shares: api.UInt64(102), Quota: api.Int64(50000), Period: api.UInt64(100000)},
			},
			OomScoreAdj:    api.Int(999),
			CgroupsPath:    pod.GetLinux().GetCgroupParent() + "/" + id,
			SeccompProfile: &api.SecurityProfile{ProfileType: profile},
			SeccompPolicy:  policy,
		},
		User:    &api.User{Uid: 65532, Gid: 65532},
		Rlimits: []*api.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1048576, Soft: 1048576}},
	}
}

// nriHexID makes a stable 64-hex-digit id, like containerd's, from its parts.
func nriHexID(parts ...string) string {
	var h uint64 = 14695981039346656037 // FNV-1a
	var out strings.Builder
	for i := range 4 {
		for _, p := range parts {
			for _, c := range []byte(p) {
				h = (h ^ uint64(c)) * 1099511628211
			}
		}
		h = (h ^ uint64(i)) * 1099511628211
		fmt.Fprintf(&out, "%016x", h)
	}
	return out.String()
}

// nriAdjusted is the seccomp policy a create response sets, nil if none.
func nriAdjusted(rsp *api.CreateContainerResponse) *api.LinuxSeccomp {
	return rsp.GetAdjust().GetLinux().GetSeccompPolicy()
}
