package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

func TestRunBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"mkdir"},
		{"mkdir", "a", "b"},
		{"raw"},
		{"raw", "39", "1", "2", "3", "4", "5", "6", "7"}, // a number and 7 args
		{"i386"},
		{"i386", "mkdir"},
	} {
		if _, err := run(args); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := run([]string{"raw", "x"}); err == nil || errors.Is(err, errUsage) {
		t.Errorf("run(raw x) = %v, want an integer parse error", err)
	}
}

func TestRunCalls(t *testing.T) {
	r, err := run([]string{"getpid"})
	if err != nil || r.Errno != "" || r.Ret != int64(os.Getpid()) || r.Arch != "x86_64" {
		t.Fatalf("getpid: %+v %v, want ret %d", r, err, os.Getpid())
	}
	dir := filepath.Join(t.TempDir(), "d")
	if r, err := run([]string{"mkdir", dir}); err != nil || r.Errno != "" {
		t.Fatalf("mkdir: %+v %v", r, err)
	}
	if r, err := run([]string{"mkdir", dir}); err != nil || r.Errno != "EEXIST" || r.Ret != -1 {
		t.Fatalf("second mkdir: %+v %v, want EEXIST", r, err)
	}
	if r, err := run([]string{"raw", "999999"}); err != nil || r.Errno != "ENOSYS" {
		t.Fatalf("raw 999999: %+v %v, want ENOSYS", r, err)
	}
	if runtime.GOARCH != "amd64" {
		return
	}
	// The i386 entry: getpid is 20 there, and the same process answers.
	r, err = run([]string{"i386", "getpid"})
	if err != nil || r.Arch != "i386" || r.Nr != 20 || r.Ret != int64(os.Getpid()) {
		t.Fatalf("i386 getpid: %+v %v (ia32 emulation off?)", r, err)
	}
	low := filepath.Join(t.TempDir(), "i386")
	if r, err := run([]string{"i386", "mkdir", low}); err != nil || r.Errno != "" {
		t.Fatalf("i386 mkdir: %+v %v", r, err)
	}
	if _, err := os.Stat(low); err != nil {
		t.Fatalf("i386 mkdir reported success but %s: %v", low, err)
	}
	if r, err := run([]string{"i386", strconv.Itoa(i386Numbers["rmdir"]), "0"}); err != nil || r.Errno != "EFAULT" {
		t.Fatalf("i386 rmdir(NULL): %+v %v, want EFAULT", r, err)
	}
}
