package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Image references the harness imports. They are fully qualified so CRI never
// tries to resolve them against docker.io, and localhost so nobody mistakes
// them for something pullable.
const (
	BusyboxImage = "localhost/nri-seccomp-e2e/busybox:latest"
	PauseImage   = "localhost/nri-seccomp-e2e/pause:latest"
)

// Media types of the OCI image layout (image-spec v1.1).
const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// epoch is the fixed timestamp of every file, so identical inputs give
// identical digests and containerd can skip re-importing the same blobs.
var epoch = time.Unix(0, 0).UTC()

// ImageFile is one entry of a single-layer image.
type ImageFile struct {
	Path     string // inside the image, without leading slash
	Mode     int64
	Dir      bool
	Linkname string // symlink target when set
	Data     []byte
}

// ImageSpec describes a single-layer image.
type ImageSpec struct {
	Name       string // full reference, stored as io.containerd.image.name
	Files      []ImageFile
	Entrypoint []string
	Cmd        []string
	Env        []string
}

// ImageArchives are the paths of the built OCI archives.
type ImageArchives struct {
	Busybox string
	Pause   string
}

// BuildImages compiles syscall-probe and pause (static, CGO_ENABLED=0) from
// the module at root and writes the busybox and pause OCI archives into out.
// busybox is the static binary of Debian's busybox-static at /bin/busybox.
func BuildImages(ctx context.Context, root, out string) (ImageArchives, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return ImageArchives{}, err
	}
	probe := filepath.Join(out, "syscall-probe")
	pause := filepath.Join(out, "pause")
	for pkg, dst := range map[string]string{"./test/e2e/probe": probe, "./test/e2e/pause": pause} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", dst, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if b, err := cmd.CombinedOutput(); err != nil {
			return ImageArchives{}, fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
	}
	bb, err := busyboxFiles("/bin/busybox")
	if err != nil {
		return ImageArchives{}, err
	}
	probeBin, err := os.ReadFile(probe)
	if err != nil {
		return ImageArchives{}, err
	}
	bb = append(bb, ImageFile{Path: "bin/syscall-probe", Mode: 0o755, Data: probeBin})
	a := ImageArchives{Busybox: filepath.Join(out, "busybox.oci.tar"), Pause: filepath.Join(out, "pause.oci.tar")}
	if err := WriteOCIArchive(a.Busybox, ImageSpec{
		Name:  BusyboxImage,
		Files: bb,
		Cmd:   []string{"/bin/sh"},
		Env:   []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin"},
	}); err != nil {
		return ImageArchives{}, err
	}
	pauseBin, err := os.ReadFile(pause)
	if err != nil {
		return ImageArchives{}, err
	}
	if err := WriteOCIArchive(a.Pause, ImageSpec{
		Name:       PauseImage,
		Files:      append(baseDirs(), ImageFile{Path: "pause", Mode: 0o755, Data: pauseBin}),
		Entrypoint: []string{"/pause"},
	}); err != nil {
		return ImageArchives{}, err
	}
	return a, nil
}

// baseDirs are the directories runc expects to mount onto.
func baseDirs() []ImageFile {
	var fs []ImageFile
	for _, d := range []string{"dev", "proc", "sys", "etc", "root", "run", "var"} {
		fs = append(fs, ImageFile{Path: d, Dir: true, Mode: 0o755})
	}
	return append(fs, ImageFile{Path: "tmp", Dir: true, Mode: 0o1777})
}

// busyboxFiles returns a root filesystem made of a static busybox and one
// symlink per applet it reports (sh, sleep, cat, ...).
func busyboxFiles(path string) ([]ImageFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read busybox (apt install busybox-static): %w", err)
	}
	list, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", path, err)
	}
	fs := append(baseDirs(),
		ImageFile{Path: "bin", Dir: true, Mode: 0o755},
		ImageFile{Path: "bin/busybox", Mode: 0o755, Data: data},
		ImageFile{Path: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		ImageFile{Path: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
	)
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		fs = append(fs, ImageFile{Path: "bin/" + applet, Mode: 0o777, Linkname: "busybox"})
	}
	return fs, nil
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// WriteOCIArchive writes spec as an OCI image layout in a tar archive
// (oci-layout, index.json, blobs/sha256/...), the format `ctr images import`
// reads. The single layer is an uncompressed tar, so its digest is also its
// diff_id.
func WriteOCIArchive(path string, spec ImageSpec) error {
	layer, err := layerTar(spec.Files)
	if err != nil {
		return err
	}
	layerDigest := digest(layer)
	config, err := json.Marshal(map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": "amd64",
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": spec.Entrypoint,
			"Cmd":        spec.Cmd,
			"Env":        spec.Env,
			"WorkingDir": "/",
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history": []map[string]string{{"created": epoch.Format(time.RFC3339), "created_by": "nri-seccomp e2e harness"}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeManifest,
		"config":        descriptor{MediaType: mediaTypeConfig, Digest: digest(config), Size: int64(len(config))},
		"layers":        []descriptor{{MediaType: mediaTypeLayer, Digest: layerDigest, Size: int64(len(layer))}},
	})
	if err != nil {
		return err
	}
	tag := spec.Name[strings.LastIndex(spec.Name, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeIndex,
		"manifests": []descriptor{{
			MediaType: mediaTypeManifest,
			Digest:    digest(manifest),
			Size:      int64(len(manifest)),
			Platform:  &platform{Architecture: "amd64", OS: "linux"},
			Annotations: map[string]string{
				"io.containerd.image.name":          spec.Name,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	})
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobPath(layerDigest), layer},
		{blobPath(digest(config)), config},
		{blobPath(digest(manifest)), manifest},
	} {
		if err := add(e.name, e.data); err != nil {
			return fmt.Errorf("write %s into %s: %w", e.name, path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func layerTar(files []ImageFile) ([]byte, error) {
	sorted := append([]ImageFile(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: epoch, Uname: "root", Gname: "root"}
		switch {
		case f.Dir:
			h.Typeflag, h.Name = tar.TypeDir, f.Path+"/"
		case f.Linkname != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Linkname
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", f.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }
