package policies

import (
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

func model(t *testing.T, name string) *profile.Profile {
	t.Helper()
	b, ok := Profile(name)
	if !ok {
		t.Fatalf("Profile(%q) missing", name)
	}
	s, err := profile.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(p.Inexact) > 0 {
		t.Fatalf("%s is not read exactly: %v", name, p.Inexact)
	}
	return p
}

// TestRuntimeDefaultCanonical: the embedded runtime-default (containerd's
// own output) reads exactly, and its canonical form behaves identically, so
// injecting it or tightening with it never changes what containerd meant.
func TestRuntimeDefaultCanonical(t *testing.T) {
	for _, name := range []string{"runtime-default", "hardened", "minimal"} {
		b, _ := Profile(name)
		s, err := profile.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		canon, notes, err := profile.Canonical(s, specs.ArchX86_64)
		if err != nil || len(notes) > 0 {
			t.Fatalf("%s: canonical form: %v %v", name, notes, err)
		}
		again, err := profile.FromSpec(canon, specs.ArchX86_64)
		if err != nil {
			t.Fatal(err)
		}
		if !profile.Equal(model(t, name), again) {
			t.Errorf("%s: canonical form behaves differently", name)
		}
		if name != "runtime-default" && profile.Digest(canon) != profile.Digest(s) {
			t.Errorf("%s is not written in canonical form", name)
		}
	}
}

// never reports whether p refuses name for every argument on x86_64.
func never(p *profile.Profile, name string) bool {
	sc, ok := p.Syscalls[name]
	if !ok {
		return p.Default.Level.Denies()
	}
	if !sc.Fallback.Level.Denies() {
		return false
	}
	for _, r := range sc.Rules {
		if !r.Verdict.Level.Denies() {
			return false
		}
	}
	return true
}

// looserCalls lists calls (sampled where the rules change) that narrow allows
// and wide does not; the generator's own check is the exact one, this is an
// independent second look.
func looserCalls(wide, narrow *profile.Profile) []string {
	var out []string
	names := map[string]bool{}
	for n := range wide.Syscalls {
		names[n] = true
	}
	for n := range narrow.Syscalls {
		names[n] = true
	}
	for n := range names {
		var vals []uint64
		for _, p := range []*profile.Profile{wide, narrow} {
			if sc, ok := p.Syscalls[n]; ok {
				for _, r := range sc.Rules {
					for _, c := range r.Conds {
						vals = append(vals, c.Value, c.Value+1, c.Value-1, c.ValueTwo)
					}
				}
			}
		}
		vals = append(vals, 0, 1, 1<<31)
		for _, arch := range []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32} {
			for _, v := range vals {
				a, b := wide.Eval(arch, n, [6]uint64{v}), narrow.Eval(arch, n, [6]uint64{v})
				if b.Level < a.Level {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

func TestHardened(t *testing.T) {
	rd, h := model(t, "runtime-default"), model(t, "hardened")
	if got := looserCalls(rd, h); len(got) > 0 {
		t.Fatalf("hardened allows what runtime-default refuses: %v", got)
	}
	for _, n := range []string{
		"ptrace", "process_vm_readv", "process_vm_writev", "modify_ldt", "vmsplice", "name_to_handle_at",
		"keyctl", "add_key", "request_key", "userfaultfd", "perf_event_open", "bpf", "unshare", "setns",
		"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
		"io_uring_setup", "mount", "open_by_handle_at", "fsopen", "pidfd_getfd",
	} {
		if !never(h, n) {
			t.Errorf("hardened allows %s", n)
		}
	}
	for _, n := range []string{"execve", "getcwd", "fstatfs", "close", "read", "chroot", "seccomp"} {
		if v := h.Eval(specs.ArchX86_64, n, [6]uint64{}); v != profile.Allow {
			t.Errorf("hardened: %s = %s; want allowed", n, v)
		}
	}
	for _, tc := range []struct {
		name string
		arg  uint64
		want bool
	}{
		{"personality", 0, true}, {"personality", 8, true}, {"personality", 0xffffffff, true},
		{"personality", 0x20000, false}, {"personality", 0x20008, false},
		{"socket", unix.AF_UNIX, true}, {"socket", unix.AF_INET, true}, {"socket", unix.AF_INET6, true},
		{"socket", unix.AF_NETLINK, true}, {"socket", unix.AF_PACKET, false}, {"socket", unix.AF_RDS, false},
		{"socket", unix.AF_TIPC, false}, {"socket", unix.AF_ALG, false},
		{"clone", unix.CLONE_VM | unix.CLONE_THREAD, true}, {"clone", unix.CLONE_NEWUSER, false},
	} {
		v := h.Eval(specs.ArchX86_64, tc.name, [6]uint64{tc.arg})
		if got := v == profile.Allow; got != tc.want {
			t.Errorf("hardened: %s(%#x) = %s; want allowed=%v", tc.name, tc.arg, v, tc.want)
		}
		if tc.want && rd.Eval(specs.ArchX86_64, tc.name, [6]uint64{tc.arg}) != profile.Allow {
			t.Errorf("test case %s(%#x) is not allowed by runtime-default either", tc.name, tc.arg)
		}
	}
	if v := h.Eval(specs.ArchX86_64, "clone3", [6]uint64{}); v.Ret != uint(unix.ENOSYS) {
		t.Errorf("clone3 = %s; want ENOSYS as in runtime-default", v)
	}
}

// TestHardenedReasons: every call hardened takes away from runtime-default
// has a line, a reason and a reference in README.md.
func TestHardenedReasons(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 {
			continue
		}
		for _, f := range strings.Fields(strings.NewReplacer("`", " ", ",", " ").Replace(cells[1])) {
			name, _, _ := strings.Cut(f, "(")
			if strings.TrimSpace(cells[2]) == "" || strings.TrimSpace(cells[3]) == "" {
				t.Errorf("README row for %s lacks a reason or a reference", name)
			}
			rows[name] = line
		}
	}
	rd, h := model(t, "runtime-default"), model(t, "hardened")
	for name := range rd.Syscalls {
		if never(rd, name) {
			continue
		}
		hs, rs := h.Syscalls[name], rd.Syscalls[name]
		if hs != nil && slices.Equal(fmtRules(hs), fmtRules(rs)) && hs.Fallback == rs.Fallback {
			continue
		}
		if _, ok := rows[name]; !ok {
			t.Errorf("hardened changes %s but README.md has no row for it", name)
		}
	}
	if len(rows) < 10 {
		t.Fatalf("README.md tables not found (%d rows)", len(rows))
	}
}

func fmtRules(sc *profile.Syscall) []string {
	var out []string
	for _, r := range sc.Rules {
		var cs []string
		for _, c := range r.Conds {
			cs = append(cs, c.String())
		}
		out = append(out, strings.Join(cs, "&&")+"="+r.Verdict.String())
	}
	return out
}

func TestMinimal(t *testing.T) {
	h, m := model(t, "hardened"), model(t, "minimal")
	if got := looserCalls(h, m); len(got) > 0 {
		t.Fatalf("minimal allows what hardened refuses: %v", got)
	}
	if m.Default != profile.EPERM {
		t.Errorf("default = %s; want EPERM", m.Default)
	}
	// runc's own needs after the filter is loaded (FACTS.md), fchown for
	// a non-root user's stdio (test/workloads found it refused).
	for _, n := range []string{"execve", "getcwd", "fstatfs", "close", "openat", "write", "capset", "setuid", "futex", "fchown"} {
		if v := m.Eval(specs.ArchX86_64, n, [6]uint64{}); v != profile.Allow {
			t.Errorf("minimal: %s = %s; want allowed", n, v)
		}
	}
	for _, n := range []string{"mkdir", "mkdirat", "unlinkat", "ptrace", "keyctl", "fork", "vfork", "mount", "chroot", "kill"} {
		if !never(m, n) {
			t.Errorf("minimal allows %s", n)
		}
	}
	if len(m.Syscalls) > 120 {
		t.Errorf("minimal names %d syscalls; it is meant to be short", len(m.Syscalls))
	}
}
