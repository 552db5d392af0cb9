// Package record reads the kernel's seccomp audit records (type 1326,
// AUDIT_SECCOMP) and decodes them into syscall and action names: the one
// place kernel audit text becomes a Record.
//
// The kernel writes one record per logged syscall:
//
//	audit: type=1326 audit(1795726941.372:103): auid=4294967295 uid=0 gid=0
//	ses=4294967295 pid=27544 comm="gen" exe="/tmp/gen" sig=0 arch=c000003e
//	syscall=83 compat=0 ip=0x7f0136e2ff37 code=0x7ffc0000
//
// to the kernel log (/dev/kmsg, dmesg) when no auditd runs, or to auditd,
// which writes it as `type=SECCOMP msg=audit(...): ...` and, in its ENRICHED
// format, appends interpreted fields after a 0x1d byte. Records carry the
// host PID, never a container id; attribution is the registry's job.
package record

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// Record is one decoded seccomp audit record.
type Record struct {
	// Time is the record's audit timestamp (audit(SEC.MS:SERIAL)), which
	// the kernel takes from the wall clock: unlike the kernel log's own
	// monotonic stamp it is comparable across reboots and with auditd.
	Time   time.Time `json:"time"`
	Serial uint64    `json:"serial"`
	PID    int       `json:"pid"`
	UID    uint32    `json:"uid"`
	GID    uint32    `json:"gid"`
	// AUID is the login uid; 4294967295 (unset) for everything started by
	// a daemon, containers included.
	AUID uint32 `json:"auid"`
	Ses  uint32 `json:"ses"`
	Subj string `json:"subj,omitempty"`
	Comm string `json:"comm"`
	Exe  string `json:"exe"`
	// Sig is the signal the action delivers (31, SIGSYS, for a kill).
	Sig int `json:"sig"`
	// AuditArch is the AUDIT_ARCH_* value of the calling ABI.
	AuditArch uint32 `json:"audit_arch"`
	// Arch is the OCI architecture token ("SCMP_ARCH_X86_64"), "" when the
	// architecture is not one internal/syscalls knows. An x86_64 record whose
	// number has __X32_SYSCALL_BIT set is an x32 call: SCMP_ARCH_X32.
	Arch string `json:"arch"`
	// Syscall is the number as the filter saw it (x32 keeps its bit).
	Syscall int `json:"syscall_nr"`
	// SyscallName is "" when the number is unknown on Arch.
	SyscallName string `json:"syscall"`
	Compat      bool   `json:"compat"`
	IP          uint64 `json:"ip"`
	// Code is the seccomp action (SECCOMP_RET_ACTION_FULL bits only: the
	// kernel drops the errno/data part before logging).
	Code uint32 `json:"code"`
	// Action is Code's SCMP_ACT_* name, or "0x%08x" for a code the kernel
	// may add later.
	Action string `json:"action"`
}

// Seccomp return actions (linux/seccomp.h), as they appear in code=.
const (
	RetKillProcess uint32 = 0x80000000
	RetKillThread  uint32 = 0x00000000
	RetTrap        uint32 = 0x00030000
	RetErrno       uint32 = 0x00050000
	RetUserNotif   uint32 = 0x7fc00000
	RetTrace       uint32 = 0x7ff00000
	RetLog         uint32 = 0x7ffc0000
	RetAllow       uint32 = 0x7fff0000
)

// AUDIT_ARCH_X86_64 and the x32 syscall bit: an x32 task reports the x86_64
// audit arch, and only the bit in the number tells the two apart.
const (
	AuditArchX8664 uint32 = 0xc000003e
	x32SyscallBit         = 0x40000000
)

var actionNames = map[uint32]string{
	RetKillProcess: "SCMP_ACT_KILL_PROCESS",
	RetKillThread:  "SCMP_ACT_KILL_THREAD",
	RetTrap:        "SCMP_ACT_TRAP",
	RetErrno:       "SCMP_ACT_ERRNO",
	RetUserNotif:   "SCMP_ACT_NOTIFY",
	RetTrace:       "SCMP_ACT_TRACE",
	RetLog:         "SCMP_ACT_LOG",
	RetAllow:       "SCMP_ACT_ALLOW",
}

// ActionName returns the SCMP_ACT_* name of a seccomp action code.
func ActionName(code uint32) string {
	if n, ok := actionNames[code]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", code)
}

// ActionCode is ActionName's inverse: the code of an SCMP_ACT_* name, or of
// a "0x%08x" one. false for anything else.
func ActionCode(name string) (uint32, bool) {
	for code, n := range actionNames {
		if n == name {
			return code, true
		}
	}
	hex, ok := strings.CutPrefix(name, "0x")
	if !ok || len(hex) != 8 {
		return 0, false
	}
	code, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || ActionName(uint32(code)) != name {
		return 0, false // a named code written in hex, or upper case
	}
	return uint32(code), true
}

// Refused reports whether the syscall did not run as asked: everything but
// SCMP_ACT_LOG and SCMP_ACT_ALLOW. A LOG record is what audit mode writes.
func (r *Record) Refused() bool { return CodeRefused(r.Code) }

// CodeRefused is a kernel record's own question, "did the call not run as
// asked": trace and user-notify records count, unlike profile.Refuses,
// which asks whether an action makes the call fail.
func CodeRefused(code uint32) bool { return code != RetLog && code != RetAllow }

// decode fills Arch, SyscallName and Action from the raw numbers.
func (r *Record) decode() {
	r.Action = ActionName(r.Code)
	arch, ok := syscalls.ArchFromAudit(r.AuditArch)
	if !ok {
		r.Arch, r.SyscallName = "", ""
		return
	}
	if r.AuditArch == AuditArchX8664 && r.Syscall&x32SyscallBit != 0 {
		arch = "SCMP_ARCH_X32"
	}
	r.Arch = arch
	r.SyscallName, _ = syscalls.Name(arch, r.Syscall)
}

// SyscallLabel returns a display name: the syscall name, or "ARCH#NR" when the
// number is unknown, so that unknown calls still group and count.
func (r *Record) SyscallLabel() string {
	if r.SyscallName != "" {
		return r.SyscallName
	}
	arch := r.Arch
	if arch == "" {
		arch = "arch-" + strconv.FormatUint(uint64(r.AuditArch), 16)
	}
	return arch + "#" + strconv.Itoa(r.Syscall)
}
