package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrInvalid marks an archive that is not a valid single-layer OCI layout.
var ErrInvalid = errors.New("invalid OCI archive")

// Entry is one entry of a layer, as its tar header says.
type Entry struct {
	Name     string
	Typeflag byte
	Mode     int64
	Uid, Gid int
	ModTime  int64 // Unix seconds
	Linkname string
	Data     []byte
}

// Image is an archive read back and verified.
type Image struct {
	// Manifest is the index's only entry; its digest is the image digest.
	ManifestDesc Descriptor
	Manifest     Manifest
	Config       Config
	// Layer lists the single layer's entries in archive order.
	Layer []Entry
}

// maxArchive bounds what Read loads into memory.
const maxArchive = 1 << 30

// Read loads the archive at path and follows it the way containerd's
// importer does: oci-layout, index.json -> manifest -> config and layer,
// checking every digest and size and that the config's diff_ids name the
// (uncompressed) layer.
func Read(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files, err := tarFiles(io.LimitReader(f, maxArchive))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img, err := decode(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

func decode(files map[string]Entry) (*Image, error) {
	if got := string(files["oci-layout"].Data); got != `{"imageLayoutVersion":"1.0.0"}` {
		return nil, fmt.Errorf("%w: oci-layout = %q", ErrInvalid, got)
	}
	var index Index
	if err := json.Unmarshal(files["index.json"].Data, &index); err != nil {
		return nil, fmt.Errorf("%w: index.json: %w", ErrInvalid, err)
	}
	if len(index.Manifests) != 1 {
		return nil, fmt.Errorf("%w: index.json lists %d manifests, want 1", ErrInvalid, len(index.Manifests))
	}
	img := &Image{ManifestDesc: index.Manifests[0]}
	if err := unmarshalBlob(files, img.ManifestDesc, MediaTypeManifest, &img.Manifest); err != nil {
		return nil, err
	}
	if err := unmarshalBlob(files, img.Manifest.Config, MediaTypeConfig, &img.Config); err != nil {
		return nil, err
	}
	if len(img.Manifest.Layers) != 1 {
		return nil, fmt.Errorf("%w: manifest lists %d layers, want 1", ErrInvalid, len(img.Manifest.Layers))
	}
	layerDesc := img.Manifest.Layers[0]
	layer, err := blobData(files, layerDesc, MediaTypeLayer)
	if err != nil {
		return nil, err
	}
	if ids := img.Config.RootFS.DiffIDs; len(ids) != 1 || ids[0] != layerDesc.Digest {
		return nil, fmt.Errorf("%w: config diff_ids %v, want the uncompressed layer's digest %s", ErrInvalid, ids, layerDesc.Digest)
	}
	if err := eachEntry(bytes.NewReader(layer), func(e Entry) { img.Layer = append(img.Layer, e) }); err != nil {
		return nil, fmt.Errorf("%w: layer: %w", ErrInvalid, err)
	}
	return img, nil
}

// blobData returns the blob d points at, after checking its media type,
// digest and size.
func blobData(files map[string]Entry, d Descriptor, mediaType string) ([]byte, error) {
	if d.MediaType != mediaType {
		return nil, fmt.Errorf("%w: descriptor %s: media type %q, want %q", ErrInvalid, d.Digest, d.MediaType, mediaType)
	}
	e, ok := files[BlobPath(d.Digest)]
	if !ok {
		return nil, fmt.Errorf("%w: blob %s missing", ErrInvalid, d.Digest)
	}
	if got := Digest(e.Data); got != d.Digest || int64(len(e.Data)) != d.Size {
		return nil, fmt.Errorf("%w: blob %s has digest %s and size %d; the descriptor says size %d", ErrInvalid, d.Digest, got, len(e.Data), d.Size)
	}
	return e.Data, nil
}

func unmarshalBlob(files map[string]Entry, d Descriptor, mediaType string, v any) error {
	b, err := blobData(files, d, mediaType)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: blob %s: %w", ErrInvalid, d.Digest, err)
	}
	return nil
}

func tarFiles(r io.Reader) (map[string]Entry, error) {
	files := map[string]Entry{}
	err := eachEntry(r, func(e Entry) { files[e.Name] = e })
	return files, err
}

func eachEntry(r io.Reader, fn func(Entry)) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		fn(Entry{Name: h.Name, Typeflag: h.Typeflag, Mode: h.Mode, Uid: h.Uid, Gid: h.Gid,
			ModTime: h.ModTime.Unix(), Linkname: h.Linkname, Data: data})
	}
}
