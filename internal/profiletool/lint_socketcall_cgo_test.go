//go:build cgo && linux

package profiletool

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// TestLintSocketcallOracle holds the socketcall table to libseccomp: a
// conflict finding means the profile does not compile, a bypass means the
// compiled filter lets socketcall(n, ...) through for some register values,
// and "refused" cases refuse socketcall(SYS_SOCKET) whatever they are.
func TestLintSocketcallOracle(t *testing.T) {
	nr, ok := syscalls.Number(string(specs.ArchX86), "socketcall")
	if !ok {
		t.Fatal("no i386 socketcall number")
	}
	ptrs := []uint64{0, 1, 2, 10, 16, 17, 0x1000, 0xffffd000}
	for _, tc := range socketcallCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var s specs.LinuxSeccomp
			if err := json.Unmarshal([]byte(tc.doc), &s); err != nil {
				t.Fatal(err)
			}
			prog, err := seccompbpf.Compile(&s)
			conflict := slices.ContainsFunc(tc.want, func(f Finding) bool { return f.Check == CheckSocketcallConflict })
			if conflict != (err != nil) {
				t.Fatalf("conflict finding %v, libseccomp error %v", conflict, err)
			}
			if conflict {
				return
			}
			allows := func(n uint64) bool {
				// socketcall reads two arguments; the other registers
				// are the caller's to set, and copied rules compare them.
				for _, p := range ptrs {
					for _, free := range ptrs {
						r, err := prog.Run(specs.ArchX86, nr, [6]uint64{n, p, free, free, free, free})
						if err != nil {
							t.Fatal(err)
						}
						if r == seccompbpf.RetAllow {
							return true
						}
					}
				}
				return false
			}
			if tc.bypass != 0 && !allows(tc.bypass) {
				t.Errorf("lint reports a bypass through socketcall(%d), libseccomp's filter refuses it", tc.bypass)
			}
			if tc.refused && allows(1) {
				t.Errorf("libseccomp's filter lets socketcall(SYS_SOCKET) through; lint reports nothing")
			}
		})
	}
}
