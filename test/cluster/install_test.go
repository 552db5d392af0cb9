//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pluginNamespace is where both installs put the plugin (the kustomize
// base's namespace; the Helm release goes there too).
const pluginNamespace = "nri-seccomp"

// installer is one way of deploying the plugin: Helm or kustomize. Each
// overrides only what a registry-less single node needs: the image's tag
// and pull policy, and the NRI socket's host directory.
type installer struct {
	Name      string
	DaemonSet string
	ConfigMap string
	// Apply installs or upgrades to tag with policy (empty: as shipped).
	Apply func(ctx context.Context, tag, policy string) error
	// Remove uninstalls and waits for the plugin's pods to go.
	Remove func(ctx context.Context) error
}

// helmRelease is the name deploy/README.md uses. It contains the chart's
// name, so the chart's objects are named after the release alone.
const helmRelease = "nri-seccomp"

// helmInstaller installs the chart with the test cluster's values; extra
// are more helm flags (the opt-in features' --set).
func helmInstaller(t *testing.T, extra ...string) *installer {
	chart := filepath.Join(root, "deploy", "helm", "nri-seccomp")
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	return &installer{
		Name:      "helm",
		DaemonSet: helmRelease,
		ConfigMap: helmRelease + "-policy",
		Apply: func(ctx context.Context, tag, policy string) error {
			args := []string{"upgrade", "--install", helmRelease, chart, "-n", pluginNamespace, "--create-namespace",
				"--set", "image.repository=" + imageRepo,
				"--set", "image.tag=" + tag,
				"--set", "image.pullPolicy=Never",
				"--set", "nriSocket=" + cl.NRISocket,
				// The posture scan asks the private containerd.
				"--set", "posture.containerdSocket=" + cl.Containerd.Socket}
			args = append(args, extra...)
			if policy != "" {
				if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
					return err
				}
				args = append(args, "--set-file", "policy="+policyFile)
			}
			_, err := cl.Helm(ctx, args...)
			return err
		},
		Remove: func(ctx context.Context) error {
			_, err := cl.Helm(ctx, "uninstall", helmRelease, "-n", pluginNamespace, "--wait")
			return err
		},
	}
}

// kustomizeOverlay is a user's overlay of deploy/kubernetes/base: the image
// tag, the pull policy, the NRI socket's host directory, the private
// containerd's socket directory (mounted at /run/containerd, where the
// posture scan looks, for a socket named containerd.sock) and, when given, a
// policy replacing the base's (configMapGenerator, behavior: replace).
const kustomizeOverlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- %s
images:
- name: %s
  newTag: %s
patches:
- target: {kind: DaemonSet, name: nri-seccomp}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: Never
    - op: replace
      path: /spec/template/spec/volumes/0/hostPath/path
      value: %s
    - op: test
      path: /spec/template/spec/volumes/2/name
      value: containerd-socket-dir
    - op: replace
      path: /spec/template/spec/volumes/2/hostPath/path
      value: %s
%s`

const kustomizePolicy = `configMapGenerator:
- name: nri-seccomp-policy
  namespace: nri-seccomp
  behavior: replace
  files:
  - policy.yaml
`

func kustomizeInstaller(t *testing.T) *installer {
	overlay := t.TempDir()
	base := filepath.Join(root, "deploy", "kubernetes", "base")
	write := func(tag, policy string) error {
		rel, err := filepath.Rel(overlay, base)
		if err != nil {
			return err
		}
		gen := ""
		if policy != "" {
			gen = kustomizePolicy
			if err := os.WriteFile(filepath.Join(overlay, "policy.yaml"), []byte(policy), 0o644); err != nil {
				return err
			}
		}
		if filepath.Base(cl.Containerd.Socket) != "containerd.sock" {
			return fmt.Errorf("the base's posture flag names containerd.sock, the private containerd listens on %s", cl.Containerd.Socket)
		}
		k := fmt.Sprintf(kustomizeOverlay, rel, imageRepo, tag, filepath.Dir(cl.NRISocket), filepath.Dir(cl.Containerd.Socket), gen)
		return os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644)
	}
	return &installer{
		Name:      "kustomize",
		DaemonSet: "nri-seccomp",
		ConfigMap: "nri-seccomp-policy",
		Apply: func(ctx context.Context, tag, policy string) error {
			if err := write(tag, policy); err != nil {
				return err
			}
			_, err := cl.Kubectl(ctx, "apply", "-k", overlay)
			return err
		},
		Remove: func(ctx context.Context) error {
			// The namespace stays (the next install reuses it): delete what
			// is in it and the cluster-scoped admission policy.
			out, err := cl.Kubectl(ctx, "kustomize", overlay)
			if err != nil {
				return err
			}
			var keep []string
			for _, doc := range strings.Split(out, "\n---\n") {
				if !strings.Contains(doc, "\nkind: Namespace\n") && !strings.HasPrefix(doc, "kind: Namespace\n") {
					keep = append(keep, doc)
				}
			}
			_, err = cl.KubectlStdin(ctx, strings.Join(keep, "\n---\n"), "delete", "--wait=true", "-f", "-")
			return err
		},
	}
}

func TestHelm(t *testing.T)      { runInstall(t, helmInstaller(t)) }
func TestKustomize(t *testing.T) { runInstall(t, kustomizeInstaller(t)) }
