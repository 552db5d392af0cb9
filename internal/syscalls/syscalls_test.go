package syscalls

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
)

const (
	x86_64  = "SCMP_ARCH_X86_64"
	x86     = "SCMP_ARCH_X86"
	x32     = "SCMP_ARCH_X32"
	aarch64 = "SCMP_ARCH_AARCH64"
	arm     = "SCMP_ARCH_ARM"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		arch, name string
		want       int
	}{
		{x86_64, "read", 0},
		{x86_64, "getpid", 39},
		{x86_64, "mkdir", 83},
		{x86_64, "arch_prctl", 158},
		{x86_64, "io_uring_setup", 425},
		{x86_64, "clone3", 435},
		{x86_64, "uretprobe", 335},
		{x86, "mkdir", 39},
		{x86, "socketcall", 102},
		{x86, "socket", 359},
		{x86, "_llseek", 140},
		{x86, "_newselect", 142},
		{x86, "vm86old", 113},
		{aarch64, "io_setup", 0},
		{aarch64, "mkdirat", 34},
		{aarch64, "getpid", 172},
		{aarch64, "clone3", 435},
		{arm, "restart_syscall", 0},
		{arm, "mkdir", 39},
		{arm, "arm_fadvise64_64", 270},
		{arm, "breakpoint", 0x0f0001},
		{arm, "cacheflush", 0x0f0002},
		{arm, "set_tls", 0x0f0005},
		{x32, "read", 0x40000000},
		{x32, "getpid", 0x40000000 | 39},
		{x32, "rt_sigaction", 0x40000000 | 512},
		{x32, "execve", 0x40000000 | 520},
		{x32, "pwritev2", 0x40000000 | 547},
		{x32, "io_uring_setup", 0x40000000 | 425},
	}
	for _, tt := range tests {
		got, ok := Number(tt.arch, tt.name)
		if !ok || got != tt.want {
			t.Errorf("Number(%s, %q) = %#x, %v; want %#x, true", tt.arch, tt.name, got, ok, tt.want)
		}
	}
}

func TestNumberAbsent(t *testing.T) {
	tests := []struct{ arch, name, why string }{
		{x86_64, "socketcall", "x86_64 has direct socket syscalls only"},
		{x86_64, "mkdri", "typo"},
		{x86_64, "MKDIR", "names are case-sensitive"},
		{x86, "accept", "i386 reaches accept only through socketcall"},
		{aarch64, "open", "the generic table has only openat"},
		{aarch64, "mkdir", "the generic table has only mkdirat"},
		{aarch64, "set_tls", "ARM private syscalls are 32-bit only"},
		{x32, "uselib", "x86_64-only entry, no x32 replacement"},
		{x32, "map_shadow_stack", "x86_64-only entry (syscall_64.tbl ABI 64)"},
		{x32, "set_thread_area", "x86_64-only entry"},
		{"SCMP_ARCH_PPC64LE", "read", "architecture without a table"},
		{"x86_64", "read", "architectures are OCI tokens, not libseccomp's short names"},
		{"", "read", "empty architecture"},
	}
	for _, tt := range tests {
		if nr, ok := Number(tt.arch, tt.name); ok {
			t.Errorf("Number(%q, %q) = %d, true; want false (%s)", tt.arch, tt.name, nr, tt.why)
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		arch string
		nr   int
		want string
	}{
		{x86_64, 39, "getpid"},
		{x86_64, 0, "read"},
		{x86, 39, "mkdir"},
		{aarch64, 34, "mkdirat"},
		{arm, 0, "restart_syscall"}, // not x/sys's SYS_SYSCALL_MASK, also 0
		{arm, 0x0f0005, "set_tls"},
		{x32, 0x40000000 | 512, "rt_sigaction"},
	}
	for _, tt := range tests {
		got, ok := Name(tt.arch, tt.nr)
		if !ok || got != tt.want {
			t.Errorf("Name(%s, %#x) = %q, %v; want %q, true", tt.arch, tt.nr, got, ok, tt.want)
		}
	}

	absent := []struct {
		arch string
		nr   int
	}{
		{x86_64, -1},
		{x86_64, 99999},
		{x86_64, 0x40000000},   // an x32 number: callers must use SCMP_ARCH_X32
		{x32, 0x40000000 | 13}, // x86_64's rt_sigaction slot is not x32's
		{x32, 0},               // x32 numbers always carry the x32 bit
		{"SCMP_ARCH_S390X", 1},
	}
	for _, tt := range absent {
		if n, ok := Name(tt.arch, tt.nr); ok {
			t.Errorf("Name(%q, %#x) = %q, true; want false", tt.arch, tt.nr, n)
		}
	}
}

// TestTablesConsistent checks every generated entry both ways, so that a
// generator change that breaks the tables' invariants fails here.
func TestTablesConsistent(t *testing.T) {
	if !slices.IsSorted(knownNames) {
		t.Fatal("knownNames is not sorted; Known's binary search would miss names")
	}
	if c := slices.Compact(slices.Clone(knownNames)); len(c) != len(knownNames) {
		t.Fatal("knownNames has duplicates")
	}
	for _, tab := range archTables {
		if len(tab.numbers) < 300 {
			t.Errorf("%s: only %d syscalls", tab.token, len(tab.numbers))
		}
		for name, nr := range tab.numbers {
			if got, ok := Name(tab.token, nr); !ok || got != name {
				t.Errorf("Name(%s, %d) = %q, %v; want %q", tab.token, nr, got, ok, name)
			}
			if !Known(name) {
				t.Errorf("%s has %q, which Known rejects", tab.token, name)
			}
			isX32 := nr&0x40000000 != 0
			if isX32 != (tab.token == x32) {
				t.Errorf("%s: %q = %#x: x32 bit set on the wrong architecture", tab.token, name, nr)
			}
		}
	}
}

func TestKnown(t *testing.T) {
	known := []string{
		"read", "mkdir", "_llseek", "_newselect", "_sysctl", "socketcall",
		"clone3", "io_uring_setup", "mseal", "listmount", "uretprobe",
		// Architecture-specific names that containerd's and moby's default
		// profiles list for some GOARCH.
		"arch_prctl", "modify_ldt", "vm86", "vm86old",
		"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
		"breakpoint", "cacheflush", "set_tls", "get_tls", "usr26", "usr32",
		"swapcontext", "s390_pci_mmio_read", "s390_pci_mmio_write",
		"s390_runtime_instr", "s390_guarded_storage", "s390_sthyi",
		"riscv_flush_icache", "riscv_hwprobe", "spu_run", "subpage_prot",
		"sysmips", "cachectl",
		// libseccomp 2.6 names for m68k, which x/sys does not cover.
		"atomic_barrier", "atomic_cmpxchg_32", "getpagesize",
	}
	for _, n := range known {
		if !Known(n) {
			t.Errorf("Known(%q) = false; want true", n)
		}
	}
	unknown := []string{
		"", "mkdri", "MKDIR", "SYS_MKDIR", " mkdir", "mkdir ",
		// x/sys constants that are not syscalls.
		"syscall_mask", "arch_specific_syscall", "reserved82", "unused18",
		// sparc-only: libseccomp cannot filter sparc.
		"kern_features", "utrap_install",
	}
	for _, n := range unknown {
		if Known(n) {
			t.Errorf("Known(%q) = true; want false", n)
		}
	}
}

// TestMobyDefaultProfileNamesKnown loads Docker's default profile, which
// lists names for every architecture it supports: all must be known, or a
// real-world profile would be rejected.
func TestMobyDefaultProfileNamesKnown(t *testing.T) {
	p := mobyseccomp.DefaultProfile()
	count := 0
	for _, sc := range p.Syscalls {
		names := sc.Names
		if sc.Name != "" {
			names = append(names, sc.Name)
		}
		for _, n := range names {
			count++
			if !Known(n) {
				t.Errorf("moby default profile lists %q, which Known rejects", n)
			}
		}
	}
	if count < 300 {
		t.Fatalf("moby default profile has only %d names; did its layout change?", count)
	}
}

func TestArchFromAudit(t *testing.T) {
	tests := []struct {
		audit uint32
		want  string
	}{
		{0xc000003e, x86_64},
		{0x40000003, x86},
		{0xc00000b7, aarch64},
		{0x40000028, arm},
	}
	for _, tt := range tests {
		got, ok := ArchFromAudit(tt.audit)
		if !ok || got != tt.want {
			t.Errorf("ArchFromAudit(%#x) = %q, %v; want %q, true", tt.audit, got, ok, tt.want)
		}
	}
	// 0 must not match x32, whose table has no audit value of its own.
	for _, a := range []uint32{0, 0xc0000016 /* S390X */, 0x80000016 /* S390 */, 0xc000003f} {
		if got, ok := ArchFromAudit(a); ok {
			t.Errorf("ArchFromAudit(%#x) = %q, true; want false", a, got)
		}
	}
}

func TestArches(t *testing.T) {
	want := []string{aarch64, arm, x32, x86, x86_64}
	got := Arches()
	if !slices.Equal(got, want) {
		t.Fatalf("Arches() = %v; want %v", got, want)
	}
	got[0] = "mutated"
	if Arches()[0] != aarch64 {
		t.Fatal("Arches() returned shared state")
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mkdri", "mkdir"},
		{"MKDIR", "mkdir"},
		{"mkdir", "mkdir"},
		{"getpdi", "getpid"},
		{"opne", "open"}, // short name: one swap is still one edit
		{"io_uring_setpu", "io_uring_setup"},
		{"clone4", "clone"}, // ties (clone, clone3) go to the lexical first
		{"keyctrl", "keyctl"},
		{"pesonality", "personality"},
		{"xyzzy", ""},
		{"zz", ""},
		{"", ""},
		{"mkdirrrr", ""}, // three edits
		{"opxx", ""},     // short name: two edits are too many
	}
	for _, tt := range tests {
		if got := Suggest(tt.in); got != tt.want {
			t.Errorf("Suggest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestGeneratedUpToDate re-runs the generator and compares its output with
// the committed zsyscalls.go, so a stale table (x/sys bumped, generator
// edited) fails the build. GOPROXY=off proves the generator needs only the
// module cache.
func TestGeneratedUpToDate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "zsyscalls.go")
	cmd := exec.Command("go", "run", "../../hack/gensyscalls", "-o", out)
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("running the generator: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("zsyscalls.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("zsyscalls.go is stale: run `go generate ./internal/syscalls`")
	}
}
