// Package auditdrules writes audit.rules lines (`nri-seccomp auditd-rules`)
// for the syscalls a policy refuses: the only audit code that needs a
// policy.
package auditdrules

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// Key is the key (-k) of the rules Rules writes, for ausearch -k.
const Key = "nri-seccomp-denied"

// Refusal is one syscall an enforcing rule of a policy refuses.
type Refusal struct {
	Syscall string
	// Errno is the error the call fails with; 0 for a kill or a trap,
	// which end or divert the call instead of returning.
	Errno uint
	Rules []string
}

// PolicyRefusals lists the syscalls a policy's enforcing inject and tighten
// rules refuse: their deny lists and the syscalls their profiles refuse by
// name. What a profile refuses by its default action (everything it does not
// list) cannot be enumerated and is noted instead, as are refusals that
// depend on arguments, which are listed but then match every call.
func PolicyRefusals(pol *policy.Policy) ([]Refusal, []string) {
	type key struct {
		name  string
		errno uint
	}
	found := map[key][]string{}
	var notes []string
	add := func(name string, action specs.LinuxSeccompAction, errno *uint, rule string) {
		k := key{name: name}
		if action == specs.ActErrno {
			k.errno = uint(unix.EPERM)
			if errno != nil {
				k.errno = *errno
			}
		}
		if !slices.Contains(found[k], rule) {
			found[k] = append(found[k], rule)
		}
	}
	for _, r := range pol.Rules {
		if r.Action == policy.ActionExempt {
			continue
		}
		if r.Mode == policy.ModeAudit {
			notes = append(notes, fmt.Sprintf("rule %s: audit mode: seccomp logs its syscalls itself (SCMP_ACT_LOG)", r.Name))
			continue
		}
		for _, d := range r.Deny {
			add(d.Name, d.Action, d.Errno, r.Name)
		}
		if r.Profile == "" {
			continue
		}
		prof, ok := pol.Profile(r.Profile)
		if !ok {
			continue
		}
		if profile.Refuses(prof.DefaultAction) {
			notes = append(notes, fmt.Sprintf("rule %s: profile %s refuses every syscall it does not list (%s): those cannot be listed as audit rules", r.Name, r.Profile, prof.DefaultAction))
		}
		for _, sc := range prof.Syscalls {
			if !profile.Refuses(sc.Action) {
				continue
			}
			if len(sc.Args) > 0 {
				notes = append(notes, fmt.Sprintf("rule %s: profile %s refuses %s only for some arguments; the audit rule records every failing call", r.Name, r.Profile, strings.Join(sc.Names, ",")))
			}
			errno := sc.ErrnoRet
			if errno == nil && sc.Action == specs.ActErrno {
				errno = prof.DefaultErrnoRet
			}
			for _, n := range sc.Names {
				add(n, sc.Action, errno, r.Name)
			}
		}
	}
	out := make([]Refusal, 0, len(found))
	for k, rules := range found {
		out = append(out, Refusal{Syscall: k.name, Errno: k.errno, Rules: rules})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Syscall != out[j].Syscall {
			return out[i].Syscall < out[j].Syscall
		}
		return out[i].Errno < out[j].Errno
	})
	return out, notes
}

// auditArches are the ABIs auditctl knows as b64 and b32 on x86_64 nodes.
var auditArches = []struct{ field, arch string }{
	{"b64", "SCMP_ARCH_X86_64"},
	{"b32", "SCMP_ARCH_X86"},
}

// Rules returns audit.rules lines that record the refused syscalls
// failing with the policy's errno, per ABI and errno, keyed Key:
//
//	-a always,exit -F arch=b64 -S bpf,keyctl -F exit=-EPERM -k nri-seccomp-denied
//
// They do NOT record the calls seccomp refused: the kernel skips syscall
// auditing for a call its seccomp filter refused (measured on 6.18,
// test/e2e/audit_attr_rules_test.go), so these rules see the same syscalls
// failing with that errno for other reasons (capabilities, LSMs), for every
// process. Seccomp refusals are on record only through seccomp's own logging
// (audit mode, SECCOMP_FILTER_FLAG_LOG). Kills and traps are left out: the
// call never returns, so no exit rule sees it. A syscall missing on an ABI
// (no number) is left out of that ABI's line. Errnos are written with the
// kernel's canonical names (EOPNOTSUPP, not ENOTSUP), the ones auditctl
// accepts.
func Rules(refusals []Refusal) (lines []string, notes []string) {
	byErrno := map[uint][]string{}
	var errnos []uint
	for _, r := range refusals {
		if r.Errno == 0 {
			notes = append(notes, fmt.Sprintf("%s: killed or trapped, not returned: no exit rule sees it; the kernel logs seccomp kills itself, traps only with SECCOMP_FILTER_FLAG_LOG", r.Syscall))
			continue
		}
		if _, ok := byErrno[r.Errno]; !ok {
			errnos = append(errnos, r.Errno)
		}
		byErrno[r.Errno] = append(byErrno[r.Errno], r.Syscall)
	}
	slices.Sort(errnos)
	for _, a := range auditArches {
		for _, e := range errnos {
			var names []string
			for _, n := range byErrno[e] {
				if _, ok := syscalls.Number(a.arch, n); ok {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				continue
			}
			slices.Sort(names)
			names = slices.Compact(names)
			lines = append(lines, fmt.Sprintf("-a always,exit -F arch=%s -S %s -F exit=-%s -k %s",
				a.field, strings.Join(names, ","), errnoName(e), Key))
		}
	}
	return lines, notes
}

// errnoName is the name auditctl accepts for e: the kernel's canonical one.
// auditctl also takes a number for one it does not name.
func errnoName(e uint) string {
	if n := policy.ErrnoName(e); n != "" {
		return n
	}
	return strconv.FormatUint(uint64(e), 10)
}
