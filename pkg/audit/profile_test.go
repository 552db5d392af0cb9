package audit

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/profile"
	"github.com/nri-seccomp/nri-seccomp/pkg/syscalls"
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
	// What FACTS.md says runc 1.1.5 calls after the filter.
	for _, n := range []string{"execve", "getcwd", "fstatfs", "close", "capset", "setgroups", "write"} {
		if !slices.Contains(RuntimeBase, n) {
			t.Errorf("RuntimeBase lacks %s", n)
		}
	}
}

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
	if p.DefaultAction != specs.ActErrno || len(p.Syscalls) != 1 || p.Syscalls[0].Action != specs.ActAllow {
		t.Fatalf("profile %+v", p)
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
		{ProfileOptions{Pod: "web-1"}, "a namespace and a pod are required"},
		{ProfileOptions{Namespace: "shop"}, "a namespace and a pod are required"},
		{ProfileOptions{Namespace: "shop", Pod: "web-9"}, "shop/web-9 (513 records in the input; attributed to: shop/old/app, shop/web-1/app, shop/web-1/side)"},
		{ProfileOptions{Namespace: "shop", Pod: "web-1", Container: "db"}, "shop/web-1 container db"},
	} {
		_, err := BuildProfile(rep, tc.o)
		if !errors.Is(err, ErrNoRecords) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want ErrNoRecords with %q", tc.o, err, tc.want)
		}
	}
	if _, err := BuildProfile(Report{}, ProfileOptions{Namespace: "a", Pod: "b"}); err == nil || !strings.Contains(err.Error(), "attributed to: no container") {
		t.Errorf("empty report: %v", err)
	}
}
