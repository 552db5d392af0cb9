package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CommandError is a tool that ran and failed; Stderr is what it said.
type CommandError struct {
	Cmd    string
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.Cmd, e.Err, strings.TrimSpace(e.Stderr))
}

func (e *CommandError) Unwrap() error { return e.Err }

func runTool(ctx context.Context, stdin string, env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), &CommandError{Cmd: filepath.Base(bin) + " " + strings.Join(args, " "), Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// Kubectl runs kubectl as the cluster's admin.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return runTool(ctx, "", nil, c.Tools.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// KubectlStdin runs kubectl with stdin (e.g. `apply -f -`).
func (c *Cluster) KubectlStdin(ctx context.Context, stdin string, args ...string) (string, error) {
	return runTool(ctx, stdin, nil, c.Tools.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// Helm runs helm as the cluster's admin, with its caches under Dir.
func (c *Cluster) Helm(ctx context.Context, args ...string) (string, error) {
	env := []string{
		"KUBECONFIG=" + c.Kubeconfig,
		"HELM_CACHE_HOME=" + filepath.Join(c.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(c.Dir, "helm", "config"),
		"HELM_DATA_HOME=" + filepath.Join(c.Dir, "helm", "data"),
	}
	return runTool(ctx, "", env, c.Tools.Helm, args...)
}

// PodLog returns the log of a pod's container as the kubelet wrote it
// (PodLogsDir/<ns>_<pod>_<uid>/<container>/<restart>.log), every restart in
// order, without the CRI prefix (time, stream, tag) of each line. Later
// tests read the DaemonSet's pod log through it (audit events, decisions).
func (c *Cluster) PodLog(namespace, pod, container string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(c.PodLogsDir, namespace+"_"+pod+"_*", container))
	if err != nil {
		return "", err
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("%d log directories for %s/%s/%s under %s", len(dirs), namespace, pod, container, c.PodLogsDir)
	}
	files, err := filepath.Glob(filepath.Join(dirs[0], "*.log"))
	if err != nil {
		return "", err
	}
	sort.Slice(files, func(i, j int) bool { return restartNumber(files[i]) < restartNumber(files[j]) })
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			// 2026-12-03T12:00:00.000000000Z stdout F message
			parts := strings.SplitN(line, " ", 4)
			if len(parts) == 4 {
				b.WriteString(parts[3])
				if parts[2] == "F" {
					b.WriteByte('\n')
				}
			}
		}
	}
	return b.String(), nil
}

func restartNumber(path string) int {
	var n int
	_, _ = fmt.Sscanf(filepath.Base(path), "%d.log", &n)
	return n
}

// Container is one CRI container on the node.
type Container struct {
	ID        string
	Namespace string
	Pod       string
	Name      string
	State     string
	// Seccomp is the OCI spec's seccomp section; nil means none (unfiltered).
	Seccomp *specs.LinuxSeccomp
}

// Containers lists every workload container (not sandboxes) containerd
// holds for the kubelet, in any state, with the seccomp section of its OCI
// spec, read from containerd's record (`ctr containers info --spec`).
func (c *Cluster) Containers(ctx context.Context) ([]Container, error) {
	out, err := c.Containerd.Crictl(ctx, "ps", "-a", "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Containers []struct {
			ID       string            `json:"id"`
			State    string            `json:"state"`
			Labels   map[string]string `json:"labels"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"containers"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("crictl ps: %w", err)
	}
	var cs []Container
	for _, x := range list.Containers {
		ctr := Container{
			ID:        x.ID,
			Namespace: x.Labels["io.kubernetes.pod.namespace"],
			Pod:       x.Labels["io.kubernetes.pod.name"],
			Name:      x.Metadata.Name,
			State:     x.State,
		}
		if ctr.Seccomp, err = c.containerSeccomp(ctx, x.ID); err != nil {
			return nil, err
		}
		cs = append(cs, ctr)
	}
	return cs, nil
}

// ErrNoContainer means containerd has no record of the container (removed
// between listing and inspection).
var ErrNoContainer = errors.New("no such container")

func (c *Cluster) containerSeccomp(ctx context.Context, id string) (*specs.LinuxSeccomp, error) {
	out, err := c.Containerd.Ctr(ctx, "-n", "k8s.io", "containers", "info", "--spec", id)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("%w: %s", ErrNoContainer, id)
		}
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal([]byte(out), &spec); err != nil {
		return nil, fmt.Errorf("spec of %s: %w", id, err)
	}
	if spec.Linux == nil {
		return nil, nil
	}
	return spec.Linux.Seccomp, nil
}
