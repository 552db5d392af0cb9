package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

// buildStage is the Dockerfile stage that compiles the binary; its one
// output is replaced by the binary `make build` produced.
const (
	buildStage  = "build"
	buildOutput = "/out/nri-seccomp"
)

// Modes are fixed rather than copied from the checkout, whose umask would
// otherwise leak into the digest: git itself only knows 0644 and 0755.
const (
	dirMode  = 0o755
	fileMode = 0o644
	execMode = 0o755
)

// layerFiles resolves the stage's COPY steps against the build context
// (root) and the binary: one entry per file, plus every parent directory,
// as Docker's COPY creates them.
func layerFiles(st stage, root string, binary []byte) ([]ociimage.File, error) {
	files := map[string]ociimage.File{}
	add := func(f ociimage.File) error {
		if prev, ok := files[f.Path]; ok && !(prev.Dir && f.Dir) {
			return fmt.Errorf("/%s is written twice", f.Path)
		}
		files[f.Path] = f
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if prev, ok := files[dir]; ok && !prev.Dir {
				return fmt.Errorf("/%s is a file and the parent of /%s", dir, f.Path)
			}
			files[dir] = ociimage.File{Path: dir, Dir: true, Mode: dirMode}
		}
		return nil
	}
	for _, c := range st.Copies {
		if err := copyFiles(c, root, binary, add); err != nil {
			return nil, fmt.Errorf("Dockerfile:%d: COPY %s %s: %w", c.Line, c.Src, c.Dst, err)
		}
	}
	out := make([]ociimage.File, 0, len(files))
	for _, f := range files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func copyFiles(c copyStep, root string, binary []byte, add func(ociimage.File) error) error {
	dst := strings.TrimPrefix(path.Clean(c.Dst), "/")
	switch {
	case c.From == buildStage && c.Src == buildOutput:
		if strings.HasSuffix(c.Dst, "/") {
			dst = path.Join(dst, path.Base(c.Src))
		}
		return add(ociimage.File{Path: dst, Mode: execMode, Data: binary})
	case c.From != "":
		return fmt.Errorf("%w: only --from=%s %s (the binary) can be provided without Docker", ErrDockerfile, buildStage, buildOutput)
	}
	src := filepath.Join(root, filepath.FromSlash(c.Src))
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if strings.HasSuffix(c.Dst, "/") {
			dst = path.Join(dst, path.Base(c.Src))
		}
		return addFile(src, dst, info, add)
	}
	// A directory's contents go under dst, like Docker's COPY.
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		if d.IsDir() {
			return add(ociimage.File{Path: target, Dir: true, Mode: dirMode})
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return addFile(p, target, info, add)
	})
}

func addFile(src, dst string, info fs.FileInfo, add func(ociimage.File) error) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %s is neither a regular file nor a directory", src, info.Mode().Type())
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	mode := int64(fileMode)
	if info.Mode().Perm()&0o111 != 0 {
		mode = execMode
	}
	return add(ociimage.File{Path: dst, Mode: mode, Data: data})
}

// ErrNotStatic marks a binary that would not run in a FROM scratch image.
var ErrNotStatic = errors.New("binary is not statically linked")

// elfArch returns the GOARCH of a static ELF binary. A dynamically linked
// one would fail in the image with a bare "no such file or directory" (its
// loader is missing), so it is refused here.
func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%w: %s asks for a loader (PT_INTERP); build it with make build", ErrNotStatic, path)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("%s: ELF machine %s has no image architecture here", path, f.Machine)
}
