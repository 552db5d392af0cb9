// Command gensyscalls writes internal/syscalls/zsyscalls.go: the syscall
// name<->number tables that nri-seccomp uses to validate profile names and to
// decode audit records.
//
// The numbers are not typed in by hand: they are read from
// golang.org/x/sys/unix's zsysnum_linux_<goarch>.go files, which x/sys itself
// generates from the kernel's uapi headers. The x/sys version is the one the
// main go.mod pins, located with `go list -m`, so the module cache is enough
// and no network is needed. Usage (from internal/syscalls, see its go:generate
// line):
//
//	go run ../../hack/gensyscalls -o zsyscalls.go
//
// What x/sys does not carry is added here, explicitly, with its source:
//   - the x32 ABI (x/sys has no x32 file): x86_64 numbers with bit 30 set,
//     minus the x86_64-only entries, plus the x32 compat entries 512-547
//     (arch/x86/entry/syscalls/syscall_64.tbl);
//   - ARM's private syscalls (__ARM_NR_*), which live outside the
//     __NR_ space that x/sys reads (arch/arm/include/uapi/asm/unistd.h);
//   - names libseccomp knows only for an architecture x/sys does not cover
//     (m68k), so that a profile written for libseccomp 2.6 still validates.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// table is one architecture's generated table.
type table struct {
	// token is the OCI / libseccomp architecture name.
	token string
	// ident is the Go identifier of the generated map.
	ident string
	// goarch names the x/sys file the numbers come from.
	goarch string
	// audit is the AUDIT_ARCH_* value the kernel reports for this ABI, 0 when
	// the ABI shares another's (x32 reports AUDIT_ARCH_X86_64).
	audit uint32
}

// tables are the architectures nri-seccomp resolves numbers for: the ones
// containerd's RuntimeDefault lists on amd64 and arm64 hosts.
var tables = []table{
	{token: "SCMP_ARCH_AARCH64", ident: "numbersAARCH64", goarch: "arm64", audit: 0xc00000b7},
	{token: "SCMP_ARCH_ARM", ident: "numbersARM", goarch: "arm", audit: 0x40000028},
	{token: "SCMP_ARCH_X32", ident: "numbersX32", goarch: "amd64"},
	{token: "SCMP_ARCH_X86", ident: "numbersX86", goarch: "386", audit: 0x40000003},
	{token: "SCMP_ARCH_X86_64", ident: "numbersX86_64", goarch: "amd64", audit: 0xc000003e},
}

// nameOnlyGoarches are the other x/sys files whose names count as known.
// They are the architectures libseccomp supports; sparc64 is left out on
// purpose because libseccomp cannot build a filter for it, so its private
// names (kern_features, utrap_install, ...) would be typos everywhere else.
var nameOnlyGoarches = []string{
	"loong64", "mips", "mips64", "mips64le", "mipsle",
	"ppc", "ppc64", "ppc64le", "riscv64", "s390x",
}

// notSyscalls are constants in x/sys's zsysnum files that are not syscalls:
// arm's SYS_SYSCALL_MASK (a mask, value 0, colliding with restart_syscall)
// and the generic headers' SYS_ARCH_SPECIFIC_SYSCALL (the base of an
// architecture's private range). MIPS placeholders match placeholderRE.
var notSyscalls = map[string]bool{
	"syscall_mask":          true,
	"arch_specific_syscall": true,
}

var placeholderRE = regexp.MustCompile(`^(reserved|unused)[0-9]+$`)

// x32Bit is __X32_SYSCALL_BIT: x32 tasks enter the x86_64 syscall table with
// this bit set in the number (arch/x86/include/uapi/asm/unistd.h).
const x32Bit = 0x40000000

// x86_64Only are the entries of syscall_64.tbl with ABI "64": x32 tasks
// cannot call them under their x86_64 number. Most have an x32 compat
// replacement in x32Compat; the rest are simply absent on x32. When written,
// the result matched the kernel 6.1 uapi header asm/unistd_x32.h and
// libseccomp 2.5.4 entry for entry; libseccomp 2.6's table differs only in
// giving x32 map_shadow_stack (453), which syscall_64.tbl marks "64".
var x86_64Only = []string{
	"_sysctl", "create_module", "epoll_ctl_old", "epoll_wait_old",
	"get_kernel_syms", "get_thread_area", "map_shadow_stack", "nfsservctl",
	"query_module", "set_thread_area", "uselib", "vserver",
}

// x32Compat are the "x32" entries of syscall_64.tbl (512-547): the syscalls
// whose arguments differ in layout for x32, given numbers of their own. They
// replace the same names' x86_64 numbers, which are "64"-only.
var x32Compat = []string{
	512: "rt_sigaction", 513: "rt_sigreturn", 514: "ioctl", 515: "readv",
	516: "writev", 517: "recvfrom", 518: "sendmsg", 519: "recvmsg",
	520: "execve", 521: "ptrace", 522: "rt_sigpending", 523: "rt_sigtimedwait",
	524: "rt_sigqueueinfo", 525: "sigaltstack", 526: "timer_create", 527: "mq_notify",
	528: "kexec_load", 529: "waitid", 530: "set_robust_list", 531: "get_robust_list",
	532: "vmsplice", 533: "move_pages", 534: "preadv", 535: "pwritev",
	536: "rt_tgsigqueueinfo", 537: "recvmmsg", 538: "sendmmsg", 539: "process_vm_readv",
	540: "process_vm_writev", 541: "setsockopt", 542: "getsockopt", 543: "io_setup",
	544: "io_submit", 545: "execveat", 546: "preadv2", 547: "pwritev2",
}

// armPrivate are ARM's private syscalls, __ARM_NR_BASE (0x0f0000 for EABI)
// plus an offset (arch/arm/include/uapi/asm/unistd.h). containerd's and
// moby's RuntimeDefault allow breakpoint, cacheflush and set_tls on arm.
var armPrivate = map[string]int{
	"breakpoint": 0x0f0001,
	"cacheflush": 0x0f0002,
	"usr26":      0x0f0003,
	"usr32":      0x0f0004,
	"set_tls":    0x0f0005,
	"get_tls":    0x0f0006,
}

// extraKnown are names libseccomp 2.6 knows (src/syscalls.csv) that no x/sys
// file above lists: m68k's private syscalls. Known, but with no number on
// any architecture in tables.
var extraKnown = []string{"atomic_barrier", "atomic_cmpxchg_32", "getpagesize"}

func main() {
	out := flag.String("o", "zsyscalls.go", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gensyscalls:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir, version, err := xsysModule()
	if err != nil {
		return err
	}
	src, err := generate(filepath.Join(dir, "unix"), version)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// xsysModule asks the go command where the golang.org/x/sys version required
// by the current module lives in the module cache.
func xsysModule() (dir, version string, err error) {
	cmd := exec.Command("go", "list", "-m", "-json", "golang.org/x/sys")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m golang.org/x/sys: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal(b, &m); err != nil {
		return "", "", fmt.Errorf("decoding go list output: %w", err)
	}
	if m.Dir == "" {
		return "", "", errors.New("golang.org/x/sys " + m.Version + " is not in the module cache; run `go mod download golang.org/x/sys`")
	}
	return m.Dir, m.Version, nil
}

// generate renders zsyscalls.go from the x/sys unix directory.
func generate(unixDir, version string) ([]byte, error) {
	byGoarch := map[string]map[string]int{}
	read := func(goarch string) (map[string]int, error) {
		if m, ok := byGoarch[goarch]; ok {
			return m, nil
		}
		m, err := parseSysnum(filepath.Join(unixDir, "zsysnum_linux_"+goarch+".go"))
		if err != nil {
			return nil, err
		}
		byGoarch[goarch] = m
		return m, nil
	}

	known := map[string]bool{}
	for _, n := range extraKnown {
		known[n] = true
	}
	numbers := map[string]map[string]int{}
	for _, t := range tables {
		m, err := read(t.goarch)
		if err != nil {
			return nil, err
		}
		m = maps.Clone(m)
		switch t.token {
		case "SCMP_ARCH_X32":
			if m, err = x32(m); err != nil {
				return nil, err
			}
		case "SCMP_ARCH_ARM":
			for n, nr := range armPrivate {
				if _, dup := m[n]; dup {
					return nil, fmt.Errorf("arm: x/sys now lists %q itself; drop it from armPrivate", n)
				}
				m[n] = nr
			}
		}
		if err := checkUnique(t.token, m); err != nil {
			return nil, err
		}
		numbers[t.token] = m
		for n := range m {
			known[n] = true
		}
	}
	for _, g := range nameOnlyGoarches {
		m, err := read(g)
		if err != nil {
			return nil, err
		}
		for n := range m {
			known[n] = true
		}
	}
	return render(version, known, numbers)
}

// parseSysnum reads the SYS_* constants of one x/sys zsysnum file.
func parseSysnum(path string) (map[string]int, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	m := map[string]int{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				sym, ok := strings.CutPrefix(id.Name, "SYS_")
				if !ok {
					continue
				}
				if i >= len(vs.Values) {
					return nil, fmt.Errorf("%s: %s has no value", path, id.Name)
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					return nil, fmt.Errorf("%s: %s is not an integer literal", path, id.Name)
				}
				nr, err := strconv.ParseInt(lit.Value, 0, 32)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, id.Name, err)
				}
				// SYS__LLSEEK -> "_llseek": x/sys upper-cases the kernel's
				// __NR_ suffix, which libseccomp uses as the name.
				name := strings.ToLower(sym)
				if notSyscalls[name] || placeholderRE.MatchString(name) {
					continue
				}
				m[name] = int(nr)
			}
		}
	}
	if len(m) < 250 {
		return nil, fmt.Errorf("%s: only %d syscalls found; has the file format changed?", path, len(m))
	}
	return m, nil
}

// x32 derives the x32 table from the x86_64 one.
func x32(amd64 map[string]int) (map[string]int, error) {
	m := map[string]int{}
	drop := map[string]bool{}
	for _, n := range x86_64Only {
		drop[n] = true
	}
	for nr, n := range x32Compat {
		if n != "" {
			drop[n] = true
			m[n] = nr | x32Bit
		}
	}
	for n := range drop {
		if _, ok := amd64[n]; !ok {
			return nil, fmt.Errorf("x32: %q is not in the x86_64 table; update x86_64Only/x32Compat", n)
		}
	}
	for n, nr := range amd64 {
		if !drop[n] {
			m[n] = nr | x32Bit
		}
	}
	return m, nil
}

// checkUnique rejects two names for one number: Name must be a function.
func checkUnique(arch string, m map[string]int) error {
	seen := map[int]string{}
	for n, nr := range m {
		if other, dup := seen[nr]; dup {
			a, b := min(n, other), max(n, other)
			return fmt.Errorf("%s: %q and %q both have number %d", arch, a, b, nr)
		}
		seen[nr] = n
	}
	return nil
}

func render(version string, known map[string]bool, numbers map[string]map[string]int) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by hack/gensyscalls from golang.org/x/sys %s. DO NOT EDIT.\n\n", version)
	b.WriteString("package syscalls\n\n")

	b.WriteString("// knownNames is every syscall name libseccomp can know on some\n")
	b.WriteString("// architecture, sorted.\n")
	b.WriteString("var knownNames = []string{\n")
	for _, n := range sortedKeys(known) {
		fmt.Fprintf(&b, "%q,\n", n)
	}
	b.WriteString("}\n\n")

	b.WriteString("// archTables maps an OCI architecture token to its syscall numbers.\n")
	b.WriteString("var archTables = []archTable{\n")
	for _, t := range tables {
		fmt.Fprintf(&b, "{token: %q, audit: %#x, numbers: %s},\n", t.token, t.audit, t.ident)
	}
	b.WriteString("}\n")

	for _, t := range tables {
		m := numbers[t.token]
		fmt.Fprintf(&b, "\n// %s holds %s numbers (x/sys zsysnum_linux_%s.go", t.ident, t.token, t.goarch)
		switch t.token {
		case "SCMP_ARCH_X32":
			b.WriteString(", x32 ABI rules applied")
		case "SCMP_ARCH_ARM":
			b.WriteString(" plus ARM private syscalls")
		}
		b.WriteString(").\n")
		fmt.Fprintf(&b, "var %s = map[string]int{\n", t.ident)
		names := sortedKeys(m)
		slices.SortFunc(names, func(x, y string) int { return m[x] - m[y] })
		for _, n := range names {
			if t.token == "SCMP_ARCH_X32" || m[n] >= 0x0f0000 {
				fmt.Fprintf(&b, "%q: %#x,\n", n, m[n])
			} else {
				fmt.Fprintf(&b, "%q: %d,\n", n, m[n])
			}
		}
		b.WriteString("}\n")
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w", err)
	}
	return src, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
