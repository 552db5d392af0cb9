package runcinfo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		out     string
		want    [3]int
		wantErr bool
	}{
		{"runc version 1.1.5+ds1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n", [3]int{1, 1, 5}, false},
		{"runc version 1.2.8\ncommit: v1.2.8-0-g\nspec: 1.2.0\n", [3]int{1, 2, 8}, false},
		{"runc version 1.3.0-rc.1\n", [3]int{1, 3, 0}, false},
		{"crun version 1.8\n", [3]int{}, true},
		{"", [3]int{}, true},
	} {
		a, b, c, err := ParseVersion(tc.out)
		if (err != nil) != tc.wantErr || (!tc.wantErr && [3]int{a, b, c} != tc.want) {
			t.Errorf("ParseVersion(%q) = %d.%d.%d, %v; want %v (error %v)", tc.out, a, b, c, err, tc.want, tc.wantErr)
		}
	}
}

// fakeRunc writes an executable that prints out as `runc --version` would.
func fakeRunc(t *testing.T, out string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nprintf '"+out+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSeccompFlags(t *testing.T) {
	if err := SeccompFlags(fakeRunc(t, `runc version 1.2.8\n`)); err != nil {
		t.Fatalf("runc 1.2.8 applies seccomp flags: %v", err)
	}
	err := SeccompFlags(fakeRunc(t, `runc version 1.1.5+ds1\n`))
	if !errors.Is(err, ErrNoSeccompFlags) || !strings.Contains(err.Error(), "is runc 1.1.5") {
		t.Fatalf("runc 1.1.5: want ErrNoSeccompFlags naming the version, got %v", err)
	}
	err = SeccompFlags(filepath.Join(t.TempDir(), "missing-runc"))
	if !errors.Is(err, ErrNoSeccompFlags) || !strings.Contains(err.Error(), "cannot run") {
		t.Fatalf("missing runc: want ErrNoSeccompFlags saying it cannot run, got %v", err)
	}
}
