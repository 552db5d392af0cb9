package harness

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readArchive returns the files of a tar archive by name.
func readArchive(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeSymlink {
			b = []byte("-> " + h.Linkname)
		}
		files[h.Name] = b
	}
}

// TestWriteOCIArchive follows the layout the way containerd's importer does:
// index.json -> manifest -> config and layer, checking every digest, size
// and the config's diff_ids.
func TestWriteOCIArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	err := WriteOCIArchive(path, ImageSpec{
		Name: "localhost/x/y:tag",
		Files: []ImageFile{
			{Path: "bin", Dir: true, Mode: 0o755},
			{Path: "bin/tool", Mode: 0o755, Data: []byte("binary")},
			{Path: "bin/sh", Mode: 0o777, Linkname: "tool"},
		},
		Entrypoint: []string{"/bin/tool"},
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := readArchive(t, data)
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout = %q", files["oci-layout"])
	}
	blob := func(d descriptor) []byte {
		t.Helper()
		b, ok := files[blobPath(d.Digest)]
		if !ok {
			t.Fatalf("blob %s missing", d.Digest)
		}
		if digest(b) != d.Digest || int64(len(b)) != d.Size {
			t.Fatalf("blob %s: digest %s size %d, descriptor says size %d", d.Digest, digest(b), len(b), d.Size)
		}
		return b
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, files["index.json"])
	}
	m := index.Manifests[0]
	if m.Annotations["io.containerd.image.name"] != "localhost/x/y:tag" || m.Annotations["org.opencontainers.image.ref.name"] != "tag" {
		t.Fatalf("index annotations %v", m.Annotations)
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(blob(m), &manifest); err != nil || len(manifest.Layers) != 1 {
		t.Fatalf("manifest: %v", err)
	}
	var config struct {
		Config struct{ Entrypoint []string } `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blob(manifest.Config), &config); err != nil {
		t.Fatal(err)
	}
	if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != manifest.Layers[0].Digest {
		t.Fatalf("diff_ids %v, want the (uncompressed) layer digest %s", config.RootFS.DiffIDs, manifest.Layers[0].Digest)
	}
	if strings.Join(config.Config.Entrypoint, " ") != "/bin/tool" {
		t.Fatalf("entrypoint %v", config.Config.Entrypoint)
	}
	layer := readArchive(t, blob(manifest.Layers[0]))
	if string(layer["bin/tool"]) != "binary" || string(layer["bin/sh"]) != "-> tool" {
		t.Fatalf("layer content %v", layer)
	}
	if _, ok := layer["bin/"]; !ok {
		t.Fatal("layer lacks the bin/ directory entry")
	}

	// Same input, same bytes: re-imports are no-ops for containerd.
	path2 := filepath.Join(t.TempDir(), "img.tar")
	if err := WriteOCIArchive(path2, ImageSpec{Name: "localhost/x/y:tag", Files: []ImageFile{
		{Path: "bin/sh", Mode: 0o777, Linkname: "tool"},
		{Path: "bin/tool", Mode: 0o755, Data: []byte("binary")},
		{Path: "bin", Dir: true, Mode: 0o755},
	}, Entrypoint: []string{"/bin/tool"}}); err != nil {
		t.Fatal(err)
	}
	data2, err := os.ReadFile(path2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, data2) {
		t.Fatal("the archive depends on the order of Files")
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`: "/tmp/a b",
		`/plain`:      "/plain",
		`/x\134y`:     `/x\y`,
		`/end\04`:     `/end\04`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
