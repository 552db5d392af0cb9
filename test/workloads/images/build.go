// Package images builds the workload images of test/workloads from Debian
// 12's own packages: the dependency closure of a few root packages, pinned
// by version and SHA256 in a lock file, downloaded with apt-get, unpacked
// with dpkg -x (no maintainer script runs, nothing is installed on the
// host), completed with a few files (users, configuration, the small apps
// under apps/) and written as a single-layer OCI archive that `ctr images
// import` reads. No registry.
//
// Everything is cached under one directory (DefaultCache): the .deb files,
// one root filesystem and one archive per image, keyed by a hash of every
// input, so a warm build only checks the hashes.
package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

// DefaultCache is where debs, root filesystems and archives are kept.
const DefaultCache = "/var/cache/nri-seccomp-workloads"

// builderVersion changes the cache key of every image when the way images
// are assembled changes.
const builderVersion = "3"

// File is an extra file of an image (besides the packages' own).
type File struct {
	Path string // inside the image, without leading slash
	Mode os.FileMode
	Data []byte
	Dir  bool
}

// Def describes one image.
type Def struct {
	Name  string   // lock name and image name
	Roots []string // packages whose closure apt resolves
	Files []File
	// Prepare returns more files, built with the help of other images'
	// root filesystems (the JVM program is compiled by the JDK's javac).
	Prepare func(ctx context.Context, b *Builder) ([]File, error)
	// Entrypoint, Env, User, WorkingDir of the image config.
	Entrypoint []string
	Env        []string
	User       string
	// RootfsOnly images (the JDK) are unpacked for the build, never packed.
	RootfsOnly bool
}

// Built is a built image.
type Built struct {
	Name    string
	Ref     string // image reference in containerd
	Archive string // the OCI archive ("" for RootfsOnly)
	Rootfs  string // the unpacked root filesystem (clients run from it)
	Key     string
	Cached  bool // nothing had to be built
}

// Builder builds images from the pins of a lock file.
type Builder struct {
	Cache string
	Pins  []Pin
	Log   func(format string, args ...any)
	apt   *apt
}

// NewBuilder prepares the cache directory and the private apt setup.
func NewBuilder(cache string, pins []Pin, log func(string, ...any)) (*Builder, error) {
	for _, d := range []string{"debs", "rootfs", "images", "tmp"} {
		if err := os.MkdirAll(filepath.Join(cache, d), 0o755); err != nil {
			return nil, err
		}
	}
	a, err := newApt(filepath.Join(cache, "apt"))
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Builder{Cache: cache, Pins: pins, Log: log, apt: a}, nil
}

// Relock resolves each image's closure against the archive as it is today
// and returns the new pins (the caller writes the lock).
func (b *Builder) Relock(ctx context.Context, defs []Def) ([]Pin, error) {
	if err := b.apt.update(ctx, true); err != nil {
		return nil, err
	}
	var pins []Pin
	for _, d := range defs {
		pkgs, err := b.apt.resolve(ctx, d.Roots)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Name, err)
		}
		sums, err := b.apt.sha256s(ctx, pkgs)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", d.Name, err)
		}
		for _, p := range pkgs {
			pins = append(pins, Pin{Image: d.Name, Package: p[0], Version: p[1], SHA256: sums[p]})
		}
	}
	return pins, nil
}

// debPath is where the .deb of a pin is cached; named by its SHA256, so a
// file is never mistaken for another version.
func (b *Builder) debPath(p Pin) string {
	return filepath.Join(b.Cache, "debs", p.Package+"_"+p.SHA256[:16]+".deb")
}

// fetch makes sure every pin's .deb is cached and matches its SHA256.
func (b *Builder) fetch(ctx context.Context, pins []Pin) error {
	var missing []Pin
	for _, p := range pins {
		if err := checkSHA256(b.debPath(p), p.SHA256); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	b.Log("downloading %d packages", len(missing))
	if err := b.apt.update(ctx, false); err != nil {
		return err
	}
	dl, err := os.MkdirTemp(filepath.Join(b.Cache, "tmp"), "download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dl)
	if err := b.apt.download(ctx, dl, missing); err != nil {
		return err
	}
	// apt names files pkg_version_arch.deb with the epoch's ':' as %3a.
	for _, p := range missing {
		m, _ := filepath.Glob(filepath.Join(dl, p.Package+"_"+strings.ReplaceAll(p.Version, ":", "%3a")+"_*.deb"))
		if len(m) != 1 {
			return fmt.Errorf("download of %s=%s left %d files", p.Package, p.Version, len(m))
		}
		if err := checkSHA256(m[0], p.SHA256); err != nil {
			return fmt.Errorf("%s=%s: %w (the lock and the archive disagree)", p.Package, p.Version, err)
		}
		if err := os.Rename(m[0], b.debPath(p)); err != nil {
			return err
		}
	}
	return nil
}

func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, lock says %s", got, want)
	}
	return nil
}

// key hashes every input of an image.
func key(d Def, pins []Pin, extra []File) string {
	h := sha256.New()
	fmt.Fprintf(h, "builder %s\nimage %s\nentrypoint %q\nenv %q\nuser %q\n", builderVersion, d.Name, d.Entrypoint, d.Env, d.User)
	for _, p := range pins {
		fmt.Fprintln(h, p.Line())
	}
	for _, f := range extra {
		fmt.Fprintf(h, "file %s %o %v %d\n", f.Path, f.Mode, f.Dir, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Build builds (or finds in the cache) one image.
func (b *Builder) Build(ctx context.Context, d Def) (Built, error) {
	pins := PinsOf(b.Pins, d.Name)
	if len(pins) == 0 {
		return Built{}, fmt.Errorf("%w: no pins for image %s (go run ./test/workloads -relock)", ErrLock, d.Name)
	}
	files := append([]File(nil), d.Files...)
	if d.Prepare != nil {
		more, err := d.Prepare(ctx, b)
		if err != nil {
			return Built{}, fmt.Errorf("image %s: %w", d.Name, err)
		}
		files = append(files, more...)
	}
	k := key(d, pins, files)
	out := Built{
		Name:   d.Name,
		Ref:    "localhost/nri-seccomp-workloads/" + d.Name + ":" + k,
		Rootfs: filepath.Join(b.Cache, "rootfs", d.Name+"-"+k),
		Key:    k,
	}
	if !d.RootfsOnly {
		out.Archive = filepath.Join(b.Cache, "images", d.Name+"-"+k+".oci.tar")
	}
	_, errRoot := os.Stat(out.Rootfs)
	_, errArch := os.Stat(out.Archive)
	if errRoot == nil && (d.RootfsOnly || errArch == nil) {
		out.Cached = true
		return out, nil
	}
	start := time.Now()
	if err := b.fetch(ctx, pins); err != nil {
		return Built{}, fmt.Errorf("image %s: %w", d.Name, err)
	}
	if errRoot != nil {
		if err := b.unpack(ctx, pins, files, out.Rootfs); err != nil {
			return Built{}, fmt.Errorf("image %s: %w", d.Name, err)
		}
	}
	if !d.RootfsOnly {
		if err := pack(d, out, b.Cache); err != nil {
			return Built{}, fmt.Errorf("image %s: %w", d.Name, err)
		}
	}
	b.Log("built %s (%d packages) in %s", d.Name, len(pins), time.Since(start).Round(100*time.Millisecond))
	return out, nil
}

// unpack extracts every package into a fresh directory, adds the files,
// builds ld.so.cache, and renames the result into place (a crash never
// leaves a half-built root filesystem under its final name).
func (b *Builder) unpack(ctx context.Context, pins []Pin, files []File, dst string) error {
	tmp, err := os.MkdirTemp(filepath.Join(b.Cache, "tmp"), "rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, p := range pins {
		if out, err := exec.CommandContext(ctx, "dpkg", "-x", b.debPath(p), tmp).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg -x %s: %w: %s", p.Package, err, out)
		}
	}
	for _, f := range append(baseFiles(), files...) {
		path := filepath.Join(tmp, f.Path)
		if f.Dir {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(path, f.Mode); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		os.Remove(path)
		if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
			return err
		}
		if err := os.Chmod(path, f.Mode); err != nil {
			return err
		}
	}
	if out, err := exec.CommandContext(ctx, "/sbin/ldconfig", "-r", tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("ldconfig -r: %w: %s", err, out)
	}
	os.RemoveAll(dst)
	return os.Rename(tmp, dst)
}

// baseFiles are what a package's maintainer scripts or base-files would
// have made: users, the loader's configuration, the directories runc mounts
// onto.
func baseFiles() []File {
	passwd := "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
		"redis:x:101:101:redis:/var/lib/redis:/usr/sbin/nologin\n" +
		"postgres:x:102:102:postgres:/var/lib/postgresql:/bin/sh\n" +
		"app:x:1000:1000:app:/home/app:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	group := "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nredis:x:101:\npostgres:x:102:\napp:x:1000:\nnogroup:x:65534:\n"
	fs := []File{
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Path: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Path: "etc/hosts", Mode: 0o644, Data: []byte("127.0.0.1 localhost\n")},
		{Path: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("passwd: files\ngroup: files\nhosts: files dns\n")},
		{Path: "etc/ld.so.conf", Mode: 0o644, Data: []byte("include /etc/ld.so.conf.d/*.conf\n")},
		{Path: "tmp", Dir: true, Mode: 0o1777},
		{Path: "home/app", Dir: true, Mode: 0o777},
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "root", "var/tmp", "var/log"} {
		fs = append(fs, File{Path: d, Dir: true, Mode: 0o755})
	}
	return fs
}

// pack writes the root filesystem as a single-layer OCI archive.
func pack(d Def, out Built, cache string) error {
	var files []ociimage.File
	err := filepath.WalkDir(out.Rootfs, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(out.Rootfs, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		if info.Mode()&fs.ModeSetuid != 0 {
			mode |= 0o4000
		}
		if info.Mode()&fs.ModeSetgid != 0 {
			mode |= 0o2000
		}
		if info.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		f := ociimage.File{Path: filepath.ToSlash(rel), Mode: mode}
		switch t := info.Mode().Type(); {
		case t == fs.ModeDir:
			f.Dir = true
		case t == fs.ModeSymlink:
			if f.Linkname, err = os.Readlink(path); err != nil {
				return err
			}
		case t == 0:
			if f.Data, err = os.ReadFile(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected file type %s", rel, t)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	tmp := out.Archive + ".tmp"
	if _, err := ociimage.Write(tmp, ociimage.Spec{
		Name:       out.Ref,
		Files:      files,
		Entrypoint: d.Entrypoint,
		Env:        d.Env,
		User:       d.User,
		CreatedBy:  "test/workloads/images (Debian 12 packages pinned in test/workloads/images.lock)",
	}); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out.Archive)
}

// RootfsOf returns the root filesystem of an image built before (Prepare
// hooks use it).
func (b *Builder) RootfsOf(ctx context.Context, d Def) (string, error) {
	built, err := b.Build(ctx, d)
	if err != nil {
		return "", err
	}
	if built.Rootfs == "" {
		return "", errors.New("no root filesystem")
	}
	return built.Rootfs, nil
}
