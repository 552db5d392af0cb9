package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Plugin is a running `nri-seccomp run` process connected to a Containerd.
type Plugin struct {
	Binary      string
	Policy      string
	Args        []string
	LogPath     string // the plugin's stderr/stdout (JSON log lines)
	DecisionLog string // --decision-log file
	c           *Containerd

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// connectedMsg is what NRI logs in containerd once an external plugin has
// registered and been synchronized: from then on it sees every creation.
const connectedMsg = "connected and synchronized"

var pluginSeq struct {
	sync.Mutex
	n int
}

// StartPlugin runs the real plugin binary against this containerd:
//
//	nri-seccomp run --socket <nri sock> --policy <file> --log-format json --decision-log <file> extra...
//
// and waits until containerd reports the plugin connected and synchronized.
// It fails if the plugin exits first, with the tail of its log.
func (c *Containerd) StartPlugin(ctx context.Context, binary, policy string, extra ...string) (*Plugin, error) {
	p := c.newPlugin(binary, policy, extra)
	return p, p.start(ctx, true)
}

func (c *Containerd) newPlugin(binary, policy string, extra []string) *Plugin {
	pluginSeq.Lock()
	pluginSeq.n++
	n := pluginSeq.n
	pluginSeq.Unlock()
	p := &Plugin{
		Binary:      binary,
		Policy:      policy,
		Args:        extra,
		LogPath:     filepath.Join(c.Dir, fmt.Sprintf("plugin-%d.log", n)),
		DecisionLog: filepath.Join(c.Dir, fmt.Sprintf("decisions-%d.jsonl", n)),
		c:           c,
	}
	c.mu.Lock()
	c.plugins = append(c.plugins, p)
	c.mu.Unlock()
	return p
}

// StartPluginNoWait starts the plugin without waiting for it to connect,
// for runs expected to fail (a bad policy); Wait then gives the exit code.
func (c *Containerd) StartPluginNoWait(binary, policy string, extra ...string) (*Plugin, error) {
	p := c.newPlugin(binary, policy, extra)
	return p, p.start(context.Background(), false)
}

func (p *Plugin) start(ctx context.Context, wait bool) error {
	args := append([]string{"run",
		"--socket", p.c.NRISocket,
		"--policy", p.Policy,
		"--log-format", "json",
		"--decision-log", p.DecisionLog,
	}, p.Args...)
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	before := p.c.CountLog(connectedMsg)
	cmd := exec.Command(p.Binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Binary, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	if !wait {
		return nil
	}
	return p.waitConnected(ctx, before, 15*time.Second)
}

// waitConnected waits until containerd has logged one more "connected and
// synchronized" than before.
func (p *Plugin) waitConnected(ctx context.Context, before int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if p.c.CountLog(connectedMsg) > before {
			return nil
		}
		select {
		case <-p.exitedCh():
			return fmt.Errorf("nri-seccomp exited before connecting (%v); its log:\n%s", p.ExitErr(), p.LogTail(30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("nri-seccomp not connected after %s; its log:\n%s\ncontainerd log:\n%s", limit, p.LogTail(20), p.c.LogTail(20))
}

func (p *Plugin) exitedCh() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// ExitErr is the plugin's exit status once it has exited.
func (p *Plugin) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Wait waits for the plugin to exit and returns its exit code.
func (p *Plugin) Wait(limit time.Duration) (int, error) {
	select {
	case <-p.exitedCh():
	case <-time.After(limit):
		return 0, fmt.Errorf("nri-seccomp still running after %s", limit)
	}
	var ee *exec.ExitError
	if err := p.ExitErr(); errors.As(err, &ee) {
		return ee.ExitCode(), nil
	} else if err != nil {
		return -1, err
	}
	return 0, nil
}

// Running reports whether the plugin process is alive.
func (p *Plugin) Running() bool {
	select {
	case <-p.exitedCh():
		return false
	default:
		return true
	}
}

// Restart starts the plugin again (same arguments and logs) after it was
// stopped or killed, and waits for it to connect.
func (p *Plugin) Restart(ctx context.Context) error {
	if p.Running() {
		return errors.New("restart: nri-seccomp is still running")
	}
	return p.start(ctx, true)
}

// WaitReconnected waits until the running plugin has connected once more
// than `before` (a CountLog(connectedMsg) snapshot), e.g. after containerd
// restarted under it.
func (p *Plugin) WaitReconnected(ctx context.Context, before int, limit time.Duration) error {
	return p.waitConnected(ctx, before, limit)
}

// ConnectCount is the number of plugin connections containerd has logged.
func (c *Containerd) ConnectCount() int { return c.CountLog(connectedMsg) }

func (p *Plugin) signal(s syscall.Signal) error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || !p.Running() {
		return errors.New("nri-seccomp is not running")
	}
	return cmd.Process.Signal(s)
}

// Stop sends SIGTERM and waits for a clean exit (SIGKILL after 10s). It
// returns the exit code.
func (p *Plugin) Stop() (int, error) {
	if !p.Running() {
		return p.Wait(0)
	}
	_ = p.signal(syscall.SIGCONT) // a frozen plugin cannot act on SIGTERM
	if err := p.signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	code, err := p.Wait(10 * time.Second)
	if err != nil {
		_ = p.signal(syscall.SIGKILL)
		_, _ = p.Wait(5 * time.Second)
		return -1, fmt.Errorf("nri-seccomp ignored SIGTERM for 10s: %w", err)
	}
	return code, nil
}

// Kill sends SIGKILL and waits for the process to be gone, as a crash would.
func (p *Plugin) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	_, err := p.Wait(5 * time.Second)
	return err
}

// Freeze stops the plugin with SIGSTOP: its connection stays open but it
// answers nothing, the way a hung plugin looks to containerd. Thaw resumes.
func (p *Plugin) Freeze() error { return p.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen plugin.
func (p *Plugin) Thaw() error { return p.signal(syscall.SIGCONT) }

// LogTail returns the last n lines of the plugin's log.
func (p *Plugin) LogTail(n int) string { return tail(p.LogPath, n) }

// Decision is one line of the decision log, as internal/nri writes it
// (decisionlog.Entry); only the fields the tests assert on.
type Decision struct {
	Namespace   string   `json:"namespace"`
	Pod         string   `json:"pod"`
	Container   string   `json:"container"`
	ContainerID string   `json:"container_id"`
	ProfileType string   `json:"profile_type"`
	Rules       []string `json:"rules"`
	Mode        string   `json:"mode"`
	Exempt      bool     `json:"exempt"`
	Changed     bool     `json:"changed"`
	Digest      string   `json:"digest"`
	Error       string   `json:"error"`
	// LatencyMicros is the time the plugin took to decide.
	LatencyMicros int64 `json:"latency_us"`
	// Time is when the plugin was asked.
	Time time.Time `json:"time"`
	// Raw is the line as written.
	Raw string `json:"-"`
}

// Latency is the plugin's own time for the decision.
func (d Decision) Latency() time.Duration {
	return time.Duration(d.LatencyMicros) * time.Microsecond
}

// Decisions reads every decision logged so far; the log's other lines
// (`"event":"started"` records with a container's PID) are skipped.
func (p *Plugin) Decisions() ([]Decision, error) {
	f, err := os.Open(p.DecisionLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Decision
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var d struct {
			Decision
			Event string `json:"event"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			return nil, fmt.Errorf("decision log %s: bad line %q: %w", p.DecisionLog, line, err)
		}
		if d.Event != "" {
			continue
		}
		d.Decision.Raw = line
		out = append(out, d.Decision)
	}
	return out, sc.Err()
}

// DecisionFor returns the last decision logged for the container named name
// in pod (namespace/pod), waiting briefly because the line is written after
// the answer is sent.
func (p *Plugin) DecisionFor(namespace, pod, name string) (Decision, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		ds, err := p.Decisions()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Decision{}, err
		}
		for i := len(ds) - 1; i >= 0; i-- {
			if ds[i].Namespace == namespace && ds[i].Pod == pod && ds[i].Container == name {
				return ds[i], nil
			}
		}
		if time.Now().After(deadline) {
			return Decision{}, fmt.Errorf("no decision logged for %s/%s/%s in %s (%d lines)", namespace, pod, name, p.DecisionLog, len(ds))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
