package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

const testDockerfile = `# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
RUN go build \
    -o /out/nri-seccomp ./cmd/nri-seccomp

FROM scratch
COPY --from=build /out/nri-seccomp /usr/local/bin/nri-seccomp
# A comment between instructions.
COPY policies/default-policy.yaml /etc/nri-seccomp/policy.yaml
COPY policies/examples /usr/share/nri-seccomp/examples
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/nri-seccomp"]
CMD ["run"]
`

// writeTree creates files (path -> content) with their modes under dir.
func writeTree(t *testing.T, dir string, files map[string]string, modes map[string]os.FileMode) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := modes[name]
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode passes through the umask; set it exactly.
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"Dockerfile":                          testDockerfile,
		"policies/default-policy.yaml":        "policy",
		"policies/examples/a.yaml":            "a",
		"policies/examples/sub/b.yaml":        "b",
		"policies/examples/run.sh":            "#!/bin/sh",
		"deploy/helm/nri-seccomp/Chart.yaml":  "apiVersion: v2\nname: nri-seccomp\ndescription: >-\n  the\n  plugin\nappVersion: \"v9.8.7\"\nhome: https://example.org/nri-seccomp\n",
		"deploy/helm/nri-seccomp/values.yaml": "image:\n  repository: registry.example/nri-seccomp\n  tag: \"\"\nother: 1\n",
	}, map[string]os.FileMode{
		// A group-writable checkout and an executable: modes are normalised.
		"policies/examples/a.yaml": 0o664,
		"policies/examples/run.sh": 0o775,
	})
	return root
}

// Two builds of the same inputs into different directories give the same
// bytes; the archive verifies; the config and the layer are exactly what
// the Dockerfile's final stage and the chart say.
func TestBuildReproducible(t *testing.T) {
	root := fakeRepo(t)
	created := time.Date(2026, 12, 3, 9, 1, 53, 0, time.UTC)
	opts := options{Root: root, Binary: []byte("fake binary"), Arch: "amd64", Revision: "0123abc", Created: created}
	var archives [2][]byte
	var res result
	for i := range archives {
		var err error
		res, err = build(opts, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(res.Path) != "nri-seccomp-image-v9.8.7.oci.tar" {
			t.Errorf("archive named %s", res.Path)
		}
		if archives[i], err = os.ReadFile(res.Path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Fatal("two builds from the same inputs differ")
	}
	img, err := ociimage.Read(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if img.ManifestDesc.Digest != res.Manifest.Digest {
		t.Errorf("index names %s, build returned %s", img.ManifestDesc.Digest, res.Manifest.Digest)
	}
	if got := img.ManifestDesc.Annotations; got[ociimage.AnnotationImageName] != "registry.example/nri-seccomp:v9.8.7" || got[ociimage.AnnotationRefName] != "v9.8.7" {
		t.Errorf("index annotations %v", got)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":       "nri-seccomp",
		"org.opencontainers.image.description": "the plugin",
		"org.opencontainers.image.source":      "https://example.org/nri-seccomp",
		"org.opencontainers.image.version":     "v9.8.7",
		"org.opencontainers.image.revision":    "0123abc",
		"org.opencontainers.image.licenses":    "NOASSERTION",
		"org.opencontainers.image.created":     "2026-12-03T09:01:53Z",
	}
	wantRun := ociimage.RunConfig{User: "65532:65532", Entrypoint: []string{"/usr/local/bin/nri-seccomp"}, Cmd: []string{"run"},
		WorkingDir: "/", Labels: wantLabels}
	if !reflect.DeepEqual(img.Config.Config, wantRun) {
		t.Errorf("config\n got %+v\nwant %+v", img.Config.Config, wantRun)
	}
	if !reflect.DeepEqual(img.Manifest.Annotations, wantLabels) {
		t.Errorf("manifest annotations %v", img.Manifest.Annotations)
	}
	if img.Config.Created != "2026-12-03T09:01:53Z" || img.Config.Architecture != "amd64" || img.Config.OS != "linux" {
		t.Errorf("config created %q platform %s/%s", img.Config.Created, img.Config.OS, img.Config.Architecture)
	}

	var got []string
	for _, e := range img.Layer {
		if e.Uid != 0 || e.Gid != 0 || e.ModTime != created.Unix() {
			t.Errorf("%s: owner %d:%d mtime %d", e.Name, e.Uid, e.Gid, e.ModTime)
		}
		kind := "f"
		if e.Typeflag == tar.TypeDir {
			kind = "d"
		}
		got = append(got, kind+" "+strings.TrimPrefix(os.FileMode(e.Mode).String(), "-")+" "+e.Name+" "+string(e.Data))
	}
	want := []string{
		"d rwxr-xr-x etc/ ",
		"d rwxr-xr-x etc/nri-seccomp/ ",
		"f rw-r--r-- etc/nri-seccomp/policy.yaml policy",
		"d rwxr-xr-x usr/ ",
		"d rwxr-xr-x usr/local/ ",
		"d rwxr-xr-x usr/local/bin/ ",
		"f rwxr-xr-x usr/local/bin/nri-seccomp fake binary",
		"d rwxr-xr-x usr/share/ ",
		"d rwxr-xr-x usr/share/nri-seccomp/ ",
		"d rwxr-xr-x usr/share/nri-seccomp/examples/ ",
		"f rw-r--r-- usr/share/nri-seccomp/examples/a.yaml a",
		"f rwxr-xr-x usr/share/nri-seccomp/examples/run.sh #!/bin/sh",
		"d rwxr-xr-x usr/share/nri-seccomp/examples/sub/ ",
		"f rw-r--r-- usr/share/nri-seccomp/examples/sub/b.yaml b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer\n got %q\nwant %q", got, want)
	}

	// Another commit time is another image: created is an input.
	opts.Created = created.Add(time.Second)
	other, err := build(opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.Manifest.Digest == res.Manifest.Digest {
		t.Error("the creation time does not reach the digest")
	}
}

// The repository's own Dockerfile and chart: `make image` puts the binary
// and the policy where `docker build` does, with its user and entrypoint,
// and names the image as the chart deploys it.
func TestBuildFromRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	res, err := build(options{Root: root, Binary: []byte("fake binary"), Arch: "amd64", Revision: "x", Created: time.Unix(1, 0)}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociimage.Read(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	c := img.Config.Config
	if c.User != "0:0" || !reflect.DeepEqual(c.Entrypoint, []string{"/usr/local/bin/nri-seccomp"}) || !reflect.DeepEqual(c.Cmd, []string{"run"}) {
		t.Errorf("user %q entrypoint %q cmd %q: not the Dockerfile's", c.User, c.Entrypoint, c.Cmd)
	}
	ch, err := readChart(filepath.Join(root, "deploy/helm/nri-seccomp"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "ghcr.io/nri-seccomp/nri-seccomp:"+ch.AppVersion {
		t.Errorf("image name %s, want the chart's default repository and appVersion %s", res.Name, ch.AppVersion)
	}
	policy, err := os.ReadFile(filepath.Join(root, "policies/default-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	layer := map[string]ociimage.Entry{}
	for _, e := range img.Layer {
		layer[e.Name] = e
	}
	if e := layer["usr/local/bin/nri-seccomp"]; string(e.Data) != "fake binary" || e.Mode != 0o755 {
		t.Errorf("binary entry %+v", e)
	}
	if e := layer["etc/nri-seccomp/policy.yaml"]; !bytes.Equal(e.Data, policy) || e.Mode != 0o644 {
		t.Errorf("policy entry mode %o, %d bytes; want policies/default-policy.yaml", e.Mode, len(e.Data))
	}
	for _, p := range []string{"usr/share/nri-seccomp/profiles/runtime-default.json", "usr/share/nri-seccomp/examples/audit-rollout.yaml", "usr/share/doc/nri-seccomp/security.md"} {
		if _, ok := layer[p]; !ok {
			t.Errorf("layer lacks %s", p)
		}
	}
}

func TestParseFinalStageErrors(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile, want string
	}{
		{"no FROM", "COPY a b\n", "unsupported Dockerfile: D: no FROM"},
		{"base image", "FROM scratch AS x\nFROM debian:12\nCOPY a b\n", "unsupported Dockerfile: D:2: final stage FROM debian:12: only FROM scratch can be built without Docker"},
		{"RUN", "FROM scratch\nCOPY a b\nRUN true\n", "unsupported Dockerfile: D:3: instruction RUN is not supported by mkimage"},
		{"COPY --chmod", "FROM scratch\nCOPY --chmod=0600 a b\n", "unsupported Dockerfile: D:2: COPY option --chmod=0600 is not supported by mkimage"},
		{"COPY three", "FROM scratch\nCOPY a b c\n", "unsupported Dockerfile: D:2: COPY a b c: want one source and one destination"},
		{"shell CMD", "FROM scratch\nCMD run --x\n", "unsupported Dockerfile: D:2: CMD run --x: want the JSON (exec) form, a scratch image has no shell"},
		{"dangling continuation", "FROM scratch\nCOPY a \\\n", "D: unsupported Dockerfile: line 2: continuation at end of file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFinalStage(strings.NewReader(tc.dockerfile), "D")
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrDockerfile) {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestLayerFilesErrors(t *testing.T) {
	root := fakeRepo(t)
	if err := os.Symlink("a.yaml", filepath.Join(root, "policies/examples/link.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		st   stage
		want string
	}{
		{"other stage", stage{Copies: []copyStep{{From: "tools", Src: "/x", Dst: "/x", Line: 3}}},
			"Dockerfile:3: COPY /x /x: unsupported Dockerfile: only --from=build /out/nri-seccomp (the binary) can be provided without Docker"},
		{"twice", stage{Copies: []copyStep{{Src: "policies/default-policy.yaml", Dst: "/p", Line: 1}, {Src: "policies/examples/a.yaml", Dst: "/p", Line: 2}}},
			"Dockerfile:2: COPY policies/examples/a.yaml /p: /p is written twice"},
		{"symlink", stage{Copies: []copyStep{{Src: "policies/examples", Dst: "/e", Line: 4}}},
			"Dockerfile:4: COPY policies/examples /e: " + filepath.Join(root, "policies/examples/link.yaml") + ": L--------- is neither a regular file nor a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := layerFiles(tc.st, root, []byte("bin"))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// A dynamically linked binary cannot run in a FROM scratch image: its
// loader is missing.
func TestElfArch(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(dir, "static")
	cmd := exec.Command("go", "build", "-o", static, "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if arch, err := elfArch(static); err != nil || arch != "amd64" {
		t.Errorf("static amd64 binary: %q %v", arch, err)
	}
	// Debian's /bin/sh (dash) is dynamically linked.
	if _, err := elfArch("/bin/sh"); !errors.Is(err, ErrNotStatic) {
		t.Errorf("/bin/sh: err = %v, want ErrNotStatic", err)
	}
	if _, err := elfArch(filepath.Join(dir, "main.go")); err == nil {
		t.Error("a Go source file was taken for an ELF binary")
	}
}
