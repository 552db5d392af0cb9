package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// DefaultCache is where test/cluster/install.sh puts the binaries unless
// $K8S_CACHE says otherwise.
const DefaultCache = "/var/cache/nri-seccomp-k8s"

// ErrNotInstalled means a binary is missing: run test/cluster/install.sh.
var ErrNotInstalled = errors.New("cluster tool not installed (run test/cluster/install.sh)")

// Tools are the binaries of the cluster.
type Tools struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kubelet, Kubectl, Helm string
}

// FindTools locates every binary and reports all missing ones at once.
func FindTools() (Tools, error) {
	cache := os.Getenv("K8S_CACHE")
	if cache == "" {
		cache = DefaultCache
	}
	bin := filepath.Join(cache, "bin")
	t := Tools{
		Etcd:              filepath.Join(bin, "etcd"),
		APIServer:         filepath.Join(bin, "kube-apiserver"),
		ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler:         filepath.Join(bin, "kube-scheduler"),
		Kubelet:           filepath.Join(bin, "kubelet"),
		Kubectl:           filepath.Join(bin, "kubectl"),
		Helm:              filepath.Join(bin, "helm"),
	}
	var missing []error
	for _, p := range []string{t.Etcd, t.APIServer, t.ControllerManager, t.Scheduler, t.Kubelet, t.Kubectl, t.Helm} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, fmt.Errorf("%w: %s", ErrNotInstalled, p))
		}
	}
	if _, err := harness.FindTools(); err != nil {
		missing = append(missing, err)
	}
	return t, errors.Join(missing...)
}

// Options configure a cluster.
type Options struct {
	// Images are the e2e harness's busybox and pause archives; pause is
	// containerd's sandbox image.
	Images harness.ImageArchives
	// ExtraImages are more OCI archives imported into the k8s.io namespace
	// (the project's image).
	ExtraImages []string
	// DropIn is the containerd drop-in to load as shipped
	// (deploy/containerd/nri-seccomp.toml).
	DropIn string
	// SyncFrequency is the kubelet's syncFrequency, which bounds how late a
	// ConfigMap volume follows an edit (the default 1m gives up to ~90 s
	// with jitter). Zero means the kubelet's default.
	SyncFrequency time.Duration
}

// NodeName is the single node's name.
const NodeName = "nri-seccomp-node"

// cniNetwork names the CNI network (and its cached results).
const cniNetwork = "nri-seccomp-cluster-test"

// bridgeName is the CNI bridge on the host (fixed: one cluster per machine).
const bridgeName = "nrisec0"

// Step is one timed phase of bring-up.
type Step struct {
	Name string
	Took time.Duration
}

// Cluster is a running single-node cluster.
type Cluster struct {
	Dir         string
	NodeIP      string
	APIServer   string // https://127.0.0.1:PORT
	Kubeconfig  string // admin (system:masters)
	NRISocket   string // the NRI socket containerd listens on
	KubeletRoot string
	PodLogsDir  string
	Containerd  *harness.Containerd
	Tools       Tools
	Opts        Options
	// Steps are bring-up's phases and how long each took.
	Steps []Step

	pki     *pki
	procs   []*process // in start order; stopped in reverse
	kubelet *process
}

// Start brings a cluster up: PKI, containerd (with the drop-in), etcd,
// apiserver, controller-manager, scheduler, kubelet, and waits until the node
// is Ready. On error everything started is torn down.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	tools, err := FindTools()
	if err != nil {
		return nil, err
	}
	if opts.DropIn == "" {
		return nil, errors.New("Options.DropIn is required")
	}
	if _, err := os.Stat(opts.DropIn); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "e2e-ctrd-k8s-")
	if err != nil {
		return nil, err
	}
	c = &Cluster{
		Dir:         dir,
		Tools:       tools,
		Opts:        opts,
		NRISocket:   filepath.Join(dir, "nri", "nri.sock"),
		KubeletRoot: filepath.Join(dir, "kubelet"),
		PodLogsDir:  filepath.Join(dir, "pod-logs"),
	}
	defer func() {
		if err != nil {
			if serr := c.Stop(context.Background()); serr != nil {
				err = errors.Join(err, fmt.Errorf("teardown: %w", serr))
			}
		}
	}()
	step := time.Now()
	mark := func(name string) {
		c.Steps = append(c.Steps, Step{name, time.Since(step)})
		step = time.Now()
	}
	if c.NodeIP, err = nodeIP(); err != nil {
		return c, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return c, err
	}
	etcdPort, peerPort, apiPort, kubeletPort := ports[0], ports[1], ports[2], ports[3]
	c.APIServer = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := c.writePKI(); err != nil {
		return c, fmt.Errorf("pki: %w", err)
	}
	mark("pki")

	if err := c.startContainerd(ctx); err != nil {
		return c, err
	}
	mark("containerd")

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd, err := c.start("etcd", tools.Etcd,
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		// A throwaway store on a shared disk: fsync only slows the test.
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return c, err
	}
	if err := poll(ctx, 30*time.Second, etcd, func() error { return httpOK(http.DefaultClient, etcdURL+"/health") }); err != nil {
		return c, fmt.Errorf("etcd: %w", err)
	}
	mark("etcd")

	p := c.pki
	saPub := filepath.Join(p.Dir, "sa.pub")
	saKey := filepath.Join(p.Dir, "sa.key")
	api, err := c.start("kube-apiserver", tools.APIServer,
		"--etcd-servers="+etcdURL,
		// 127.0.0.1 only; the apiserver refuses to advertise a loopback
		// address (its endpoint reconciler), so it advertises the node's.
		"--bind-address=127.0.0.1", "--advertise-address="+c.NodeIP,
		"--secure-port="+strconv.Itoa(apiPort),
		"--client-ca-file="+p.CA(),
		"--tls-cert-file="+filepath.Join(p.Dir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(p.Dir, "apiserver.key"),
		"--kubelet-client-certificate="+filepath.Join(p.Dir, "apiserver-kubelet.crt"),
		"--kubelet-client-key="+filepath.Join(p.Dir, "apiserver-kubelet.key"),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--profiling=false")
	if err != nil {
		return c, err
	}
	client, err := c.adminHTTPClient()
	if err != nil {
		return c, err
	}
	if err := poll(ctx, 60*time.Second, api, func() error { return httpOK(client, c.APIServer+"/readyz") }); err != nil {
		return c, fmt.Errorf("kube-apiserver: %w", err)
	}
	mark("kube-apiserver")

	if _, err := c.start("kube-controller-manager", tools.ControllerManager,
		"--kubeconfig="+filepath.Join(dir, "controller-manager.kubeconfig"),
		"--service-account-private-key-file="+saKey,
		"--root-ca-file="+p.CA(),
		"--use-service-account-credentials=true",
		"--leader-elect=false", "--secure-port=0", "--profiling=false"); err != nil {
		return c, err
	}
	if _, err := c.start("kube-scheduler", tools.Scheduler,
		"--kubeconfig="+filepath.Join(dir, "scheduler.kubeconfig"),
		"--leader-elect=false", "--secure-port=0", "--profiling=false"); err != nil {
		return c, err
	}
	mark("controller-manager+scheduler")

	if err := c.startKubelet(kubeletPort); err != nil {
		return c, err
	}
	if err := poll(ctx, 90*time.Second, c.kubelet, c.nodeReady); err != nil {
		return c, fmt.Errorf("node %s not Ready: %w; kubelet log tail:\n%s", NodeName, err, tailFile(c.kubelet.LogPath, 25))
	}
	mark("kubelet, node Ready")
	return c, nil
}

func (c *Cluster) start(name, bin string, args ...string) (*process, error) {
	p, err := startProcess(c.Dir, name, bin, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// writePKI writes the CA, every component's certificate and kubeconfig.
func (c *Cluster) writePKI() error {
	p, err := newPKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return err
	}
	c.pki = p
	if _, _, err := p.serviceAccountKeys(); err != nil {
		return err
	}
	if _, _, err := p.issue(certSpec{
		Name: "apiserver", CN: "kube-apiserver", Server: true,
		DNS: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1"), net.ParseIP(c.NodeIP)},
	}); err != nil {
		return err
	}
	// The apiserver's client identity towards the kubelet (logs, exec).
	if _, _, err := p.issue(certSpec{Name: "apiserver-kubelet", CN: "kube-apiserver-kubelet-client", Orgs: []string{"system:masters"}}); err != nil {
		return err
	}
	clients := []struct {
		name string
		spec certSpec
	}{
		{"admin", certSpec{Name: "admin", CN: "cluster-test-admin", Orgs: []string{"system:masters"}}},
		{"controller-manager", certSpec{Name: "controller-manager", CN: "system:kube-controller-manager"}},
		{"scheduler", certSpec{Name: "scheduler", CN: "system:kube-scheduler"}},
		{"kubelet", certSpec{Name: "kubelet", CN: "system:node:" + NodeName, Orgs: []string{"system:nodes"}}},
	}
	for _, cl := range clients {
		crt, key, err := p.issue(cl.spec)
		if err != nil {
			return err
		}
		if err := writeKubeconfig(filepath.Join(c.Dir, cl.name+".kubeconfig"), c.APIServer, p.CA(), crt, key); err != nil {
			return err
		}
	}
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	return nil
}

func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(c.pki.Dir, "admin.crt"), filepath.Join(c.pki.Dir, "admin.key"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.pki.caCert)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}},
	}, nil
}

// nriOverride moves what the shipped drop-in puts at host paths
// (/var/run/nri, /opt/nri/plugins, /etc/nri/conf.d) into the run's
// directory; everything else (validator, required plugin, annotation,
// timeouts) stays as shipped.
const nriOverride = `version = 3
[plugins."io.containerd.nri.v1.nri"]
  socket_path = %q
  plugin_path = %q
  plugin_config_path = %q
`

const cniConfig = `[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = %q
`

const bridgeConflist = `{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "ipMasq": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "dataDir": %q}
  }]
}
`

func (c *Cluster) startContainerd(ctx context.Context) error {
	nriDir := filepath.Dir(c.NRISocket)
	override := filepath.Join(c.Dir, "nri-override.toml")
	cniDir := filepath.Join(c.Dir, "cni", "net.d")
	for _, d := range []string{nriDir, cniDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(override, []byte(fmt.Sprintf(nriOverride, c.NRISocket,
		filepath.Join(c.Dir, "nri-plugins"), filepath.Join(c.Dir, "nri-conf.d"))), 0o644); err != nil {
		return err
	}
	conflist := fmt.Sprintf(bridgeConflist, cniNetwork, bridgeName, filepath.Join(c.Dir, "cni", "ipam"))
	if err := os.WriteFile(filepath.Join(cniDir, "10-bridge.conflist"), []byte(conflist), 0o644); err != nil {
		return err
	}
	ctrd, err := harness.StartContainerd(ctx, harness.ContainerdOptions{
		Dir:         c.Dir,
		Images:      c.Opts.Images,
		NRISocket:   c.NRISocket,
		Imports:     []string{c.Opts.DropIn, override},
		ExtraConfig: fmt.Sprintf(cniConfig, cniDir),
	})
	c.Containerd = ctrd
	if err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	for _, img := range c.Opts.ExtraImages {
		if err := c.ImportImage(ctx, img); err != nil {
			return err
		}
	}
	return nil
}

// ImportImage imports an OCI archive into the k8s.io namespace.
func (c *Cluster) ImportImage(ctx context.Context, archive string) error {
	if _, err := c.Containerd.Ctr(ctx, "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", archive); err != nil {
		return fmt.Errorf("import %s: %w", archive, err)
	}
	return nil
}

// kubeletSysctls are the settings the kubelet rewrites with
// protectKernelDefaults off; Start saves them and Stop restores them.
var kubeletSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This VM: cgroup v1 (refused by default since 1.35), cgroupfs, swap on, and
# kernel defaults that differ from the kubelet's wishes.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %q
failSwapOn: false
protectKernelDefaults: false
containerRuntimeEndpoint: unix://%s
address: %s
port: %d
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %q}
authorization: {mode: Webhook}
podLogsDir: %q
%s
# A test node on a shared disk: never evict for disk pressure and never
# garbage-collect the imported images (nothing can pull them again).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`

func (c *Cluster) startKubelet(port int) error {
	if err := c.saveSysctls(); err != nil {
		return err
	}
	if err := c.noteHostDirs(); err != nil {
		return err
	}
	if err := makeCgroupRoot(c.Containerd.CgroupParent); err != nil {
		return err
	}
	sync := ""
	if c.Opts.SyncFrequency > 0 {
		sync = "syncFrequency: " + c.Opts.SyncFrequency.String()
	}
	cfg := fmt.Sprintf(kubeletConfig, c.Containerd.CgroupParent, c.Containerd.Socket, c.NodeIP, port,
		c.pki.CA(), c.PodLogsDir, sync)
	path := filepath.Join(c.Dir, "kubelet-config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	for _, d := range []string{c.KubeletRoot, c.PodLogsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	p, err := c.start("kubelet", c.Tools.Kubelet,
		"--config="+path,
		"--kubeconfig="+filepath.Join(c.Dir, "kubelet.kubeconfig"),
		"--root-dir="+c.KubeletRoot,
		// Not under --root-dir by default.
		"--cert-dir="+filepath.Join(c.KubeletRoot, "pki"),
		"--hostname-override="+NodeName,
		// The hostname resolves to 127.0.0.1 here.
		"--node-ip="+c.NodeIP,
		"--v=1")
	c.kubelet = p
	return err
}

func (c *Cluster) nodeReady() error {
	out, err := c.Kubectl(context.Background(), "get", "node", NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "True" {
		return fmt.Errorf("Ready=%q", out)
	}
	return nil
}

// Stop tears the cluster down and undoes what it did to the host. It
// returns every problem it met, but always finishes.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	// The kubelet first: it would restart what containerd's teardown removes.
	if c.kubelet != nil {
		if err := c.kubelet.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Containerd != nil {
		// Pods, shims, the cgroup root and every mount under Dir.
		if err := c.Containerd.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i] == c.kubelet {
			continue
		}
		if err := c.procs[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, undoHost(c.Dir))
	if os.Getenv("E2E_KEEP") == "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hostDirs are fixed paths the kubelet (device plugins' socket), containerd's
// CNI (result cache, network namespaces) and the kubelet's log links use
// whatever their configuration says.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/var/run/netns"}

// noteHostDirs records which hostDirs do not exist yet, so that Stop removes
// exactly those (a machine that is a real node keeps its own).
func (c *Cluster) noteHostDirs() error {
	var created []string
	for _, d := range hostDirs {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			created = append(created, d)
		}
	}
	return os.WriteFile(filepath.Join(c.Dir, "hostdirs.created"), []byte(strings.Join(created, "\n")), 0o644)
}

// undoHost restores what the kubelet changed outside dir: the sysctls,
// the /var/log/containers links into dir, CNI results of this test's
// network, the CNI bridge, and the host directories the run created.
func undoHost(dir string) error {
	var errs []error
	if err := restoreSysctls(dir); err != nil {
		errs = append(errs, err)
	}
	results, _ := filepath.Glob("/var/lib/cni/results/" + cniNetwork + "-*")
	for _, r := range results {
		_ = os.Remove(r)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "hostdirs.created")); err == nil {
		for _, d := range strings.Fields(string(b)) {
			if !slices.Contains(hostDirs, d) {
				errs = append(errs, fmt.Errorf("hostdirs.created: unexpected %q", d))
				continue
			}
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	links, _ := filepath.Glob("/var/log/containers/*.log")
	for _, l := range links {
		if t, err := os.Readlink(l); err == nil && strings.HasPrefix(t, dir+"/") {
			_ = os.Remove(l)
		}
	}
	if _, err := net.InterfaceByName(bridgeName); err == nil {
		if out, err := exec.Command("ip", "link", "del", bridgeName).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link del %s: %w: %s", bridgeName, err, out))
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) saveSysctls() error {
	var b strings.Builder
	for _, s := range kubeletSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", s))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s\n", s, strings.TrimSpace(string(v)))
	}
	return os.WriteFile(filepath.Join(c.Dir, "sysctls.saved"), []byte(b.String()), 0o644)
}

func restoreSysctls(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "sysctls.saved"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // the kubelet never started
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		key, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(key, "..") {
			errs = append(errs, fmt.Errorf("sysctls.saved: bad line %q", line))
			continue
		}
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// makeCgroupRoot creates the kubelet's cgroupRoot in every v1 hierarchy
// (the kubelet refuses a root missing from one); cpuset cgroups start with
// no CPUs and no memory nodes, so each level copies its parent's.
func makeCgroupRoot(root string) error {
	mounts, err := filepath.Glob("/sys/fs/cgroup/*")
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if st, err := os.Stat(filepath.Join(m, "cgroup.procs")); err != nil || st.IsDir() {
			continue
		}
		path := m
		for _, part := range strings.Split(strings.Trim(root, "/"), "/") {
			parent := path
			path = filepath.Join(path, part)
			if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(parent, f))
				if err != nil {
					continue // not the cpuset hierarchy
				}
				cur, _ := os.ReadFile(filepath.Join(path, f))
				if len(bytes.TrimSpace(cur)) == 0 {
					if err := os.WriteFile(filepath.Join(path, f), v, 0o644); err != nil {
						return fmt.Errorf("%s: %w", filepath.Join(path, f), err)
					}
				}
			}
		}
	}
	return nil
}

// CleanStale undoes what killed earlier runs left: for each
// /tmp/e2e-ctrd-k8s-* directory whose containerd is gone, the host changes
// (sysctls, links, bridge); the e2e harness's CleanStale then removes its
// shims, cgroups, mounts and the directory.
func CleanStale(ctx context.Context) error {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "e2e-ctrd-k8s-*"))
	var errs []error
	for _, d := range dirs {
		if h, err := harness.Attach(d); err == nil && h.Pid != 0 {
			continue // alive: a concurrent run (should not happen under the lock)
		}
		if err := undoHost(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := harness.CleanStale(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// nodeIP is the first global IPv4 address of an interface that is up (the
// hostname resolves to 127.0.0.1 on this VM, so the kubelet cannot guess).
func nodeIP() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || i.Name == bridgeName {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String(), nil
			}
		}
	}
	return "", errors.New("no global IPv4 address on an interface that is up")
}

// freePorts asks the kernel for n free TCP ports on all addresses.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func httpOK(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// poll calls check every 200ms until it succeeds, the process p exits, ctx
// ends or limit passes; the error names the last failure.
func poll(ctx context.Context, limit time.Duration, p *process, check func() error) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		if p != nil {
			if err := p.errIfExited(); err != nil {
				return err
			}
		}
		if last = check(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s: %v", errTimeout, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
