//go:build cgo && linux

// Package seccompbpf compiles OCI seccomp sections to classic BPF with libseccomp,
// loading them the way runc does, and runs the BPF in golang.org/x/net/bpf's
// virtual machine on synthetic syscall data. It is the oracle the profile algebra
// is tested against: what the kernel would decide for a call, not what our model
// thinks it would.
package seccompbpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Program is a compiled filter.
type Program struct {
	Raw []bpf.RawInstruction
	vm  *bpf.VM
}

func action(a specs.LinuxSeccompAction, ret *uint) (libseccomp.ScmpAction, error) {
	errno := int16(unix.EPERM)
	if ret != nil {
		errno = int16(*ret)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(errno), nil
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(errno), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unknown action %q", a)
}

var ops = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpEqualTo: libseccomp.CompareEqual, specs.OpNotEqual: libseccomp.CompareNotEqual,
	specs.OpGreaterThan: libseccomp.CompareGreater, specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpLessThan: libseccomp.CompareLess, specs.OpLessEqual: libseccomp.CompareLessOrEqual,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// Runc is a runc release line, where they build filters differently.
type Runc int

const (
	// Runc12 is runc 1.2 and later: its spec conversion makes one entry per
	// syscall name (libcontainer/specconv SetupSeccomp), and with more than
	// 32 entries it sets libseccomp's optimize level 2, a binary tree over
	// syscall numbers (libcontainer/seccomp/seccomp_linux.go). Any profile
	// naming more than 32 syscalls, RuntimeDefault among them, gets the tree.
	Runc12 Runc = iota
	// Runc11 is runc 1.1 (Debian 12's 1.1.5): it never sets the optimize
	// level, so libseccomp tests syscall numbers one after another.
	Runc11
)

// Compile builds the filter runc 1.2 would load for s (CompileFor Runc12).
func Compile(s *specs.LinuxSeccomp) (*Program, error) { return CompileFor(s, Runc12) }

// CompileFor builds the filter the given runc would hand the kernel for s,
// without the -ENOSYS stub runc prepends to it: the same default action,
// extra architectures beside the native one, redundant rules skipped,
// unknown names ignored, a rule with two comparisons on one argument split
// into separate rules, and libseccomp's binary tree where that runc asks for
// it.
func CompileFor(s *specs.LinuxSeccomp, rt Runc) (*Program, error) {
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("new filter: %w", err)
	}
	defer f.Release()
	for _, a := range s.Architectures {
		sa, err := scmpArch(a)
		if err != nil {
			return nil, err
		}
		if err := f.AddArch(sa); err != nil {
			return nil, fmt.Errorf("add arch %s: %w", a, err)
		}
	}
	if rt == Runc12 && Entries(s) > 32 {
		_ = f.SetOptimize(2) // as runc does; an older libseccomp just ignores it
	}
	for _, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
		}
		if act == def {
			continue
		}
		var conds []libseccomp.ScmpCondition
		count := map[uint]int{}
		split := false
		for _, a := range sc.Args {
			c, err := libseccomp.MakeCondition(a.Index, ops[a.Op], a.Value, a.ValueTwo)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
			count[a.Index]++
			split = split || count[a.Index] > 1
		}
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // runc: "unknown seccomp syscall ignored"
			}
			switch {
			case len(conds) == 0:
				err = f.AddRule(nr, act)
			case split:
				for _, c := range conds {
					if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
						break
					}
				}
			default:
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return nil, fmt.Errorf("rule for %s: %w", name, err)
			}
		}
	}
	return export(f)
}

// Entries is the number of entries runc 1.2's spec conversion makes of s,
// the number it compares with 32: one per syscall name of every rule,
// including rules it later skips (the default action) and names libseccomp
// does not know.
func Entries(s *specs.LinuxSeccomp) int {
	n := 0
	for _, sc := range s.Syscalls {
		n += len(sc.Names)
	}
	return n
}

func export(f *libseccomp.ScmpFilter) (*Program, error) {
	tmp, err := os.CreateTemp("", "seccomp-bpf-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := f.ExportBPF(tmp); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(tmp)
	if err != nil {
		return nil, err
	}
	if len(data)%8 != 0 {
		return nil, errors.New("export: truncated program")
	}
	var raw []bpf.RawInstruction
	for i := 0; i < len(data); i += 8 {
		raw = append(raw, bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(data[i:]),
			Jt: data[i+2],
			Jf: data[i+3],
			K:  binary.NativeEndian.Uint32(data[i+4:]),
		})
	}
	return FromRaw(raw)
}

// FromRaw wraps a classic BPF seccomp program from elsewhere (one read back
// from the kernel, say) so that it can be Run.
func FromRaw(raw []bpf.RawInstruction) (*Program, error) {
	p := &Program{Raw: raw}
	insns, ok := bpf.Disassemble(p.Raw)
	if !ok {
		return nil, errors.New("program has instructions the BPF VM cannot decode")
	}
	var err error
	if p.vm, err = bpf.NewVM(insns); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	return p, nil
}

// Len is the number of BPF instructions (the kernel's limit is 4096).
func (p *Program) Len() int { return len(p.Raw) }

// libseccomp's names for the OCI architecture tokens (runc keeps the same table).
var archNames = map[specs.Arch]string{
	specs.ArchX86: "x86", specs.ArchX86_64: "amd64", specs.ArchX32: "x32",
	specs.ArchARM: "arm", specs.ArchAARCH64: "arm64",
	specs.ArchMIPS: "mips", specs.ArchMIPS64: "mips64", specs.ArchMIPS64N32: "mips64n32",
	specs.ArchMIPSEL: "mipsel", specs.ArchMIPSEL64: "mipsel64", specs.ArchMIPSEL64N32: "mipsel64n32",
	specs.ArchPPC: "ppc", specs.ArchPPC64: "ppc64", specs.ArchPPC64LE: "ppc64le",
	specs.ArchS390: "s390", specs.ArchS390X: "s390x", specs.ArchRISCV64: "riscv64",
}

func scmpArch(a specs.Arch) (libseccomp.ScmpArch, error) {
	n, ok := archNames[a]
	if !ok {
		return libseccomp.ArchInvalid, fmt.Errorf("architecture %s is not supported here", a)
	}
	sa, err := libseccomp.GetArchFromString(n)
	if err != nil {
		return libseccomp.ArchInvalid, fmt.Errorf("arch %s: %w", a, err)
	}
	return sa, nil
}

// Audit architecture tokens as the kernel puts them in seccomp_data.arch.
var auditArch = map[specs.Arch]uint32{
	specs.ArchX86_64:  0xc000003e,
	specs.ArchX32:     0xc000003e,
	specs.ArchX86:     0x40000003,
	specs.ArchAARCH64: 0xc00000b7,
	specs.ArchARM:     0x40000028,
}

// Number resolves a syscall name on an architecture with libseccomp's own tables
// (for x32, with the x32 bit set as the kernel sees it).
func Number(arch specs.Arch, name string) (int, bool) {
	sa, err := scmpArch(arch)
	if err != nil {
		return 0, false
	}
	nr, err := libseccomp.GetSyscallFromNameByArch(name, sa)
	if err != nil || nr < 0 {
		return 0, false
	}
	return int(nr), true
}

// Run returns the filter's raw return value (SECCOMP_RET_*) for a call.
func (p *Program) Run(arch specs.Arch, nr int, args [6]uint64) (uint32, error) {
	aa, ok := auditArch[arch]
	if !ok {
		return 0, fmt.Errorf("no audit token for %s", arch)
	}
	// struct seccomp_data in host (little-endian) order; the VM loads words
	// big-endian, so each 32-bit word is stored big-endian to read back as the
	// host value the kernel would load.
	var d [64]byte
	binary.BigEndian.PutUint32(d[0:], uint32(nr))
	binary.BigEndian.PutUint32(d[4:], aa)
	for i, a := range args {
		binary.BigEndian.PutUint32(d[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(d[20+8*i:], uint32(a>>32))
	}
	r, err := p.vm.Run(d[:])
	return uint32(r), err
}

// Seccomp return actions (include/uapi/linux/seccomp.h).
const (
	RetKillProcess = 0x80000000
	RetKillThread  = 0x00000000
	RetTrap        = 0x00030000
	RetErrno       = 0x00050000
	RetUserNotif   = 0x7fc00000
	RetTrace       = 0x7ff00000
	RetLog         = 0x7ffc0000
	RetAllow       = 0x7fff0000
	RetActionFull  = 0xffff0000
	RetData        = 0x0000ffff
)
