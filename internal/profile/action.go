// Package profile is nri-seccomp's model of an OCI seccomp section: loading (OCI and
// Docker/moby JSON), validation of every name, and the algebra the engine needs —
// intersection ("tighten"), the audit transform and a canonical form with a digest.
//
// The package never performs I/O beyond reading files it is asked to load, and never
// imports NRI or containerd, so the daemon and the CLI's dry runs share it exactly.
package profile

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/errnos"
)

// Level orders seccomp actions by strictness. The order is the one the kernel uses
// to pick among several filters' results (seccomp(2), "the highest precedence
// value"), which is also the order the product promises: the stricter of two
// inputs always wins.
type Level uint8

// Levels from loosest to strictest.
const (
	LevelAllow Level = iota
	LevelLog
	LevelNotify
	LevelTrace
	LevelErrno
	LevelTrap
	LevelKillThread
	LevelKillProcess
)

var levelOf = map[specs.LinuxSeccompAction]Level{
	specs.ActAllow:       LevelAllow,
	specs.ActLog:         LevelLog,
	specs.ActNotify:      LevelNotify,
	specs.ActTrace:       LevelTrace,
	specs.ActErrno:       LevelErrno,
	specs.ActTrap:        LevelTrap,
	specs.ActKill:        LevelKillThread, // runc maps SCMP_ACT_KILL to kill-thread
	specs.ActKillThread:  LevelKillThread,
	specs.ActKillProcess: LevelKillProcess,
}

// actionOf is the canonical spelling of each level; SCMP_ACT_KILL is written
// SCMP_ACT_KILL_THREAD so that two spellings never compare unequal.
var actionOf = [...]specs.LinuxSeccompAction{
	LevelAllow:       specs.ActAllow,
	LevelLog:         specs.ActLog,
	LevelNotify:      specs.ActNotify,
	LevelTrace:       specs.ActTrace,
	LevelErrno:       specs.ActErrno,
	LevelTrap:        specs.ActTrap,
	LevelKillThread:  specs.ActKillThread,
	LevelKillProcess: specs.ActKillProcess,
}

// Denies reports whether a call with this level fails or dies instead of running.
// Log, notify and trace let the call proceed (or hand it to someone else); they are
// not refusals.
func (l Level) Denies() bool { return l >= LevelErrno }

// Refuses reports whether action a makes the call fail or the caller die:
// its level Denies. An action this package does not know counts as
// refusing, the strict reading. The one answer to "does this action
// refuse" for policies, audit rules and profiles alike.
func Refuses(a specs.LinuxSeccompAction) bool {
	l, ok := levelOf[a]
	return !ok || l.Denies()
}

// Verdict is a fully resolved action: the level plus the return value that
// SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry (runc's default for both is EPERM).
type Verdict struct {
	Level Level
	Ret   uint
}

// Common verdicts.
var (
	Allow = Verdict{Level: LevelAllow}
	Log   = Verdict{Level: LevelLog}
	EPERM = Verdict{Level: LevelErrno, Ret: uint(unix.EPERM)}
)

// VerdictOf resolves an OCI action and optional errnoRet.
func VerdictOf(a specs.LinuxSeccompAction, ret *uint) (Verdict, error) {
	l, ok := levelOf[a]
	if !ok {
		return Verdict{}, fmt.Errorf("unknown action %q", a)
	}
	v := Verdict{Level: l}
	if l == LevelErrno || l == LevelTrace {
		v.Ret = uint(unix.EPERM)
		if ret != nil {
			v.Ret = *ret
		}
	}
	return v, nil
}

// Action is the canonical OCI action of v.
func (v Verdict) Action() specs.LinuxSeccompAction { return actionOf[v.Level] }

// ErrnoRet is the errnoRet to write for v: nil when runc's default (EPERM) applies.
func (v Verdict) ErrnoRet() *uint {
	if (v.Level == LevelErrno || v.Level == LevelTrace) && v.Ret != uint(unix.EPERM) {
		r := v.Ret
		return &r
	}
	return nil
}

func (v Verdict) String() string {
	s := string(v.Action())
	if v.Level == LevelErrno || v.Level == LevelTrace {
		// The kernel's names (EOPNOTSUPP, EUCLEAN), not x/sys's (ENOTSUP,
		// EFSCORRUPTED): the same names the policy accepts and auditctl prints.
		name := errnos.Name(v.Ret)
		if name == "" {
			name = fmt.Sprint(v.Ret)
		}
		s += "(" + name + ")"
	}
	return s
}

// Stricter returns the stricter of a and b. When both have the same level, b wins,
// so that an explicitly configured refusal (the policy's errno, the second operand)
// is what the container sees.
func Stricter(a, b Verdict) Verdict {
	if a.Level > b.Level {
		return a
	}
	return b
}

// Canonical tables, so every string in a profile is checked (runc's
// libcontainer/seccomp/config.go keeps the same tables for the same reason).
var (
	knownArches = map[specs.Arch]bool{
		specs.ArchX86: true, specs.ArchX86_64: true, specs.ArchX32: true,
		specs.ArchARM: true, specs.ArchAARCH64: true,
		specs.ArchMIPS: true, specs.ArchMIPS64: true, specs.ArchMIPS64N32: true,
		specs.ArchMIPSEL: true, specs.ArchMIPSEL64: true, specs.ArchMIPSEL64N32: true,
		specs.ArchPPC: true, specs.ArchPPC64: true, specs.ArchPPC64LE: true,
		specs.ArchS390: true, specs.ArchS390X: true, specs.ArchPARISC: true, specs.ArchPARISC64: true,
		specs.ArchRISCV64: true, specs.ArchLOONGARCH64: true,
	}
	knownOps = map[specs.LinuxSeccompOperator]bool{
		specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
		specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
		specs.OpMaskedEqual: true,
	}
	knownFlags = map[specs.LinuxSeccompFlag]bool{
		specs.LinuxSeccompFlagLog: true, specs.LinuxSeccompFlagSpecAllow: true,
		specs.LinuxSeccompFlagWaitKillableRecv: true, "SECCOMP_FILTER_FLAG_TSYNC": true,
	}
)

// ArchFamily lists the architectures a filter must name so that every ABI a binary
// on this machine can use goes through it (containerd's RuntimeDefault does the
// same): on x86_64 that is x86_64, x86 (int 0x80) and x32.
func ArchFamily(native specs.Arch) []specs.Arch {
	switch native {
	case specs.ArchX86_64:
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case specs.ArchAARCH64:
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	default:
		return []specs.Arch{native}
	}
}

// NativeArch maps a GOARCH to its OCI architecture token.
func NativeArch(goarch string) specs.Arch {
	switch goarch {
	case "amd64":
		return specs.ArchX86_64
	case "386":
		return specs.ArchX86
	case "arm64":
		return specs.ArchAARCH64
	case "arm":
		return specs.ArchARM
	case "riscv64":
		return specs.ArchRISCV64
	case "s390x":
		return specs.ArchS390X
	case "ppc64le":
		return specs.ArchPPC64LE
	case "loong64":
		return specs.ArchLOONGARCH64
	}
	return specs.Arch("SCMP_ARCH_" + strings.ToUpper(goarch))
}
