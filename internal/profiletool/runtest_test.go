package profiletool

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func denyMkdirat(action specs.LinuxSeccompAction) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat", "mkdir"}, Action: action}},
	}
}

// runUnder runs the test binary's helper under s and returns the report and
// what the helper printed.
func runUnder(t *testing.T, s *specs.LinuxSeccomp, log bool, args ...string) (*TestReport, string) {
	t.Helper()
	var out bytes.Buffer
	t.Setenv("PROFILETOOL_TEST_ROLE", "child")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := RunTest(ctx, s, append([]string{os.Args[0]}, args...), TestOptions{
		Self: []string{os.Args[0]}, Log: log, Native: specs.ArchX86_64, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s\noutput: %s", rep.Format(), out.String())
	return rep, out.String()
}

func hasEvent(rep *TestReport, name, action string) bool {
	for _, e := range rep.Events {
		if e.Syscall == name && e.Action == action {
			return true
		}
	}
	return false
}

func TestRunTestRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "refused")
	rep, out := runUnder(t, denyMkdirat(specs.ActErrno), false, "mkdirat", dir)
	if strings.TrimSpace(out) != "errno EPERM" || rep.ExitCode != 3 {
		t.Fatalf("mkdirat under the profile: output %q, exit %d; want errno EPERM, 3", out, rep.ExitCode)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory was created: %v", err)
	}
	if len(rep.Events) != 1 || !hasEvent(rep, "mkdirat", "SCMP_ACT_ERRNO(EPERM)") || rep.Events[0].Count != 1 {
		t.Fatalf("events %+v; want exactly one mkdirat SCMP_ACT_ERRNO(EPERM)", rep.Events)
	}
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
}

func TestRunTestAllowed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "allowed")
	s := denyMkdirat(specs.ActErrno)
	s.Syscalls[0].Names = []string{"keyctl"}
	rep, out := runUnder(t, s, false, "mkdirat", dir)
	if strings.TrimSpace(out) != "ok" || rep.ExitCode != 0 {
		t.Fatalf("output %q, exit %d; want ok, 0", out, rep.ExitCode)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if len(rep.Events) != 0 || rep.Failed() {
		t.Fatalf("events %+v; want none", rep.Events)
	}
}

func TestRunTestLogMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logged")
	rep, out := runUnder(t, denyMkdirat(specs.ActErrno), true, "mkdirat", dir)
	if strings.TrimSpace(out) != "ok" {
		t.Fatalf("log mode: output %q; want the call to succeed", out)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	// Log mode reports the verdict the profile would have given.
	if !hasEvent(rep, "mkdirat", "SCMP_ACT_ERRNO(EPERM)") {
		t.Fatalf("report lacks mkdirat: %+v", rep.Events)
	}
}

func TestRunTestKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "killed")
	rep, _ := runUnder(t, denyMkdirat(specs.ActKillProcess), false, "mkdirat", dir)
	if !strings.HasPrefix(rep.Signal, "bad system call") {
		t.Fatalf("signal %q; want bad system call", rep.Signal)
	}
	if !hasEvent(rep, "mkdirat", "SCMP_ACT_KILL_PROCESS") {
		t.Fatalf("report lacks the kill: %+v", rep.Events)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the killed call ran: %v", err)
	}
}

// TestRunTestChildProcesses: a call refused in a process the command starts
// is reported too (the audit session covers the tree).
func TestRunTestChildProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grandchild")
	t.Setenv("PROFILETOOL_TEST_ROLE", "child")
	var out bytes.Buffer
	rep, err := RunTest(context.Background(), denyMkdirat(specs.ActErrno),
		[]string{"/bin/sh", "-c", "PROFILETOOL_TEST_ROLE=helper " + os.Args[0] + " mkdirat " + dir + "; echo done"},
		TestOptions{Self: []string{os.Args[0]}, Native: specs.ArchX86_64, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s\noutput: %s", rep.Format(), out.String())
	if !strings.Contains(out.String(), "errno EPERM") {
		t.Fatalf("output %q", out.String())
	}
	if !hasEvent(rep, "mkdirat", "SCMP_ACT_ERRNO(EPERM)") || rep.ExitCode != 0 {
		t.Fatalf("refusal in a grandchild not reported: %+v", rep.Events)
	}
}

// TestRunTestLogAction: a profile's own SCMP_ACT_LOG lets the call through
// and reports it.
func TestRunTestLogAction(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logaction")
	rep, out := runUnder(t, denyMkdirat(specs.ActLog), false, "mkdirat", dir)
	if strings.TrimSpace(out) != "ok" || !hasEvent(rep, "mkdirat", "SCMP_ACT_LOG") {
		t.Fatalf("output %q, events %+v", out, rep.Events)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

// TestRunTestErrnoValue: the errno the profile names is the one returned.
func TestRunTestErrnoValue(t *testing.T) {
	s := denyMkdirat(specs.ActErrno)
	enosys := uint(unix.ENOSYS)
	s.Syscalls[0].ErrnoRet = &enosys
	rep, out := runUnder(t, s, false, "mkdirat", filepath.Join(t.TempDir(), "x"))
	if strings.TrimSpace(out) != "errno ENOSYS" || !hasEvent(rep, "mkdirat", "SCMP_ACT_ERRNO(ENOSYS)") {
		t.Fatalf("output %q, events %+v", out, rep.Events)
	}
}

// TestRunTestAllowList: under a default-refuse profile the command's
// start-up calls the profile lacks are reported, each once per verdict.
func TestRunTestAllowList(t *testing.T) {
	b, _ := Builtin("minimal")
	src, err := Load("minimal")
	if err != nil || len(b) == 0 {
		t.Fatal(err)
	}
	rep, out := runUnder(t, src.Spec, true, "mkdirat", filepath.Join(t.TempDir(), "m"))
	if strings.TrimSpace(out) != "ok" || !hasEvent(rep, "mkdirat", "SCMP_ACT_ERRNO(EPERM)") {
		t.Fatalf("log mode under minimal: output %q, events %+v", out, rep.Events)
	}
}
