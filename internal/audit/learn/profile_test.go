package learn

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
)

func TestBuildProfile(t *testing.T) {
	rep := buildReport(t, time.Time{}, readDecisions(t), "kmsg.txt", "auditd-enriched.log", "events.jsonl")

	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Containers, ",") != "shop/web-1/app,shop/web-1/side" {
		t.Fatalf("containers %v", res.Containers)
	}
	// mkdir and getpid were logged; keyctl was refused; #999 is no name.
	if strings.Join(res.Seen, ",") != "getpid,mkdir" {
		t.Fatalf("seen %v", res.Seen)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "app: keyctl was refused (SCMP_ACT_ERRNO, 1 times)") || !strings.Contains(notes, "SCMP_ARCH_X86_64#999 is not a syscall name") {
		t.Fatalf("notes:\n%s", notes)
	}
	p := res.Profile
	if p.DefaultAction != specs.ActErrno || len(p.Syscalls) != 2 || p.Syscalls[0].Action != specs.ActAllow {
		t.Fatalf("profile %+v", p)
	}
	// clone3 was not seen: refused with ENOSYS, so that libc falls back to
	// clone (with EPERM, glibc's pthread_create and fork fail).
	if c := p.Syscalls[1]; strings.Join(c.Names, ",") != "clone3" || c.Action != specs.ActErrno || c.ErrnoRet == nil || *c.ErrnoRet != uint(unix.ENOSYS) {
		t.Fatalf("clone3 rule %+v", c)
	}
	if !slices.Contains(res.Notes, clone3Note) {
		t.Fatalf("no note on clone3:\n%s", strings.Join(res.Notes, "\n"))
	}
	names := p.Syscalls[0].Names
	if !slices.IsSorted(names) || !slices.Contains(names, "mkdir") || !slices.Contains(names, "execve") || slices.Contains(names, "keyctl") {
		t.Fatalf("allowed %v", names)
	}
	if len(names) != len(res.Seen)+len(res.Base) || slices.Contains(res.Base, "getpid") {
		t.Fatalf("seen %d + base %d != %d names; base %v", len(res.Seen), len(res.Base), len(names), res.Base)
	}
	if err := profile.Validate(p); err != nil {
		t.Fatalf("recorded profile does not validate: %v", err)
	}

	res, err = BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", Container: "app", IncludeRefused: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Seen, ",") != "getpid,keyctl,mkdir" || strings.Join(res.Containers, ",") != "shop/web-1/app" {
		t.Fatalf("with refused: seen %v containers %v", res.Seen, res.Containers)
	}
}

func TestBuildProfileErrors(t *testing.T) {
	rep := buildReport(t, time.Time{}, nil, "events.jsonl")
	for _, tc := range []struct {
		o    ProfileOptions
		want string
	}{
		{ProfileOptions{Namespace: "shop", Pod: "web-9"}, "shop/web-9 (513 records in the input; attributed to: shop/old/app, shop/web-1/app, shop/web-1/side)"},
		{ProfileOptions{Namespace: "shop", Pod: "web-1", Container: "db"}, "shop/web-1 container db"},
	} {
		_, err := BuildProfile(rep, tc.o)
		if !errors.Is(err, ErrNoRecords) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want ErrNoRecords with %q", tc.o, err, tc.want)
		}
	}
	if _, err := BuildProfile(audit.Report{}, ProfileOptions{Namespace: "a", Pod: "b"}); err == nil || !strings.Contains(err.Error(), "attributed to: no container") {
		t.Errorf("empty report: %v", err)
	}
}

// lintClean fails the test on any lint warning or error of p.
func lintClean(t *testing.T, p *specs.LinuxSeccomp, native specs.Arch) {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	fs := profiletool.Lint(data, profiletool.LintOptions{Native: native})
	if profiletool.HasProblems(fs) {
		var lines []string
		for _, f := range fs {
			lines = append(lines, f.String())
		}
		t.Fatalf("recorded profile fails profile lint:\n%s", strings.Join(lines, "\n"))
	}
}

func TestRecordedProfilePassesLint(t *testing.T) {
	rep := buildReport(t, time.Time{}, readDecisions(t), "kmsg.txt", "auditd-enriched.log", "events.jsonl")
	for _, o := range []ProfileOptions{
		{Namespace: "shop", Pod: "web-1"},
		{Namespace: "shop", Pod: "web-2", IncludeRefused: true},
		{Namespace: "shop", Pod: "web-1", IncludeUnattributed: true},
	} {
		res, err := BuildProfile(rep, o)
		if err != nil {
			t.Fatal(err)
		}
		lintClean(t, res.Profile, specs.ArchX86_64)
	}
	// aarch64: the base set's names that aarch64 lacks are left out.
	rep = reportOf(t, event("SCMP_ARCH_AARCH64", "mkdirat", "SCMP_ACT_LOG", "pid"))
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Profile.Architectures, []specs.Arch{specs.ArchAARCH64, specs.ArchARM}) || slices.Contains(res.Base, "arch_prctl") {
		t.Fatalf("aarch64 profile: %v, base %v", res.Profile.Architectures, res.Base)
	}
	lintClean(t, res.Profile, specs.ArchAARCH64)
}

// event is one daemon event line for shop/web-1/app.
func event(arch, syscall, action, attribution string) string {
	return fmt.Sprintf(`{"kind":"record","time":"2026-11-26T21:00:00Z","count":1,"namespace":"shop","pod":"web-1","container":"app","container_id":"c1","attribution":%q,"exe":"/app","arch":%q,"syscall":%q,"action":%q,"refused":false}`,
		attribution, arch, syscall, action)
}

func reportOf(t *testing.T, lines ...string) audit.Report {
	t.Helper()
	b := audit.NewReportBuilder(time.Time{}, nil)
	if err := b.Read("events.jsonl", strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return b.Report()
}

// What the kernel did decides, not what an event says of itself; an event
// no container was matched to counts only when asked for.
func TestBuildProfileTrustsOnlyTheKernel(t *testing.T) {
	rep := reportOf(t,
		event("SCMP_ARCH_X86_64", "mkdir", "SCMP_ACT_LOG", "pid"),
		event("SCMP_ARCH_X86_64", "bpf", "SCMP_ACT_KILL_PROCESS", "pid"), // "refused":false
		event("SCMP_ARCH_X86_64", "ptrace", "SCMP_ACT_LOG", ""),          // no attribution
		event("SCMP_ARCH_X86_64", "keyctl", "SCMP_ACT_LOG", "unknown"),
	)
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Seen, ",") != "mkdir" || slices.Contains(res.Profile.Syscalls[0].Names, "bpf") || slices.Contains(res.Profile.Syscalls[0].Names, "ptrace") {
		t.Fatalf("seen %v, allowed %v", res.Seen, res.Profile.Syscalls[0].Names)
	}
	if !slices.Contains(res.Notes, "app: bpf was refused (SCMP_ACT_KILL_PROCESS, 1 times); not allowed (--include-refused to allow it)") {
		t.Fatalf("notes: %q", res.Notes)
	}
	res, err = BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", IncludeUnattributed: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Seen, ",") != "keyctl,mkdir,ptrace" || strings.Join(res.Containers, ",") != "shop/web-1/app,unattributed: /app" {
		t.Fatalf("with unattributed: seen %v from %v", res.Seen, res.Containers)
	}
	// Only unattributed records, and asked for: a profile all the same.
	rep = reportOf(t, event("SCMP_ARCH_X86_64", "ptrace", "SCMP_ACT_LOG", ""))
	if _, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"}); !errors.Is(err, ErrNoRecords) {
		t.Fatalf("unattributed only, not asked: %v", err)
	}
	if res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", IncludeUnattributed: true}); err != nil || strings.Join(res.Seen, ",") != "ptrace" {
		t.Fatalf("unattributed only, asked: %v %v", res.Seen, err)
	}
}

// A clone3 the workload was seen making (a recording under a profile that
// let it through) is allowed like any other call, with no ENOSYS rule.
func TestBuildProfileClone3Seen(t *testing.T) {
	rep := reportOf(t, event("SCMP_ARCH_X86_64", "clone3", "SCMP_ACT_LOG", "pid"))
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Profile.Syscalls) != 1 || !slices.Contains(res.Profile.Syscalls[0].Names, "clone3") || slices.Contains(res.Notes, clone3Note) {
		t.Fatalf("profile %+v notes %q", res.Profile.Syscalls, res.Notes)
	}
}

// A profile is for one architecture family; within it, what the OCI format
// cannot keep apart is named.
func TestBuildProfileArchitectures(t *testing.T) {
	rep := reportOf(t,
		event("SCMP_ARCH_X86_64", "mkdir", "SCMP_ACT_LOG", "pid"),
		event("SCMP_ARCH_X86", "waitpid", "SCMP_ACT_LOG", "pid"),
		event("SCMP_ARCH_X86", "getpid", "SCMP_ACT_LOG", "pid"),
		event("SCMP_ARCH_AARCH64", "mkdirat", "SCMP_ACT_LOG", "pid"),
		event("", "arch-1234#5", "SCMP_ACT_LOG", "pid"),
	)
	o := ProfileOptions{Namespace: "shop", Pod: "web-1"}
	_, err := BuildProfile(rep, o)
	if !errors.Is(err, ErrArchFamilies) || !strings.Contains(err.Error(), "(SCMP_ARCH_AARCH64: 1 syscalls, SCMP_ARCH_X86_64: 3 syscalls)") {
		t.Fatalf("two families: %v", err)
	}
	o.Arch = specs.ArchX86_64
	res, err := BuildProfile(rep, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Seen, ",") != "getpid,mkdir,waitpid" || !slices.Equal(res.Profile.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
		t.Fatalf("x86_64: seen %v arches %v", res.Seen, res.Profile.Architectures)
	}
	if got := res.SeenByArch; strings.Join(got["SCMP_ARCH_X86"], ",") != "getpid,waitpid" || strings.Join(got["SCMP_ARCH_X86_64"], ",") != "mkdir" {
		t.Fatalf("by arch: %v", got)
	}
	for _, want := range []string{
		"app: mkdirat was seen through SCMP_ARCH_AARCH64, not an ABI of SCMP_ARCH_X86_64; left out",
		"app: arch-1234#5 was seen through an unknown architecture, not an ABI of SCMP_ARCH_X86_64; left out",
		// waitpid has no x86_64 or x32 number: only getpid crosses over.
		// (Not socketcall: a recording that saw it allows every socket
		// operation through it on x86, which profile lint rightly flags.)
		"SCMP_ARCH_X86_64: allows getpid, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)",
		"SCMP_ARCH_X86: allows mkdir, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)",
		"SCMP_ARCH_X32: allows getpid mkdir, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)",
	} {
		if !slices.Contains(res.Notes, want) {
			t.Errorf("notes lack %q:\n%s", want, strings.Join(res.Notes, "\n"))
		}
	}
	lintClean(t, res.Profile, specs.ArchX86_64)

	o.Arch = specs.ArchAARCH64
	if res, err := BuildProfile(rep, o); err != nil || strings.Join(res.Seen, ",") != "mkdirat" || slices.Contains(res.Profile.Syscalls[0].Names, "mkdir") {
		t.Fatalf("aarch64: %v %v", res.Seen, err)
	}
	o.Arch = specs.ArchX86
	if _, err := BuildProfile(rep, o); err == nil || err.Error() != "architecture SCMP_ARCH_X86: name its family by the native architecture, SCMP_ARCH_X86_64" {
		t.Fatalf("x86 as a family: %v", err)
	}
	o.Arch = specs.ArchS390X
	if _, err := BuildProfile(rep, o); err == nil || !strings.HasPrefix(err.Error(), "architecture SCMP_ARCH_S390X: no syscall table for it in this build") {
		t.Fatalf("s390x: %v", err)
	}
}
