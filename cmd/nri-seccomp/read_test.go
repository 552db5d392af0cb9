package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// A profile with one mistake on line 3, Go's decoder would read silently.
const dupKeyProfile = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"

// Every command that takes a profile reads "-" as standard input, through
// the one reader: the same mistake, the same message.
func TestProfileFromStdin(t *testing.T) {
	const want = `defaultAction: duplicate key "defaultAction" (first at line 2)`
	dir := t.TempDir()
	policy := writeFile(t, dir, "policy.yaml", goodPolicy)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"profile", "show", "-"}, exitFail},
		{[]string{"profile", "lint", "-"}, exitFail},
		{[]string{"profile", "convert", "-"}, exitFail},
		{[]string{"profile", "diff", "hardened", "-"}, diffError},
		{[]string{"explain", "--policy", policy, "--profile", "-"}, exitFail},
	} {
		testutil.Stdin(t, dupKeyProfile)
		code, out, errOut := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, "standard input:3: ") || !strings.Contains(out+errOut, want) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", tc.args, code, out+errOut, tc.code, want)
		}
	}
	testutil.Stdin(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`)
	if code, out, errOut := cli(t, "profile", "convert", "-", "--to", "docker"); code != exitOK || !strings.Contains(out, `"read"`) {
		t.Errorf("convert -: exit %d\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{{"profile", "diff", "-", "-"}, {"explain", "--policy", "-", "--profile", "-"}} {
		if code, _, errOut := cli(t, args...); code == exitOK || !strings.Contains(errOut, "standard input (-) can be only one") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	if code, _, errOut := cli(t, "run", "--policy", "-"); code != exitUsage || !strings.Contains(errOut, "rereads its policy") {
		t.Errorf("run --policy -: exit %d, %q", code, errOut)
	}
}

func TestCheckPolicyFromStdin(t *testing.T) {
	testutil.Stdin(t, goodPolicy)
	if code, out, errOut := cli(t, "check", "--policy", "-"); code != exitOK || !strings.HasPrefix(out, "policy OK: 3 rules") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	testutil.Stdin(t, "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- {name: a, action: exempt, bogus: 1}\n")
	if code, _, errOut := cli(t, "check", "--policy", "-"); code != exitFail || !strings.Contains(errOut, `standard input:4:`) {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}

// /dev/stdin is read once: it works when standard input is a file, and is
// refused with a hint at "-" when it is a pipe (which cannot be checked for
// size without reading it).
func TestDevStdin(t *testing.T) {
	saved, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Dup2(saved, 0); unix.Close(saved) })
	setFD0 := func(f *os.File) {
		if err := unix.Dup2(int(f.Fd()), 0); err != nil {
			t.Fatal(err)
		}
	}

	file := writeFile(t, t.TempDir(), "p.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	setFD0(f)
	if code, out, errOut := cli(t, "profile", "show", "/dev/stdin"); code != exitOK || !strings.Contains(out, "ptrace") {
		t.Errorf("show /dev/stdin from a file: exit %d\n%s%s", code, out, errOut)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	setFD0(r)
	code, _, errOut := cli(t, "profile", "lint", "/dev/stdin")
	if want := `/dev/stdin: not a regular file: it is a named pipe (FIFO); use "-" to read standard input`; code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("lint /dev/stdin from a pipe: exit %d, %q; want %q", code, errOut, want)
	}
}

// Paths that are not regular files end at once in a clear error: no hang on
// a FIFO, no out-of-memory on /dev/zero.
func TestProfileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "p.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := writeFile(t, dir, "big.json", `{"defaultAction": "SCMP_ACT_ALLOW"}`+strings.Repeat(" ", 4<<20))
	for _, tc := range []struct {
		path, want string
	}{
		{fifo, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"/dev/zero", "/dev/zero: not a regular file: it is a character device"},
		{dir, dir + ": not a regular file: it is a directory"},
		{big, big + ": file too large: larger than the 4 MiB limit"},
	} {
		for _, args := range [][]string{
			{"profile", "show", tc.path}, {"profile", "lint", tc.path}, {"profile", "convert", tc.path},
			{"profile", "diff", "hardened", tc.path}, {"explain", "--profile", tc.path},
			{"check", "--policy", tc.path},
		} {
			if args[0] == "check" && tc.path == dir {
				continue // a directory of policy files is a policy
			}
			// A command that blocked would hang until go test's timeout,
			// which fails with every goroutine's stack.
			code, out, errOut := cli(t, args...)
			if code == 0 || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("%v: exit %d, %q; want %q", args, code, out+errOut, tc.want)
			}
		}
	}
}

// lint and check read a profile file the same way: each input below is
// refused by both, with the profile's line.
func TestLintAndCheckAgree(t *testing.T) {
	const policy = "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nprofiles:\n  p: {file: p.json}\nrules:\n- {name: a, match: {}, action: tighten, profile: p}\n"
	for _, tc := range []struct {
		name, profile, want string
	}{
		{"empty names", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n\"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}", "line 2: is empty"},
		{"duplicate key", dupKeyProfile, "line 3: duplicate key"},
		{"case-variant key", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"DefaultAction\": \"SCMP_ACT_ALLOW\"}", `line 2: unknown key "DefaultAction"`},
		{"trailing data", "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}\n{}", "line 2: trailing data"},
		{"errnoRet 0", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n\"syscalls\": [{\"names\": [\"setuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0}]}", "line 2: 0 makes the refused call appear to succeed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pf := writeFile(t, dir, "p.json", tc.profile)
			pol := writeFile(t, dir, "policy.yaml", policy)
			code, _, errOut := cli(t, "check", "--policy", pol)
			if code != exitFail || !strings.Contains(errOut, tc.want) {
				t.Errorf("check: exit %d\n%s", code, errOut)
			}
			code, out, _ := cli(t, "profile", "lint", pf)
			if code != exitFail || !strings.Contains(out, ": error: ") {
				t.Errorf("lint: exit %d\n%s", code, out)
			}
		})
	}
}
