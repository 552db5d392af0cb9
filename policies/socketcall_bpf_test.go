//go:build cgo && linux

package policies

import (
	"errors"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// bpfRet is the filter return value of a verdict the tests below expect.
func bpfRet(t *testing.T, v profile.Verdict) uint32 {
	t.Helper()
	switch v.Level {
	case profile.LevelAllow:
		return seccompbpf.RetAllow
	case profile.LevelErrno:
		return seccompbpf.RetErrno | uint32(v.Ret)
	}
	t.Fatalf("no expectation for %s", v)
	return 0
}

// runX86 compiles s as runc does (libseccomp) and returns the filter's
// answer to an i386 call. The number comes from internal/syscalls: libseccomp
// resolves socket on x86 to its multiplexed pseudo-number, not to the
// direct entry (359).
func runX86(t *testing.T, prog *seccompbpf.Program, name string, args [6]uint64) uint32 {
	t.Helper()
	nr, ok := syscalls.Number(string(specs.ArchX86), name)
	if !ok {
		t.Fatalf("no i386 number for %s", name)
	}
	r, err := prog.Run(specs.ArchX86, nr, args)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func compileProfile(t *testing.T, name string) *seccompbpf.Program {
	t.Helper()
	b, _ := Profile(name)
	s, err := profile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := seccompbpf.Compile(s)
	if err != nil {
		t.Fatalf("%s: libseccomp: %v", name, err)
	}
	return prog
}

// TestSocketcallBPF holds the shipped profiles to the filter libseccomp
// compiles from them, as runc loads it: what the kernel decides, not what
// the model thinks.
func TestSocketcallBPF(t *testing.T) {
	for name, want := range socketcallWant {
		prog := compileProfile(t, name)
		for n := uint64(0); n <= sysSendmmsg+1; n++ {
			for _, ptr := range argPointers {
				if got := runX86(t, prog, "socketcall", [6]uint64{n, ptr}); got != bpfRet(t, want) {
					t.Errorf("%s: i386 socketcall(%d, %#x) returns %#x; want %s", name, n, ptr, got, want)
				}
			}
		}
		for af, want := range socketWant[name] {
			if got := runX86(t, prog, "socket", [6]uint64{af, unix.SOCK_STREAM}); got != bpfRet(t, want) {
				t.Errorf("%s: i386 socket(%d) returns %#x; want %s", name, af, got, want)
			}
		}
	}
}

// TestLibseccompMultiplexesSocket pins the libseccomp behaviour the
// generator's choice rests on (hack/genprofiles, socketcallErrno), so that a
// libseccomp that changes it fails here rather than silently:
//   - a profile that allows socket(2) for one family and never names
//     socketcall still allows socketcall(SYS_SOCKET) on x86, whatever the
//     family (libseccomp adds the rule to socketcall with "call number ==
//     SYS_SOCKET" in place of the family comparison), and socketcall(SYS_BIND)
//     stays refused;
//   - refusing socketcall(SYS_SOCKET) alone next to such a rule does not
//     compile (EEXIST: two actions for the same condition).
func TestLibseccompMultiplexesSocket(t *testing.T) {
	arches := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	inet := specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_INET, Op: specs.OpEqualTo}}}
	prog, err := seccompbpf.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: arches,
		Syscalls: []specs.LinuxSyscall{inet}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ptr := range argPointers {
		if got := runX86(t, prog, "socketcall", [6]uint64{sysSocket, ptr}); got != seccompbpf.RetAllow {
			t.Errorf("socketcall(SYS_SOCKET, %#x) returns %#x; libseccomp no longer adds socket's rules to socketcall: revisit hack/genprofiles and the socketcall lint", ptr, got)
		}
	}
	if got := runX86(t, prog, "socketcall", [6]uint64{sysBind}); got != seccompbpf.RetErrno|uint32(unix.EPERM) {
		t.Errorf("socketcall(SYS_BIND) returns %#x; want EPERM", got)
	}
	if got := runX86(t, prog, "socket", [6]uint64{unix.AF_ALG}); got != seccompbpf.RetErrno|uint32(unix.EPERM) {
		t.Errorf("socket(AF_ALG) returns %#x; want EPERM", got)
	}

	e := uint(unix.ENOSYS)
	_, err = seccompbpf.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: arches,
		Syscalls: []specs.LinuxSyscall{inet, {Names: []string{"socketcall"}, Action: specs.ActErrno, ErrnoRet: &e,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: sysSocket, Op: specs.OpEqualTo}}}}})
	if !errors.Is(err, syscall.EEXIST) {
		t.Errorf("refusing socketcall(SYS_SOCKET) alone: err = %v; want EEXIST (if libseccomp now accepts it, hardened could refuse SYS_SOCKET alone)", err)
	}
}
