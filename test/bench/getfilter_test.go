package main

import (
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
)

// LoadedFilter reads back exactly the program a process loaded, and the
// process carries on afterwards. Reading a filter needs CAP_SYS_ADMIN: as
// any other user it must fail with EPERM or EACCES, not hang or succeed.
func TestLoadedFilter(t *testing.T) {
	b, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := seccompbpf.CompileFor(b["runtime-default"], seccompbpf.Runc12)
	if err != nil {
		t.Fatal(err)
	}
	pid, stop, err := SpawnFiltered(prog.Raw)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got, err := LoadedFilter(pid)
	if os.Geteuid() != 0 {
		if !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EACCES) {
			t.Fatalf("as uid %d: %v, want EPERM or EACCES", os.Geteuid(), err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, prog.Raw) {
		t.Fatalf("read back %d instructions, loaded %d (or they differ)", len(got), len(prog.Raw))
	}
	// Still alive and ptrace-free: a second read works the same.
	if again, err := LoadedFilter(pid); err != nil || !slices.Equal(again, prog.Raw) {
		t.Fatalf("second read: %d instructions, %v", len(again), err)
	}
	if _, err := LoadedFilter(1 << 30); err == nil {
		t.Error("no such process must be an error")
	}
}
