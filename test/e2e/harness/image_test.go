package harness

import (
	"path/filepath"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

// WriteOCIArchive names the image for containerd's importer (the layout
// itself is tested in internal/ociimage).
func TestWriteOCIArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	err := WriteOCIArchive(path, ImageSpec{
		Name:       "localhost/x/y:tag",
		Files:      []ImageFile{{Path: "bin/tool", Mode: 0o755, Data: []byte("binary")}},
		Entrypoint: []string{"/bin/tool"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociimage.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if a := img.ManifestDesc.Annotations; a[ociimage.AnnotationImageName] != "localhost/x/y:tag" || a[ociimage.AnnotationRefName] != "tag" {
		t.Fatalf("index annotations %v", a)
	}
	if got := img.Config.Config.Entrypoint; len(got) != 1 || got[0] != "/bin/tool" {
		t.Fatalf("entrypoint %v", got)
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
