// Package ociimage writes and reads single-layer OCI image archives: an OCI
// image layout (oci-layout, index.json, blobs/sha256/...) in one tar file,
// the format `ctr images import` reads. No Docker daemon, no registry.
//
// The output is a pure function of the Spec: entries are sorted, every
// timestamp is Spec.Created, owners are 0:0, the layer is an uncompressed
// tar (so its digest is also its diff_id) and the JSON documents are
// encoded from structs in a fixed field order. The same Spec gives the same
// bytes, hence the same digests, on every machine.
package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Media types of the OCI image layout (image-spec v1.1).
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// Annotations on the index entry that name the image. containerd's importer
// takes io.containerd.image.name as the full name; tools that only read the
// OCI key (skopeo, podman, or ctr without the first) see the tag.
const (
	AnnotationImageName = "io.containerd.image.name"
	AnnotationRefName   = "org.opencontainers.image.ref.name"
)

// File is one entry of the image's single layer.
type File struct {
	Path     string // inside the image, without leading slash
	Mode     int64
	Dir      bool
	Linkname string // symlink target when set
	Data     []byte
}

// Spec describes a single-layer image.
type Spec struct {
	// Name is the full reference (registry/repository:tag).
	Name       string
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	// User is the config's user ("uid:gid"); empty means root.
	User string
	// Labels go into the config and, as annotations, onto the manifest
	// (org.opencontainers.image.* keys belong on both).
	Labels map[string]string
	// Created is the config's creation time and the mtime of every file.
	// Zero means the Unix epoch; never the wall clock, or two builds of the
	// same input would differ.
	Created time.Time
	// Architecture of the image (GOARCH spelling); empty means amd64.
	Architecture string
	// CreatedBy is the history entry's created_by.
	CreatedBy string
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform of a manifest in the index.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Index is index.json.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Config is the image configuration, with the fields this package writes.
type Config struct {
	Created      string        `json:"created"`
	Architecture string        `json:"architecture"`
	OS           string        `json:"os"`
	Config       RunConfig     `json:"config"`
	RootFS       RootFS        `json:"rootfs"`
	History      []HistoryItem `json:"history"`
}

// RunConfig is the config's execution parameters.
type RunConfig struct {
	User       string            `json:"User,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	WorkingDir string            `json:"WorkingDir"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// RootFS lists the layers' uncompressed digests.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// HistoryItem is one step of the image's history.
type HistoryItem struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by,omitempty"`
}

// Write writes spec as an OCI archive at path and returns the manifest's
// descriptor: its digest is the image digest `ctr images ls` shows.
func Write(path string, spec Spec) (Descriptor, error) {
	data, desc, err := Encode(spec)
	if err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return Descriptor{}, err
	}
	return desc, nil
}

// Encode returns the archive's bytes and the manifest's descriptor.
func Encode(spec Spec) ([]byte, Descriptor, error) {
	if spec.Name == "" || !strings.Contains(spec.Name, ":") {
		return nil, Descriptor{}, fmt.Errorf("image name %q: want repository:tag", spec.Name)
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()
	arch := spec.Architecture
	if arch == "" {
		arch = "amd64"
	}
	layer, err := layerTar(spec.Files, created)
	if err != nil {
		return nil, Descriptor{}, err
	}
	layerDesc := Descriptor{MediaType: MediaTypeLayer, Digest: Digest(layer), Size: int64(len(layer))}
	stamp := created.Format(time.RFC3339)
	config, err := json.Marshal(Config{
		Created:      stamp,
		Architecture: arch,
		OS:           "linux",
		Config: RunConfig{
			User:       spec.User,
			Env:        spec.Env,
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			WorkingDir: "/",
			Labels:     spec.Labels,
		},
		RootFS:  RootFS{Type: "layers", DiffIDs: []string{layerDesc.Digest}},
		History: []HistoryItem{{Created: stamp, CreatedBy: spec.CreatedBy}},
	})
	if err != nil {
		return nil, Descriptor{}, err
	}
	configDesc := Descriptor{MediaType: MediaTypeConfig, Digest: Digest(config), Size: int64(len(config))}
	manifest, err := json.Marshal(Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        configDesc,
		Layers:        []Descriptor{layerDesc},
		Annotations:   spec.Labels,
	})
	if err != nil {
		return nil, Descriptor{}, err
	}
	manifestDesc := Descriptor{
		MediaType: MediaTypeManifest,
		Digest:    Digest(manifest),
		Size:      int64(len(manifest)),
		Platform:  &Platform{Architecture: arch, OS: "linux"},
		Annotations: map[string]string{
			AnnotationImageName: spec.Name,
			AnnotationRefName:   spec.Name[strings.LastIndex(spec.Name, ":")+1:],
		},
	}
	index, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{manifestDesc}})
	if err != nil {
		return nil, Descriptor{}, err
	}
	data, err := layoutTar(created, []blob{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{BlobPath(layerDesc.Digest), layer},
		{BlobPath(configDesc.Digest), config},
		{BlobPath(manifestDesc.Digest), manifest},
	})
	if err != nil {
		return nil, Descriptor{}, err
	}
	return data, manifestDesc, nil
}

type blob struct {
	name string
	data []byte
}

// layoutTar is the outer archive: the layout's directories and files.
func layoutTar(mtime time.Time, blobs []blob) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: mtime, Typeflag: tar.TypeDir}); err != nil {
			return nil, err
		}
	}
	for _, b := range blobs {
		h := &tar.Header{Name: b.name, Mode: 0o644, Size: int64(len(b.data)), ModTime: mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("archive entry %s: %w", b.name, err)
		}
		if _, err := tw.Write(b.data); err != nil {
			return nil, fmt.Errorf("archive entry %s: %w", b.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layerTar is the image's filesystem, sorted by path so the order of
// files does not change the digest.
func layerTar(files []File, mtime time.Time) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, f := range sorted {
		if i > 0 && sorted[i-1].Path == f.Path {
			return nil, fmt.Errorf("layer entry %s: listed twice", f.Path)
		}
		h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: mtime, Uname: "root", Gname: "root"}
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
				return nil, fmt.Errorf("layer entry %s: %w", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Digest is the OCI digest (sha256) of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// BlobPath is where a blob with digest d lives in the layout.
func BlobPath(d string) string { return "blobs/sha256/" + strings.TrimPrefix(d, "sha256:") }
