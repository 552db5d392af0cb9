package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// ContainerdOptions configure a private containerd.
type ContainerdOptions struct {
	// Dir holds all state; created when empty (then removed on Stop).
	Dir string
	// Tools to run; FindTools() when zero.
	Tools Tools
	// Runc is the runtime binary (Tools.Runc, Debian's 1.1.5, when empty).
	Runc string
	// PluginRegistrationTimeout and PluginRequestTimeout are NRI's timeouts
	// (containerd defaults 5s and 2s when zero).
	PluginRegistrationTimeout time.Duration
	PluginRequestTimeout      time.Duration
	// RequiredPlugins enables NRI's default validator with these plugins
	// required: container creation is refused while one of them is absent.
	RequiredPlugins []string
	// TolerateMissingAnnotation is the validator's escape-hatch annotation key.
	TolerateMissingAnnotation string
	// LogLevel of containerd (default "info"; NRI connection lines are info).
	LogLevel string
	// Images to import (built by BuildImages). Required: CRI cannot pull.
	Images ImageArchives
	// Detach starts containerd in its own session and does not tie its life to
	// this process (for the CLI, where `up` and `down` are separate runs).
	Detach bool
	// NRISocket is where NRI listens (Dir/nri.sock when empty). The cluster
	// test puts it in a directory of its own, which the DaemonSet mounts.
	NRISocket string
	// Imports are config files merged over the generated config, in order
	// (containerd's `imports`: a later file overrides an earlier one), e.g.
	// deploy/containerd/nri-seccomp.toml as shipped.
	Imports []string
	// ExtraConfig is TOML appended to the generated config (tables it does
	// not already define, such as the CRI's cni section).
	ExtraConfig string
}

// Containerd is a running private containerd.
type Containerd struct {
	Dir        string
	Socket     string // containerd gRPC socket (CRI lives here too)
	NRISocket  string
	ConfigPath string
	LogPath    string
	CrictlConf string
	// CgroupParent is the cgroup parent every pod of this instance uses.
	CgroupParent string
	Tools        Tools
	Opts         ContainerdOptions
	Pid          int
	// ReadyIn is how long containerd took to answer CRI; ImportIn how long
	// the image imports took after that.
	ReadyIn, ImportIn time.Duration

	mu      sync.Mutex
	plugins []*Plugin // started by StartPlugin; stopped by Stop
	cmd     *exec.Cmd
	ownDir  bool
	exited  chan struct{}
	waitErr error
}

const configTemplate = `version = 3
{{- if .Imports}}
imports = [{{.Imports}}]
{{- end}}
root = "{{.Dir}}/root"
state = "{{.Dir}}/state"

[grpc]
  address = "{{.Socket}}"

[ttrpc]
  address = "{{.Socket}}.ttrpc"

[debug]
  level = "{{.LogLevel}}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{{.PauseImage}}"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  disable_apparmor = true
  # This VM may lack CAP_SYS_RESOURCE; runc then cannot lower oom_score_adj
  # below containerd's own and the sandbox fails to start.
  restrict_oom_score_adj = {{.RestrictOOM}}
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{{.Runc}}"
        Root = "{{.Dir}}/runc"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.nri.v1.nri"]
  disable = false
  socket_path = "{{.NRISocket}}"
  plugin_path = "{{.Dir}}/nri/plugins"
  plugin_config_path = "{{.Dir}}/nri/conf.d"
  plugin_registration_timeout = "{{.RegTimeout}}"
  plugin_request_timeout = "{{.ReqTimeout}}"
{{- if .Required}}
  [plugins."io.containerd.nri.v1.nri".default_validator]
    enable = true
    required_plugins = [{{.Required}}]
{{- if .Tolerate}}
    tolerate_missing_plugins_annotation = "{{.Tolerate}}"
{{- end}}
{{- end}}
{{.Extra}}
`

// HasCapSysResource reports whether bit 24 of CapEff is set. Without it runc
// fails on the sandbox's oom_score_adj ("can't get final child's PID from
// pipe: EOF") unless restrict_oom_score_adj is on.
func HasCapSysResource() (bool, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("parse CapEff %q: %w", v, err)
			}
			return caps&(1<<24) != 0, nil
		}
	}
	return false, errors.New("no CapEff line in /proc/self/status")
}

// StartContainerd writes the config, starts containerd, waits until CRI
// answers and imports the images. On error everything started is torn down.
func StartContainerd(ctx context.Context, opts ContainerdOptions) (c *Containerd, err error) {
	if opts.Tools == (Tools{}) {
		t, err := FindTools()
		if err != nil {
			return nil, err
		}
		opts.Tools = t
	}
	if opts.Runc == "" {
		opts.Runc = opts.Tools.Runc
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if opts.PluginRegistrationTimeout == 0 {
		opts.PluginRegistrationTimeout = 5 * time.Second
	}
	if opts.PluginRequestTimeout == 0 {
		opts.PluginRequestTimeout = 2 * time.Second
	}
	if opts.Images.Busybox == "" || opts.Images.Pause == "" {
		return nil, errors.New("ContainerdOptions.Images is required (BuildImages)")
	}
	c = &Containerd{Tools: opts.Tools, Opts: opts, exited: make(chan struct{})}
	if opts.Dir == "" {
		// Short and under /tmp: unix socket paths must stay below 108 bytes.
		d, err := os.MkdirTemp("", "e2e-ctrd-")
		if err != nil {
			return nil, err
		}
		opts.Dir, c.ownDir = d, true
	}
	c.Dir, c.Opts = opts.Dir, opts
	c.Socket = filepath.Join(c.Dir, "containerd.sock")
	c.NRISocket = filepath.Join(c.Dir, "nri.sock")
	if opts.NRISocket != "" {
		c.NRISocket = opts.NRISocket
	}
	c.ConfigPath = filepath.Join(c.Dir, "config.toml")
	c.LogPath = filepath.Join(c.Dir, "containerd.log")
	c.CrictlConf = filepath.Join(c.Dir, "crictl.yaml")
	c.CgroupParent = "/nri-seccomp-e2e/" + filepath.Base(c.Dir)
	defer func() {
		if err != nil {
			_ = c.Stop(context.Background())
		}
	}()
	for _, d := range []string{"root", "state", "runc", "nri/plugins", "nri/conf.d", "pods"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return c, err
		}
	}
	if err := c.writeConfig(); err != nil {
		return c, err
	}
	crictl := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\ndebug: false\npull-image-on-create: false\n", c.Socket, c.Socket)
	if err := os.WriteFile(c.CrictlConf, []byte(crictl), 0o644); err != nil {
		return c, err
	}
	logf, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return c, err
	}
	defer logf.Close()
	cmd := exec.Command(c.Tools.Containerd, "--config", c.ConfigPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The shim containerd spawns must be the same version: put ours first.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(c.Tools.Shim)+":"+os.Getenv("PATH"))
	// Pdeathsig: if the test binary dies (go test -timeout panics skip
	// cleanups), containerd goes too; CleanStale then removes the rest.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if opts.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return c, fmt.Errorf("start containerd: %w", err)
	}
	c.cmd, c.Pid = cmd, cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(c.Dir, "containerd.pid"), []byte(strconv.Itoa(c.Pid)), 0o644); err != nil {
		return c, err
	}
	go func() { c.waitErr = cmd.Wait(); close(c.exited) }()

	if err := c.waitReady(ctx, 20*time.Second); err != nil {
		return c, err
	}
	c.ReadyIn = time.Since(started)
	for _, img := range []string{opts.Images.Pause, opts.Images.Busybox} {
		if _, err := c.Ctr(ctx, "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", img); err != nil {
			return c, fmt.Errorf("import %s: %w", img, err)
		}
	}
	c.ImportIn = time.Since(started) - c.ReadyIn
	return c, nil
}

func (c *Containerd) writeConfig() error {
	hasRes, err := HasCapSysResource()
	if err != nil {
		return err
	}
	var required, imports []string
	for _, p := range c.Opts.RequiredPlugins {
		required = append(required, strconv.Quote(p))
	}
	for _, p := range c.Opts.Imports {
		imports = append(imports, strconv.Quote(p))
	}
	var buf bytes.Buffer
	err = template.Must(template.New("config").Parse(configTemplate)).Execute(&buf, map[string]any{
		"Dir":         c.Dir,
		"Socket":      c.Socket,
		"NRISocket":   c.NRISocket,
		"LogLevel":    c.Opts.LogLevel,
		"PauseImage":  PauseImage,
		"RestrictOOM": !hasRes,
		"Runc":        c.Opts.Runc,
		"RegTimeout":  c.Opts.PluginRegistrationTimeout.String(),
		"ReqTimeout":  c.Opts.PluginRequestTimeout.String(),
		"Required":    strings.Join(required, ", "),
		"Tolerate":    c.Opts.TolerateMissingAnnotation,
		"Imports":     strings.Join(imports, ", "),
		"Extra":       c.Opts.ExtraConfig,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(c.ConfigPath, buf.Bytes(), 0o644)
}

// waitReady polls until containerd answers on its socket and CRI reports the
// runtime ready (NetworkReady stays false: there is no CNI, pods use the
// host network).
func (c *Containerd) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("containerd exited during start (%v); log tail:\n%s", c.waitErr, c.LogTail(30))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if _, err := os.Stat(c.Socket); err == nil {
			out, err := c.Crictl(ctx, "info")
			if err == nil && strings.Contains(out, `"RuntimeReady"`) {
				return nil
			}
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("containerd not ready after %s (last error: %v); log tail:\n%s", limit, last, c.LogTail(30))
}

// Ctr runs ctr against this containerd.
func (c *Containerd) Ctr(ctx context.Context, args ...string) (string, error) {
	return run(ctx, c.Tools.Ctr, append([]string{"--address", c.Socket}, args...)...)
}

// Crictl runs crictl against this containerd's CRI.
func (c *Containerd) Crictl(ctx context.Context, args ...string) (string, error) {
	return run(ctx, c.Tools.Crictl, append([]string{"--config", c.CrictlConf}, args...)...)
}

// CommandError is a tool that ran and failed; Stderr is what it said.
type CommandError struct {
	Cmd      string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.Cmd, e.Err, strings.TrimSpace(e.Stderr))
}

func (e *CommandError) Unwrap() error { return e.Err }

func run(ctx context.Context, bin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return stdout.String(), &CommandError{Cmd: filepath.Base(bin) + " " + strings.Join(args, " "), ExitCode: code, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// LogTail returns the last n lines of containerd's log.
func (c *Containerd) LogTail(n int) string {
	return tail(c.LogPath, n)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CountLog counts the lines of containerd's log containing substr.
func (c *Containerd) CountLog(substr string) int {
	f, err := os.Open(c.LogPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
		}
	}
	return n
}

// Alive reports whether containerd is still running.
func (c *Containerd) Alive() bool {
	if c.cmd == nil {
		return c.Pid > 0 && syscall.Kill(c.Pid, 0) == nil
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// Stop tears the instance down: pods and containers removed through CRI,
// containerd stopped, then any shim, container process or mount it left
// behind cleaned up. It returns every problem it met, but always finishes.
func (c *Containerd) Stop(ctx context.Context) error {
	var errs []error
	c.mu.Lock()
	plugins := c.plugins
	c.mu.Unlock()
	for _, p := range plugins {
		if p.Running() {
			if _, err := p.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c.Pid > 0 && c.Alive() {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := c.Crictl(rctx, "rmp", "--force", "--all"); err != nil {
			errs = append(errs, fmt.Errorf("remove pods: %w", err))
		}
		cancel()
		if err := c.stopDaemon(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killShims(c.Socket); err != nil {
		errs = append(errs, err)
	}
	if err := cleanCgroups(c.CgroupParent); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(c.Dir); err != nil {
		errs = append(errs, err)
	}
	if c.ownDir && os.Getenv("E2E_KEEP") == "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopDaemon sends SIGTERM, then SIGKILL after 10s.
func (c *Containerd) stopDaemon() error {
	if c.cmd == nil {
		// Detached instance from another process: wait by polling.
		if err := syscall.Kill(c.Pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stop containerd %d: %w", c.Pid, err)
		}
		for i := 0; i < 200 && syscall.Kill(c.Pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(c.Pid, 0) == nil {
			_ = syscall.Kill(c.Pid, syscall.SIGKILL)
		}
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	return nil
}

// Restart stops containerd (SIGTERM) and starts it again with the same
// config and state; pods and containers survive, as in a node upgrade.
func (c *Containerd) Restart(ctx context.Context) error {
	if err := c.stopDaemon(); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(c.Tools.Containerd, "--config", c.ConfigPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(c.Tools.Shim)+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart containerd: %w", err)
	}
	c.cmd, c.Pid, c.exited = cmd, cmd.Process.Pid, make(chan struct{})
	exited := c.exited
	go func() { c.waitErr = cmd.Wait(); close(exited) }()
	return c.waitReady(ctx, 20*time.Second)
}
