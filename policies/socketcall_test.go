package policies

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// socketcall(2) call numbers (linux/net.h).
const (
	sysSocket     = 1
	sysBind       = 2
	sysSocketpair = 8
	sysSendmmsg   = 20 // the highest
)

var enosys = profile.Verdict{Level: profile.LevelErrno, Ret: uint(unix.ENOSYS)}

// argPointers are values socketcall's second argument (a pointer to the
// real arguments) might have: the verdict must not depend on it, not even
// when the pointer happens to equal an address family a socket rule allows.
var argPointers = []uint64{0, unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_ALG, 0x1000, 0xffffd000}

// socketcallWant is what each shipped profile answers to i386 socketcall(n,
// ptr), for every call number and pointer: runtime-default (containerd's)
// allows it, the hole; hardened and minimal refuse it whole with ENOSYS
// (hack/genprofiles says why it cannot be SYS_SOCKET alone).
var socketcallWant = map[string]profile.Verdict{
	"runtime-default": profile.Allow,
	"hardened":        enosys,
	"minimal":         enosys,
}

// socketWant is what each profile answers to the direct i386 socket(2).
var socketWant = map[string]map[uint64]profile.Verdict{
	"runtime-default": {unix.AF_ALG: profile.EPERM, unix.AF_VSOCK: profile.EPERM, unix.AF_PACKET: profile.Allow, unix.AF_INET: profile.Allow},
	"hardened":        {unix.AF_ALG: profile.EPERM, unix.AF_PACKET: profile.EPERM, unix.AF_INET: profile.Allow, unix.AF_UNIX: profile.Allow},
	"minimal":         {unix.AF_ALG: profile.EPERM, unix.AF_PACKET: profile.EPERM, unix.AF_INET: profile.Allow},
}

// TestSocketcall checks the model of each shipped profile on i386.
func TestSocketcall(t *testing.T) {
	for name, want := range socketcallWant {
		p := model(t, name)
		for n := uint64(0); n <= sysSendmmsg+1; n++ {
			for _, ptr := range argPointers {
				if got := p.Eval(specs.ArchX86, "socketcall", [6]uint64{n, ptr}); got != want {
					t.Errorf("%s: i386 socketcall(%d, %#x) = %s; want %s", name, n, ptr, got, want)
				}
			}
		}
		for af, want := range socketWant[name] {
			if got := p.Eval(specs.ArchX86, "socket", [6]uint64{af, unix.SOCK_STREAM}); got != want {
				t.Errorf("%s: i386 socket(%d) = %s; want %s", name, af, got, want)
			}
		}
	}
}
