//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// make image's archive imports into containerd with `ctr -n k8s.io images
// import` under the chart's default image name and the digest mkimage
// printed, and CRI (what the kubelet asks) finds it by that name.
func TestImageImportsUnderTheChartName(t *testing.T) {
	root, err := h.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx(t), "go", "run", "./hack/mkimage", "-binary", pluginBin(t),
		"-out-dir", t.TempDir(), "-revision", "e2e", "-created", "1700000000")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mkimage: %v\n%s", err, out)
	}
	// mkimage prints the archive, then "image NAME (platform)" and "digest D".
	fields := strings.Fields(string(out))
	if len(fields) != 6 || fields[1] != "image" || fields[4] != "digest" {
		t.Fatalf("mkimage output %q", out)
	}
	archive, digest := fields[0], fields[5]

	chart, err := os.ReadFile(filepath.Join(root, "deploy/helm/nri-seccomp/Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(chart, &meta); err != nil || meta.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %v", err)
	}
	want := "ghcr.io/nri-seccomp/nri-seccomp:" + meta.AppVersion

	c := StartContainerd(t, h.ContainerdOptions{})
	if out, err := c.Ctr(ctx(t), "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", archive); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	list, err := c.Ctr(ctx(t), "-n", "k8s.io", "images", "ls")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == want {
			found = true
			if f[2] != digest {
				t.Errorf("%s imported with digest %s, mkimage printed %s", want, f[2], digest)
			}
		}
	}
	if !found {
		t.Fatalf("no image named %s after the import:\n%s", want, list)
	}
	if out, err := c.Crictl(ctx(t), "inspecti", want); err != nil || !strings.Contains(out, `"user": "0:0"`) && !strings.Contains(out, `"User": "0:0"`) {
		t.Errorf("crictl inspecti %s: %v\n%s", want, err, out)
	}
}
