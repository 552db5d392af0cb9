package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testFiles = []File{
	{Path: "bin", Dir: true, Mode: 0o755},
	{Path: "bin/tool", Mode: 0o755, Data: []byte("binary")},
	{Path: "bin/sh", Mode: 0o777, Linkname: "tool"},
}

// TestWriteRead writes an image and reads it back through Read, which
// follows index.json -> manifest -> config and layer checking every digest,
// size and the config's diff_ids.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	desc, err := Write(path, Spec{
		Name:       "localhost/x/y:tag",
		Files:      testFiles,
		Entrypoint: []string{"/bin/tool"},
		Cmd:        []string{"run"},
		User:       "65532:65532",
		Labels:     map[string]string{"org.opencontainers.image.version": "v1"},
		Created:    created,
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if img.ManifestDesc.Digest != desc.Digest {
		t.Errorf("Write returned manifest %s, index.json names %s", desc.Digest, img.ManifestDesc.Digest)
	}
	wantAnn := map[string]string{AnnotationImageName: "localhost/x/y:tag", AnnotationRefName: "tag"}
	if !reflect.DeepEqual(img.ManifestDesc.Annotations, wantAnn) {
		t.Errorf("index annotations %v, want %v", img.ManifestDesc.Annotations, wantAnn)
	}
	if p := img.ManifestDesc.Platform; p == nil || *p != (Platform{Architecture: "amd64", OS: "linux"}) {
		t.Errorf("platform %+v", p)
	}
	wantRun := RunConfig{User: "65532:65532", Entrypoint: []string{"/bin/tool"}, Cmd: []string{"run"}, WorkingDir: "/",
		Labels: map[string]string{"org.opencontainers.image.version": "v1"}}
	if !reflect.DeepEqual(img.Config.Config, wantRun) {
		t.Errorf("config %+v, want %+v", img.Config.Config, wantRun)
	}
	if img.Config.Created != "2026-12-01T10:00:00Z" || img.Manifest.Annotations["org.opencontainers.image.version"] != "v1" {
		t.Errorf("created %q, manifest annotations %v", img.Config.Created, img.Manifest.Annotations)
	}
	want := []Entry{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created.Unix(), Data: []byte{}},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Mode: 0o777, ModTime: created.Unix(), Linkname: "tool", Data: []byte{}},
		{Name: "bin/tool", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: created.Unix(), Data: []byte("binary")},
	}
	if !reflect.DeepEqual(img.Layer, want) {
		t.Errorf("layer\n got %+v\nwant %+v", img.Layer, want)
	}
}

// The same files in another order give the same bytes: containerd then
// skips re-importing blobs it has, and builds are reproducible.
func TestEncodeIgnoresFileOrder(t *testing.T) {
	a, da, err := Encode(Spec{Name: "x:1", Files: testFiles})
	if err != nil {
		t.Fatal(err)
	}
	reversed := []File{testFiles[2], testFiles[1], testFiles[0]}
	b, db, err := Encode(Spec{Name: "x:1", Files: reversed})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || da.Digest != db.Digest {
		t.Fatalf("the archive depends on the order of Files: %s vs %s", da.Digest, db.Digest)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "no-tag"}, `image name "no-tag": want repository:tag`},
		{Spec{Name: "x:1", Files: []File{{Path: "a", Data: []byte("1")}, {Path: "a", Data: []byte("2")}}}, "layer entry a: listed twice"},
	} {
		_, _, err := Encode(tc.spec)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Encode(%+v) = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// Read refuses archives whose blobs do not match their descriptors.
func TestReadRejectsCorruption(t *testing.T) {
	good, desc, err := Encode(Spec{Name: "x:1", Files: testFiles})
	if err != nil {
		t.Fatal(err)
	}
	files, err := tarFiles(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	manifestPath := BlobPath(desc.Digest)
	for _, tc := range []struct {
		name   string
		mutate func(map[string]Entry)
		want   string
	}{
		{"no layout", func(f map[string]Entry) { delete(f, "oci-layout") }, `oci-layout = ""`},
		{"manifest missing", func(f map[string]Entry) { delete(f, manifestPath) }, "blob " + desc.Digest + " missing"},
		{"manifest altered", func(f map[string]Entry) {
			e := f[manifestPath]
			e.Data = append([]byte(" "), e.Data...)
			f[manifestPath] = e
		}, "blob " + desc.Digest + " has digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			copied := map[string]Entry{}
			for k, v := range files {
				copied[k] = v
			}
			tc.mutate(copied)
			_, err := decode(copied)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decode = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "absent.tar")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of a missing file = %v", err)
	}
}
