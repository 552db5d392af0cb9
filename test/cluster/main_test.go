//go:build cluster

// Package cluster is the real-cluster test (`make cluster-test`): a
// single-node Kubernetes (test/cluster/kube) on the e2e harness's private
// containerd with deploy/containerd/nri-seccomp.toml, the project's own
// image (`make image`) imported, installed once with Helm and once with
// kustomize. See README.md for what it asserts and what it costs.
package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/nri-seccomp/nri-seccomp/test/cluster/kube"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

var (
	cl   *kube.Cluster
	root string
	// imageRepo and imageTag name the project's image as the chart's
	// default does (repository:appVersion).
	imageRepo, imageTag string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "cluster tests need root (containerd, kubelet, mounts, cgroups)")
		return 1
	}
	if _, err := kube.FindTools(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster tools missing:\n%v\n", err)
		return 1
	}
	ctx := context.Background()
	if err := kube.CleanStale(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "warning: cleaning up after earlier runs: %v\n", err)
	}
	var err error
	if root, err = harness.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	archive, err := projectImage()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "e2e-images-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	images, err := harness.BuildImages(ctx, root, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "build test images: %v\n", err)
		return 1
	}
	fmt.Printf("cluster: test images built in %s\n", since(start))

	sync := 10 * time.Second
	if v := os.Getenv("CLUSTER_SYNC_FREQUENCY"); v != "" {
		if sync, err = time.ParseDuration(v); err != nil {
			fmt.Fprintf(os.Stderr, "CLUSTER_SYNC_FREQUENCY: %v\n", err)
			return 1
		}
	}
	start = time.Now()
	cl, err = kube.Start(ctx, kube.Options{
		Images:        images,
		ExtraImages:   []string{archive},
		DropIn:        filepath.Join(root, "deploy", "containerd", "nri-seccomp.toml"),
		SyncFrequency: sync,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster bring-up: %v\n", err)
		return 1
	}
	fmt.Printf("cluster: up in %s (kubelet syncFrequency %s, node IP %s, dir %s)\n", since(start), sync, cl.NodeIP, cl.Dir)
	for _, s := range cl.Steps {
		fmt.Printf("cluster:   %-30s %s\n", s.Name, s.Took.Round(time.Millisecond))
	}
	code := m.Run()
	start = time.Now()
	if err := cl.Stop(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "cluster teardown: %v\n", err)
		code = 1
	}
	fmt.Printf("cluster: torn down in %s\n", since(start))
	return code
}

// projectImage finds the archive `make image` wrote for the chart's
// appVersion ($NRI_SECCOMP_IMAGE overrides the path) and sets imageRepo and
// imageTag from the chart, whose default image is what the archive holds.
func projectImage() (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "helm", "nri-seccomp", "Chart.yaml"))
	if err != nil {
		return "", err
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &chart); err != nil {
		return "", fmt.Errorf("Chart.yaml: %w", err)
	}
	vb, err := os.ReadFile(filepath.Join(root, "deploy", "helm", "nri-seccomp", "values.yaml"))
	if err != nil {
		return "", err
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(vb, &values); err != nil {
		return "", fmt.Errorf("values.yaml: %w", err)
	}
	imageRepo, imageTag = values.Image.Repository, chart.AppVersion
	archive := os.Getenv("NRI_SECCOMP_IMAGE")
	if archive == "" {
		archive = filepath.Join(root, "bin", "nri-seccomp-image-"+chart.AppVersion+".oci.tar")
	}
	if _, err := os.Stat(archive); err != nil {
		return "", fmt.Errorf("the project's image (run `make image` first): %w", err)
	}
	return archive, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

// logf prints a measured figure so it shows in `make cluster-test` output
// even without -v (t.Log only shows for failures).
func logf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	t.Log(msg)
	fmt.Printf("cluster: %s: %s\n", t.Name(), strings.TrimSpace(msg))
}
