package runc

import (
	"slices"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

func TestRuntimeBaseNames(t *testing.T) {
	if !slices.IsSorted(RuntimeBase) || len(slices.Compact(slices.Clone(RuntimeBase))) != len(RuntimeBase) {
		t.Fatal("RuntimeBase must be sorted and without duplicates")
	}
	for _, n := range RuntimeBase {
		if _, ok := syscalls.Number("SCMP_ARCH_X86_64", n); !ok {
			t.Errorf("RuntimeBase: %q is no x86_64 syscall", n)
		}
	}
	// What FACTS.md says runc 1.1.5 calls after the filter, and
	// restart_syscall, which the kernel has any process call after a signal
	// (a recording sees it or not by timing: test/workloads).
	for _, n := range []string{"execve", "getcwd", "fstatfs", "close", "capset", "setgroups", "write", "restart_syscall"} {
		if !slices.Contains(RuntimeBase, n) {
			t.Errorf("RuntimeBase lacks %s", n)
		}
	}
}

// runc's own needs, as `profile lint` checks them, are all in the base set:
// a recorded profile must start a container under runc 1.2 (openat2).
func TestRuntimeBaseCoversRuncNeeds(t *testing.T) {
	for _, g := range Needs() {
		for _, n := range g.Names {
			if !slices.Contains(RuntimeBase, n) {
				t.Errorf("RuntimeBase lacks %s (%s)", n, g.Why)
			}
		}
	}
}

func TestRuntimeBaseNoNewPrivs(t *testing.T) {
	if !slices.IsSorted(RuntimeBaseNoNewPrivs) || len(slices.Compact(slices.Clone(RuntimeBaseNoNewPrivs))) != len(RuntimeBaseNoNewPrivs) {
		t.Fatal("RuntimeBaseNoNewPrivs must be sorted and without duplicates")
	}
	for _, n := range RuntimeBaseNoNewPrivs {
		if !slices.Contains(RuntimeBase, n) {
			t.Errorf("RuntimeBaseNoNewPrivs has %s, which RuntimeBase lacks", n)
		}
	}
	// runc's part before the filter under no_new_privs.
	for _, n := range []string{"capget", "capset", "prctl", "setgroups", "setuid", "setgid", "chdir", "getcwd"} {
		if slices.Contains(RuntimeBaseNoNewPrivs, n) {
			t.Errorf("RuntimeBaseNoNewPrivs has %s, which runc calls before the filter under no_new_privs", n)
		}
	}
}
