package profiletool

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// assertGolden compares got with testdata/golden/name, or rewrites it with
// -update. Review the diff of a rewritten golden file before committing it.
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func mustLoad(t *testing.T, ref string) *Source {
	t.Helper()
	src, err := Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestShowGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		ref    string
		opts   ShowOptions
	}{
		{"show-runtime-default.txt", "runtime-default", ShowOptions{}},
		{"show-hardened-x86.txt", "hardened", ShowOptions{Arch: specs.ArchX86}},
		{"show-minimal.json", "minimal", ShowOptions{JSON: true}},
		{"show-minimal-aarch64.txt", "minimal", ShowOptions{Arch: specs.ArchAARCH64}},
		{"show-messy.txt", "testdata/messy.json", ShowOptions{}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			tc.opts.Native = specs.ArchX86_64
			out, err := Show(mustLoad(t, tc.ref), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, tc.golden, out)
		})
	}
}

func TestDiffGolden(t *testing.T) {
	for _, tc := range []struct {
		golden  string
		a, b    string
		rel     Relation
		bLooser bool
	}{
		{"diff-runtime-default-hardened.txt", "runtime-default", "hardened", BStricter, false},
		{"diff-hardened-runtime-default.txt", "hardened", "runtime-default", AStricter, true},
		{"diff-hardened-minimal.txt", "hardened", "minimal", BStricter, false},
		{"diff-same.txt", "runtime-default", "runtime-default", Same, false},
		// unconfined.json lists no architecture, so (read as runc loads it)
		// it kills x86 and x32 calls that minimal answers: neither is stricter.
		{"diff-minimal-unconfined.txt", "minimal", "unconfined", Incomparable, true},
		{"diff-messy-runtime-default.txt", "testdata/messy.json", "runtime-default", Incomparable, true},
		{"diff-errno.txt", "testdata/errno-eperm.json", "testdata/errno-enosys.json", Different, false},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			d, err := Diff(mustLoad(t, tc.a).Spec, mustLoad(t, tc.b).Spec, specs.ArchX86_64)
			if err != nil {
				t.Fatal(err)
			}
			if d.Relation != tc.rel || d.BLooser() != tc.bLooser {
				t.Errorf("relation %q, B looser %v; want %q, %v", d.Relation, d.BLooser(), tc.rel, tc.bLooser)
			}
			assertGolden(t, tc.golden, d.Format(tc.a, tc.b))
		})
	}
}
