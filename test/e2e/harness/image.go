package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

// Image references the harness imports. They are fully qualified so CRI never
// tries to resolve them against docker.io, and localhost so nobody mistakes
// them for something pullable.
const (
	BusyboxImage = "localhost/nri-seccomp-e2e/busybox:latest"
	PauseImage   = "localhost/nri-seccomp-e2e/pause:latest"
)

// ImageFile is one entry of a single-layer image.
type ImageFile = ociimage.File

// ImageSpec describes a single-layer image; Name is the full reference,
// stored as io.containerd.image.name. Zero Created means the Unix epoch.
type ImageSpec = ociimage.Spec

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

// WriteOCIArchive writes spec as an OCI image layout in a tar archive
// (oci-layout, index.json, blobs/sha256/...), the format `ctr images import`
// reads. The writer is shared with hack/mkimage, which builds the plugin's
// own image the same way.
func WriteOCIArchive(path string, spec ImageSpec) error {
	_, err := ociimage.Write(path, spec)
	return err
}
