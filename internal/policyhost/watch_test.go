package policyhost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWatchDirs(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"profiles/web", "..2026_11_26", ".git"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(file, []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{dir, filepath.Join(dir, "profiles"), filepath.Join(dir, "profiles/web")}
	for _, path := range []string{dir, file} {
		if got := watchDirs(path); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("watchDirs(%s) = %v, want %v", path, got, want)
		}
	}
	if got := watchDirs(""); got != nil {
		t.Errorf("watchDirs(\"\") = %v", got)
	}
}

func TestPolicyFile(t *testing.T) {
	const path = "/etc/nri-seccomp/policy.yaml"
	for name, want := range map[string]bool{
		path:                                    true,
		"/etc/nri-seccomp/10-more.yaml":         true,
		"/etc/nri-seccomp/profiles/web.json":    true,
		"/etc/nri-seccomp/RULES.YML":            true,
		"/etc/nri-seccomp/..data":               true,
		"/etc/nri-seccomp/decisions.jsonl":      false,
		"/etc/nri-seccomp/.policy.yaml.swp":     false,
		"/etc/nri-seccomp/.hidden.yaml":         false,
		"/etc/nri-seccomp/policy.yaml~":         false,
		"/etc/nri-seccomp/4913":                 false, // vim's write test
		"/etc/nri-seccomp/..2026_11_26_21.yaml": true,
	} {
		if got := policyFile(name, path); got != want {
			t.Errorf("policyFile(%q) = %v, want %v", name, got, want)
		}
	}
}
