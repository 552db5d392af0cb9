package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// verdictOf evaluates a decision's section for one call on x86_64 (nil: no
// seccomp, everything allowed), after reading the written section back.
func verdictOf(t testing.TB, s *specs.LinuxSeccomp, name string, args [6]uint64) profile.Verdict {
	t.Helper()
	if s == nil {
		return profile.Allow
	}
	m, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatal(err)
	}
	return m.Eval(specs.ArchX86_64, name, args)
}

// checkSocketcallNote checks that notes are only the note on writing
// socketcall unconditionally (the no-packet profile lists x86, where
// libseccomp copies socket's rules to socketcall; see profile/socketcall.go)
// and that x86 socketcall gets v for every call number.
func checkSocketcallNote(t *testing.T, s *specs.LinuxSeccomp, notes []string, v profile.Verdict) {
	t.Helper()
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "written profile: socketcall: on x86 ") {
		t.Errorf("notes: %v, want the socketcall note alone", notes)
	}
	m, err := profile.FromSpec(s, specs.ArchX86_64)
	if err != nil {
		t.Fatal(err)
	}
	for n := range uint64(22) {
		if got := m.Eval(specs.ArchX86, "socketcall", [6]uint64{n}); got != v {
			t.Errorf("socketcall(%d) on x86: %s, want %s", n, got, v)
		}
	}
}

const noPacketProfile = `profiles:
  no-packet:
    inline:
      defaultAction: SCMP_ACT_ALLOW
      architectures: [SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32]
      syscalls:
      - names: [socket]
        action: SCMP_ACT_ERRNO
        args: [{index: 0, value: 17, op: SCMP_CMP_EQ}]
      - names: [personality]
        action: SCMP_ACT_ERRNO
        args: [{index: 0, value: 0x20000, op: SCMP_CMP_EQ}]
`

// An audit rule placed before an inject rule used to produce real refusals:
// its SCMP_ACT_LOG rules were intersected with runtime-default's argument
// rules, and the fallback made socket(AF_PACKET) and personality(0x20000)
// fail. Now audit mode refuses nothing the enforce rules allow, in either
// order.
func TestAuditBeforeInjectRefusesNothing(t *testing.T) {
	auditRule := "- name: trial\n  match: {}\n  action: tighten\n  profile: no-packet\n  mode: audit\n"
	injectRule := "- name: inject\n  match: {}\n  action: inject\n  profile: runtime-default\n"
	head := "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\n" + noPacketProfile + "rules:\n"
	var digests []string
	for _, rules := range []string{auditRule + injectRule, injectRule + auditRule} {
		e := newEngine(t, head+rules)
		d, err := e.Decide(Input{Namespace: "n", Container: "c"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			arg  uint64
			want profile.Verdict
		}{
			{"socket", 17, profile.Log}, {"socket", 2, profile.Allow}, {"socket", 40, profile.EPERM},
			{"personality", 0x20000, profile.Log}, {"personality", 0, profile.Allow}, {"personality", 1, profile.EPERM},
			{"clone", 0, profile.Allow}, {"clone", 0x10000000, profile.EPERM}, {"read", 0, profile.Allow},
		} {
			if got := verdictOf(t, d.Seccomp, c.name, [6]uint64{c.arg}); got != c.want {
				t.Errorf("%s(%#x): %s, want %s", c.name, c.arg, got, c.want)
			}
		}
		checkSocketcallNote(t, d.Seccomp, d.Notes, profile.Log)
		digests = append(digests, d.Digest)
	}
	if digests[0] != digests[1] {
		t.Errorf("audit result depends on rule order: %v", digests)
	}
}

// Tightening a RuntimeDefault container with a profile that refuses only
// socket(AF_PACKET) keeps every other socket call working (this was an
// outage: every socket() failed), and the kill variant kills only that call.
func TestTightenRuntimeDefaultExactly(t *testing.T) {
	for _, action := range []string{"SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"} {
		t.Run(action, func(t *testing.T) {
			yaml := "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\n" +
				strings.ReplaceAll(noPacketProfile, "SCMP_ACT_ERRNO", action) +
				"rules:\n- name: no-packet\n  match: {}\n  action: tighten\n  profile: no-packet\n"
			e := newEngine(t, yaml)
			d, err := e.Decide(Input{Namespace: "n", ProfileType: profile.TypeRuntimeDefault, Current: runtimeDefault(t)})
			if err != nil {
				t.Fatal(err)
			}
			refused, _ := profile.VerdictOf(specs.LinuxSeccompAction(action), nil)
			for arg, want := range map[uint64]profile.Verdict{0: profile.Allow, 2: profile.Allow, 10: profile.Allow, 16: profile.Allow,
				17: refused, 18: profile.Allow, 40: profile.EPERM, 46: profile.EPERM} {
				if got := verdictOf(t, d.Seccomp, "socket", [6]uint64{arg}); got != want {
					t.Errorf("socket(%d): %s, want %s", arg, got, want)
				}
			}
			// x86 socketcall is refused whole: at least as strict as
			// the rule, and neither EPERM (runc would skip a rule with
			// the default action) nor per call number (EEXIST).
			sv := refused
			if refused == profile.EPERM {
				sv = profile.Verdict{Level: profile.LevelErrno, Ret: 38}
			}
			checkSocketcallNote(t, d.Seccomp, d.Notes, sv)
		})
	}
}

// The policy-level property: over generated policies, a policy with audit
// rules never refuses a call the same policy without them allows, and gives
// exactly Audit(E, W): the enforce rules' verdict, except SCMP_ACT_LOG where
// the audit rules would add a refusal.
func TestAuditRulesNeverRefuseMore(t *testing.T) {
	seed := rand.Uint64()
	if s, err := strconv.ParseUint(os.Getenv("NRI_SECCOMP_TEST_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (NRI_SECCOMP_TEST_SEED=%d reproduces it)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 2))
	rd := runtimeDefault(t)
	names := []string{"socket", "personality", "mkdir", "clone"}
	values := []uint64{0, 1, 2, 8, 16, 17, 18, 39, 40, 41, 46, 0x20000, 0x20008, 0x10000000, 0xffffffff, 1 << 32}
	ops := []string{"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"}
	actions := []string{"SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}
	checked, inexact := 0, 0
	defer func() {
		t.Logf("%d policies with audit rules checked, %d of them with notes (exactness not asserted)", checked, inexact)
	}()
	for iter := range 40 {
		var prof strings.Builder
		prof.WriteString("profiles:\n")
		for p := range 3 {
			fmt.Fprintf(&prof, "  p%d:\n    inline:\n      defaultAction: %s\n      syscalls:\n", p, []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"}[r.IntN(3)])
			fmt.Fprintf(&prof, "      - names: [read, write, exit, exit_group, execve, getcwd, close, fstatfs]\n        action: SCMP_ACT_ALLOW\n")
			for range 1 + r.IntN(3) {
				fmt.Fprintf(&prof, "      - names: [%s]\n        action: %s\n        args: [{index: 0, value: %d, op: %s}]\n",
					names[r.IntN(len(names))], actions[r.IntN(len(actions))], values[r.IntN(len(values))], ops[r.IntN(len(ops))])
			}
		}
		var rules []string
		audits := 0
		for k := range 1 + r.IntN(4) {
			mode := "enforce"
			if r.IntN(2) == 0 {
				mode, audits = "audit", audits+1
			}
			action := []string{"tighten", "tighten", "inject"}[r.IntN(3)]
			rules = append(rules, fmt.Sprintf("- name: r%d\n  match: {}\n  action: %s\n  profile: p%d\n  mode: %s\n", k, action, r.IntN(3), mode))
		}
		if audits == 0 {
			continue
		}
		head := "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\n" + prof.String()
		var enforceOnly, allEnforced []string
		for _, rule := range rules {
			if !strings.Contains(rule, "mode: audit") {
				enforceOnly = append(enforceOnly, rule)
			}
			allEnforced = append(allEnforced, strings.Replace(rule, "mode: audit", "mode: enforce", 1))
		}
		list := func(rs []string) string {
			if len(rs) == 0 {
				// A policy must have a rule: one that never matches.
				return "rules:\n- name: none\n  match: {namespaces: [elsewhere]}\n  action: exempt\n"
			}
			return "rules:\n" + strings.Join(rs, "")
		}
		policies := []string{list(rules), list(enforceOnly), list(allEnforced)}
		for _, cur := range []*specs.LinuxSeccomp{nil, rd} {
			var secs []*specs.LinuxSeccomp
			exact := true
			for _, rs := range policies {
				e := newEngine(t, head+rs)
				d, err := e.Decide(Input{Namespace: "n", Current: cur})
				if err != nil {
					t.Fatalf("%s\n%v", head+rs, err)
				}
				secs = append(secs, d.Seccomp)
				exact = exact && len(d.Notes) == 0
			}
			checked++
			if !exact {
				inexact++
			}
			for _, name := range names {
				for _, x := range values {
					args := [6]uint64{x}
					got, e, w := verdictOf(t, secs[0], name, args), verdictOf(t, secs[1], name, args), verdictOf(t, secs[2], name, args)
					if got.Level.Denies() && !e.Level.Denies() {
						t.Fatalf("iteration %d: %s(%#x) refused (%s) with audit rules, %s without\n%s", iter, name, x, got, e, head+policies[0])
					}
					if want := auditOf(e, w); exact && got != want {
						t.Fatalf("iteration %d: %s(%#x): %s, want %s (enforce only %s, all enforced %s)\n%s", iter, name, x, got, want, e, w, head+policies[0])
					}
				}
			}
		}
	}
}

// auditOf is the audit transform of one call (profile.auditVerdict).
func auditOf(without, with profile.Verdict) profile.Verdict {
	if without.Level == profile.LevelAllow && with.Level > profile.LevelAllow {
		return profile.Log
	}
	return without
}
