package images

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

const sumA = "b9f76b5271a7ac373fd5e7e1b5b826a71ddd702b42a0d104955ecb1acfffc94b"

func TestParseLock(t *testing.T) {
	good := "# header\n\nredis libc6 2.36-9+deb12u14 " + sumA + "\nredis zlib1g 1:1.2.13.dfsg-1+deb12u1 " + sumA + "\n"
	pins, err := ParseLock("l", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pin{{"redis", "libc6", "2.36-9+deb12u14", sumA}, {"redis", "zlib1g", "1:1.2.13.dfsg-1+deb12u1", sumA}}
	if len(pins) != 2 || pins[0] != want[0] || pins[1] != want[1] {
		t.Fatalf("got %+v", pins)
	}

	for _, tc := range []struct{ name, in, err string }{
		{"empty", "# only a comment\n", "l: no pins"},
		{"fields", "redis libc6 2.36\n", "l:1: want 4 fields (image package version sha256), got 3"},
		{"image", "Redis libc6 2.36 " + sumA + "\n", `l:1: image "Redis": want lower-case letters, digits and '-'`},
		{"package", "redis Libc6 2.36 " + sumA + "\n", `l:1: package "Libc6" is not a Debian package name`},
		{"version", "redis libc6 v2.36 " + sumA + "\n", `l:1: version "v2.36" of libc6 is not a Debian version`},
		{"sha", "redis libc6 2.36 ABC\n", `l:1: sha256 "ABC" of libc6: want 64 lower-case hex digits`},
		{"twice", "redis libc6 2.36 " + sumA + "\n\nredis libc6 2.37 " + sumA + "\n", "l:3: redis libc6 pinned twice (first at line 1)"},
		{"too large", strings.Repeat("#", MaxLockSize+1), "l: larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLock("l", strings.NewReader(tc.in))
			if !errors.Is(err, ErrLock) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

// Every problem is reported, not just the first.
func TestParseLockReportsAll(t *testing.T) {
	_, err := ParseLock("l", strings.NewReader("a b\nredis libc6 2.36 x\n"))
	if err == nil || !strings.Contains(err.Error(), "l:1:") || !strings.Contains(err.Error(), "l:2:") {
		t.Fatalf("got %v", err)
	}
}

func TestFormatLockRoundTrip(t *testing.T) {
	pins := []Pin{{"z", "bb", "1", sumA}, {"a", "cc", "2", sumA}, {"a", "bb", "1:3~x", sumA}}
	out := FormatLock("two\nlines", pins)
	if !bytes.HasPrefix(out, []byte("# two\n# lines\na bb 1:3~x ")) {
		t.Fatalf("got\n%s", out)
	}
	back, err := ParseLock("l", bytes.NewReader(out))
	if err != nil || len(back) != 3 || back[2] != pins[0] {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

// The committed lock parses and pins every image Defs names.
func TestCommittedLock(t *testing.T) {
	data, err := os.ReadFile("../images.lock")
	if err != nil {
		t.Fatal(err)
	}
	pins, err := ParseLock("images.lock", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Defs() {
		ps := PinsOf(pins, d.Name)
		if len(ps) == 0 {
			t.Errorf("image %s has no pins", d.Name)
		}
		have := map[string]bool{}
		for _, p := range ps {
			have[p.Package] = true
		}
		for _, r := range d.Roots {
			if !have[r] {
				t.Errorf("image %s: root package %s is not pinned", d.Name, r)
			}
		}
	}
}
