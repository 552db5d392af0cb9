package runc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// fakeRuncScript writes an executable shell script standing in for runc.
func fakeRuncScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeRunc writes an executable that prints out as `runc --version` would.
func fakeRunc(t *testing.T, out string) string {
	return fakeRuncScript(t, "printf '"+out+"'")
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

// TestVersionBounded runs the probe against runc wrappers that misbehave:
// each must return, with the version when it was printed in full. No time
// is asserted: a probe that waited for the wrapper's child (no WaitDelay)
// would hit its own 5 s timeout and fail with ErrNoAnswer instead.
func TestVersionBounded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		want    string // output, when the probe succeeds
		wantErr string
	}{
		{
			// The wrapper exits at once; its child keeps stdout open for a
			// minute. Without WaitDelay the probe waited that minute.
			name:   "child holds stdout",
			script: "echo 'runc version 1.2.8'\nsleep 60 &\nexit 0",
			want:   "runc version 1.2.8\n",
		},
		{
			name:    "megabytes of output",
			script:  "echo 'runc version 1.2.8'\nyes 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | head -c 8000000",
			wantErr: "more than 65536 bytes of output",
		},
		{
			name:    "endless output",
			script:  "while :; do echo 'runc version 1.2.8'; done",
			wantErr: "more than 65536 bytes of output",
		},
		{
			name:    "fails",
			script:  "echo 'runc: oops' >&2\nexit 3",
			wantErr: "exit status 3",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fakeRuncScript(t, tc.script)
			out, err := Version(context.Background(), path)
			if tc.wantErr == "" {
				if err != nil || out != tc.want {
					t.Errorf("Version = %q, %v; want %q", out, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Version error = %v; want one naming %s and containing %q", err, path, tc.wantErr)
			}
			if serr := SeccompFlags(path); !errors.Is(serr, ErrNoSeccompFlags) {
				t.Errorf("SeccompFlags = %v; want ErrNoSeccompFlags", serr)
			}
		})
	}
}

// TestVersionTimeout: a runc that never answers is killed at the deadline,
// together with what it started (the probe runs it in its own process group).
func TestVersionTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	path := fakeRuncScript(t, "sleep 60 &\necho $! > "+pidFile+"\nsleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := Version(ctx, path)
	if !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Version error = %v; want %v", err, ErrNoAnswer)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	// Killed: gone, or a zombie waiting for a reaper.
	deadline := time.Now().Add(2 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wrapper's child %s survived the timeout: %s", pid, stat)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
