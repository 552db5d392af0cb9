package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Seccomp profile types as CRI spells them (runtime.v1.SecurityProfile).
const (
	SeccompRuntimeDefault = "RuntimeDefault"
	SeccompUnconfined     = "Unconfined"
	SeccompLocalhost      = "Localhost"
)

var profileTypes = map[string]int{SeccompRuntimeDefault: 0, SeccompUnconfined: 1, SeccompLocalhost: 2}

// PodSpec is what the harness needs from a pod sandbox config.
type PodSpec struct {
	Name        string
	Namespace   string
	Labels      map[string]string
	Annotations map[string]string
	Privileged  bool // required for privileged containers in it
}

// ContainerSpec is what the harness needs from a container config.
type ContainerSpec struct {
	Name    string
	Image   string   // BusyboxImage when empty
	Command []string // ["sleep", "3600"] when empty
	// Seccomp is the CRI profile type ("" leaves the field unset, which
	// containerd treats as unconfined); LocalhostRef is the profile path for
	// SeccompLocalhost.
	Seccomp      string
	LocalhostRef string
	Privileged   bool
	// NoNewPrivs sets the CRI security context's no_new_privs (Kubernetes'
	// allowPrivilegeEscalation: false): runc then installs the seccomp
	// filter just before execve instead of before dropping capabilities.
	NoNewPrivs  bool
	Labels      map[string]string
	Annotations map[string]string
}

// Pod is a running pod sandbox.
type Pod struct {
	ID   string
	Spec PodSpec
	c    *Containerd
	dir  string
}

// Container is a created (maybe started) container.
type Container struct {
	ID   string
	Spec ContainerSpec
	Pod  *Pod
}

// RunPod creates and starts a pod sandbox: host network (no CNI here), own
// PID namespace per container, cgroups under this instance's parent.
func (c *Containerd) RunPod(ctx context.Context, spec PodSpec) (*Pod, error) {
	if spec.Namespace == "" {
		spec.Namespace = "default"
	}
	uid := fmt.Sprintf("%s-%s-%d", spec.Namespace, spec.Name, time.Now().UnixNano())
	dir := filepath.Join(c.Dir, "pods", uid)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	cfg := map[string]any{
		"metadata":      map[string]any{"name": spec.Name, "namespace": spec.Namespace, "uid": uid, "attempt": 0},
		"labels":        spec.Labels,
		"annotations":   spec.Annotations,
		"log_directory": filepath.Join(dir, "logs"),
		"linux": map[string]any{
			"cgroup_parent": c.CgroupParent,
			"security_context": map[string]any{
				"namespace_options": map[string]any{"network": 2, "pid": 1},
				"privileged":        spec.Privileged,
			},
		},
	}
	path := filepath.Join(dir, "pod.json")
	if err := writeJSON(path, cfg); err != nil {
		return nil, err
	}
	out, err := c.Crictl(ctx, "runp", path)
	if err != nil {
		return nil, fmt.Errorf("run pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return &Pod{ID: strings.TrimSpace(out), Spec: spec, c: c, dir: dir}, nil
}

// CreateContainer creates (does not start) a container in the pod. This is
// the call NRI's CreateContainer hook runs under, so a plugin's refusal or
// an NRI validator's rejection is returned here.
func (p *Pod) CreateContainer(ctx context.Context, spec ContainerSpec) (*Container, error) {
	if spec.Image == "" {
		spec.Image = BusyboxImage
	}
	if len(spec.Command) == 0 {
		spec.Command = []string{"sleep", "3600"}
	}
	sc := map[string]any{
		"namespace_options": map[string]any{"network": 2, "pid": 1},
		"privileged":        spec.Privileged,
	}
	if spec.NoNewPrivs {
		sc["no_new_privs"] = true
	}
	if spec.Seccomp != "" {
		t, ok := profileTypes[spec.Seccomp]
		if !ok {
			return nil, fmt.Errorf("unknown seccomp profile type %q", spec.Seccomp)
		}
		prof := map[string]any{"profile_type": t}
		if spec.LocalhostRef != "" {
			prof["localhost_ref"] = spec.LocalhostRef
		}
		sc["seccomp"] = prof
	}
	cfg := map[string]any{
		"metadata":    map[string]any{"name": spec.Name, "attempt": 0},
		"image":       map[string]any{"image": spec.Image},
		"command":     spec.Command,
		"labels":      spec.Labels,
		"annotations": spec.Annotations,
		"log_path":    spec.Name + ".log",
		"linux":       map[string]any{"security_context": sc},
	}
	path := filepath.Join(p.dir, "ctr-"+spec.Name+".json")
	if err := writeJSON(path, cfg); err != nil {
		return nil, err
	}
	out, err := p.c.Crictl(ctx, "create", p.ID, path, filepath.Join(p.dir, "pod.json"))
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	return &Container{ID: strings.TrimSpace(out), Spec: spec, Pod: p}, nil
}

// Start starts a created container.
func (ct *Container) Start(ctx context.Context) error {
	if _, err := ct.Pod.c.Crictl(ctx, "start", ct.ID); err != nil {
		return fmt.Errorf("start container %s: %w", ct.Spec.Name, err)
	}
	return nil
}

// RunContainer creates and starts a container.
func (p *Pod) RunContainer(ctx context.Context, spec ContainerSpec) (*Container, error) {
	ct, err := p.CreateContainer(ctx, spec)
	if err != nil {
		return nil, err
	}
	return ct, ct.Start(ctx)
}

// Remove stops and removes the pod and its containers.
func (p *Pod) Remove(ctx context.Context) error {
	_, err := p.c.Crictl(ctx, "rmp", "--force", p.ID)
	return err
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	Stdout   string
	ExitCode int
}

var exitedWith = regexp.MustCompile(`exited with (\d+)`)

// Exec runs a command in the container through CRI ExecSync (the call
// kubelet uses for exec probes). The process gets the container's seccomp
// filter: runc exec installs the same profile.
func (ct *Container) Exec(ctx context.Context, args ...string) (ExecResult, error) {
	out, err := ct.Pod.c.Crictl(ctx, append([]string{"exec", "--sync", "--timeout", "20", ct.ID}, args...)...)
	if err != nil {
		// crictl reports a non-zero exit as an error "... exited with N"
		// and drops stdout; keep the code, it is what the test asserts on
		// for a seccomp kill (159 = 128 + SIGSYS).
		var ce *CommandError
		if errors.As(err, &ce) {
			if m := exitedWith.FindStringSubmatch(ce.Stderr); m != nil {
				code, _ := strconv.Atoi(m[1])
				return ExecResult{Stdout: out, ExitCode: code}, nil
			}
		}
		return ExecResult{}, fmt.Errorf("exec %v in %s: %w", args, ct.Spec.Name, err)
	}
	return ExecResult{Stdout: strings.TrimSpace(out)}, nil
}

// Wait waits until the container has exited and returns its exit code.
func (ct *Container) Wait(ctx context.Context, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	for {
		out, err := ct.Pod.c.Crictl(ctx, "inspect", "--output", "json", ct.ID)
		if err != nil {
			return 0, err
		}
		var st struct {
			Status struct {
				State    string `json:"state"`
				ExitCode int    `json:"exitCode"`
				Reason   string `json:"reason"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return 0, fmt.Errorf("parse crictl inspect: %w", err)
		}
		if st.Status.State == "CONTAINER_EXITED" {
			return st.Status.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("container %s still %s after %s", ct.Spec.Name, st.Status.State, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Logs returns what the container wrote to stdout and stderr.
func (ct *Container) Logs(ctx context.Context) (string, error) {
	return ct.Pod.c.Crictl(ctx, "logs", ct.ID)
}

// Inspect returns crictl's JSON view of the container, including the OCI
// spec containerd generated (info.runtimeSpec), seccomp section included.
func (ct *Container) Inspect(ctx context.Context) (map[string]any, error) {
	out, err := ct.Pod.c.Crictl(ctx, "inspect", "--output", "json", ct.ID)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("parse crictl inspect: %w", err)
	}
	return v, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
