package learn

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/runc"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

func TestFamiliesNames(t *testing.T) {
	for _, f := range Families {
		if (len(f.Members) == 0) == (len(f.Needs) == 0) || (len(f.Needs) == 0) != (len(f.Adds) == 0) || f.Why == "" {
			t.Errorf("family %s: members or needs+adds (one kind), and a reason", f.Name)
		}
		for _, n := range slices.Concat(f.Members, f.Needs, f.Adds) {
			if _, ok := syscalls.Number("SCMP_ARCH_X86_64", n); !ok {
				t.Errorf("family %s: %q is no x86_64 syscall", f.Name, n)
			}
		}
		if !slices.IsSorted(f.Members) || !slices.IsSorted(f.Adds) {
			t.Errorf("family %s: names not sorted", f.Name)
		}
	}
}

func TestFamilyWidening(t *testing.T) {
	x86 := func(n string) bool { _, ok := syscalls.Number("SCMP_ARCH_X86_64", n); return ok }
	aarch64 := func(n string) bool { _, ok := syscalls.Number("SCMP_ARCH_AARCH64", n); return ok }
	for _, tc := range []struct {
		name  string
		seen  []string
		known func(string) bool
		want  []string // Widening.String()s
	}{
		{"nothing seen", nil, x86, nil},
		{"unrelated", []string{"mkdir", "getpid"}, x86, nil},
		{"fdatasync brings fsync", []string{"fdatasync"}, x86,
			[]string{"family sync: fdatasync seen, so fsync allowed too (flush a file to disk (fdatasync skips metadata not needed to read the data back))"}},
		{"whole family seen adds nothing", []string{"fdatasync", "fsync"}, x86, nil},
		{"two of three", []string{"tgkill", "kill"}, x86,
			[]string{"family signal: kill tgkill seen, so tkill allowed too (send a signal to a process or one of its threads (the same permission check))"}},
		{"derived needs all", []string{"read"}, x86, nil},
		{"derived", []string{"read", "write"}, x86,
			[]string{"family copy: read write seen, so copy_file_range sendfile allowed too (copy between descriptors inside the kernel: what read and write do)"}},
		// aarch64 has no unlink, rmdir, rename, dup2, pipe: only unlinkat's
		// and renameat's own families' known names are added.
		{"aarch64 leaves out unknown names", []string{"unlinkat", "renameat"}, aarch64, []string{
			"family rename: renameat seen, so renameat2 allowed too (rename a directory entry, by path or relative to a directory descriptor)"}},
		// Additions do not widen further: dup2 brings dup and dup3, nothing else.
		{"no chaining", []string{"dup2"}, x86,
			[]string{"family dup: dup2 seen, so dup dup3 allowed too (duplicate a file descriptor)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, n := range tc.seen {
				seen[n] = true
			}
			var got []string
			for _, w := range familyWidening(Families, seen, tc.known) {
				got = append(got, w.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// --families adds the siblings of what was seen, lists them, and only when
// asked; the profile stays lint-clean.
func TestBuildProfileFamilies(t *testing.T) {
	rep := reportOf(t,
		event("SCMP_ARCH_X86_64", "fdatasync", "SCMP_ACT_LOG", "pid"),
		event("SCMP_ARCH_X86_64", "wait4", "SCMP_ACT_LOG", "pid"),
	)
	plain, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	fam, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", Families: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plain.Profile.Syscalls[0].Names, "fsync") || plain.Widened != nil {
		t.Fatalf("without --families: %v, widened %v", plain.Profile.Syscalls[0].Names, plain.Widened)
	}
	var added []string
	for _, w := range fam.Widened {
		added = append(added, w.Family+":"+strings.Join(w.Added, ","))
	}
	if got := strings.Join(added, " "); got != "sync:fsync wait:waitid" {
		t.Fatalf("widened %s", got)
	}
	names := fam.Profile.Syscalls[0].Names
	if !slices.Contains(names, "fsync") || !slices.Contains(names, "waitid") || !slices.IsSorted(names) ||
		len(names) != len(plain.Profile.Syscalls[0].Names)+2 {
		t.Fatalf("allowed %v", names)
	}
	// Seen stays what was seen.
	if strings.Join(fam.Seen, ",") != "fdatasync,wait4" {
		t.Fatalf("seen %v", fam.Seen)
	}
	lintClean(t, fam.Profile, specs.ArchX86_64)
}

// --no-new-privs swaps the base set, says so, and the profile fails `profile
// lint`'s runc check loudly for containers without no_new_privs.
func TestBuildProfileNoNewPrivs(t *testing.T) {
	rep := reportOf(t, event("SCMP_ARCH_X86_64", "mkdir", "SCMP_ACT_LOG", "pid"))
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", NoNewPrivs: true})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(runc.RuntimeBaseNoNewPrivs, []string{"mkdir"})
	slices.Sort(want)
	if !slices.Equal(res.Profile.Syscalls[0].Names, want) || !slices.Equal(res.Base, runc.RuntimeBaseNoNewPrivs) {
		t.Fatalf("allowed %v, base %v", res.Profile.Syscalls[0].Names, res.Base)
	}
	if !slices.Contains(res.Notes, NoNewPrivsNote) {
		t.Fatalf("notes %q", res.Notes)
	}
	if slices.Contains(res.Notes, capsetNote) {
		t.Fatalf("capset note without capset: %q", res.Notes)
	}
	// A recording from containers without no_new_privs shows runc's capset.
	withCapset, err := BuildProfile(reportOf(t, event("SCMP_ARCH_X86_64", "capset", "SCMP_ACT_LOG", "pid")), ProfileOptions{Namespace: "shop", Pod: "web-1", NoNewPrivs: true})
	if err != nil || !slices.Contains(withCapset.Notes, capsetNote) {
		t.Fatalf("capset seen: notes %q, %v", withCapset.Notes, err)
	}
	problems, err := runc.StartProblems(res.Profile)
	if err != nil {
		t.Fatal(err)
	}
	var refused []string
	for _, p := range problems {
		refused = append(refused, p.Syscall)
	}
	for _, n := range []string{"capset", "setgroups"} {
		if !slices.Contains(refused, n) {
			t.Errorf("runc check does not flag %s: %v", n, refused)
		}
	}
}

// eventAt is one daemon event line at a time of 2026-11-26, attributed to
// shop/web-1/app unless attribution is "".
func eventAt(clock, syscall, attribution string) string {
	pod := `"namespace":"shop","pod":"web-1","container":"app","container_id":"c1",`
	if attribution == "" {
		pod = ""
	}
	return fmt.Sprintf(`{"kind":"record","time":"2026-11-26T%sZ","count":1,%s"attribution":%q,"exe":"/bin/sh","arch":"SCMP_ARCH_X86_64","syscall":%q,"action":"SCMP_ACT_LOG","refused":false}`,
		clock, pod, attribution, syscall)
}

// Records matched to no container while the workload was recorded are
// counted and named, never dropped silently; those before or after are
// another matter.
func TestBuildProfileCountsUnattributed(t *testing.T) {
	rep := reportOf(t,
		eventAt("21:00:00", "mkdir", "pid"),
		eventAt("21:10:00", "read", "pid"),
		eventAt("21:05:00", "dup2", ""),
		eventAt("21:06:00", "dup2", ""),
		eventAt("21:07:00", "read", ""),
		eventAt("20:00:00", "ptrace", ""),
		eventAt("22:00:00", "bpf", ""),
	)
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Coverage.Unattributed != 3 || !slices.Equal(res.Coverage.UnattributedNotAllowed, []string{"dup2"}) {
		t.Fatalf("unattributed %d %v", res.Coverage.Unattributed, res.Coverage.UnattributedNotAllowed)
	}
	var b strings.Builder
	if err := res.Coverage.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "warning: 3 records made while these runs were recorded matched no container (a process that exited before it was attributed, or another workload's); the profile may miss them; among them, not allowed: dup2 (audit report lists them by executable)\n"
	if !strings.Contains(b.String(), want) {
		t.Fatalf("text:\n%s\nwant line:\n%s", b.String(), want)
	}
	// Used, they are not lost: nothing to warn of.
	res, err = BuildProfile(rep, ProfileOptions{Namespace: "shop", Pod: "web-1", IncludeUnattributed: true})
	if err != nil || res.Coverage.Unattributed != 0 {
		t.Fatalf("with unattributed: %d %v", res.Coverage.Unattributed, err)
	}
}
