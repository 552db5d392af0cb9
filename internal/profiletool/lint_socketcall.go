package profiletool

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Lint check names of the socketcall checks.
const (
	// CheckSocketcall: on x86 a socket call the profile refuses for some
	// arguments gets through socketcall(2).
	CheckSocketcall = "socketcall-bypass"
	// CheckSocketcallConflict: libseccomp cannot compile the profile for x86
	// because two rules end up on the same socketcall condition.
	CheckSocketcallConflict = "socketcall-conflict"
)

// socketcallCalls maps socketcall(2)'s call numbers (SYS_* in linux/net.h)
// to the call each stands for, in the order libseccomp multiplexes them.
var socketcallCalls = [...]string{
	1: "socket", 2: "bind", 3: "connect", 4: "listen", 5: "accept", 6: "getsockname",
	7: "getpeername", 8: "socketpair", 9: "send", 10: "recv", 11: "sendto", 12: "recvfrom",
	13: "shutdown", 14: "setsockopt", 15: "getsockopt", 16: "sendmsg", 17: "recvmsg",
	18: "accept4", 19: "recvmmsg", 20: "sendmmsg",
}

// muxRule is a rule on socketcall for one call number as libseccomp
// compiles it: verdict, and whether it matches every such call (its only
// comparison is the call number) or only some (it compares other arguments,
// which for socketcall are a pointer and nothing at all).
type muxRule struct {
	idx     int // syscalls[idx] it comes from
	verdict profile.Verdict
	always  bool
	key     string // the comparisons besides the call number
}

// lintSocketcall reports, for a profile that lists x86, the socket calls it
// refuses for some arguments while socketcall lets the same call through.
// socketcall's arguments sit in memory seccomp cannot read, so argument
// rules never apply to it; and libseccomp (2.5.4, as runc uses it) adds
// every rule for socket, bind, ... to socketcall as well, with the first
// argument's comparison replaced by "call number == N" and the others kept:
// an allow rule for socket(AF_INET) allows socketcall(SYS_SOCKET) for every
// family, even in a profile that never names socketcall. Only an
// unconditional socketcall rule overrides those (measured in
// policies/socketcall_bpf_test.go).
func lintSocketcall(s *specs.LinuxSeccomp, p *profile.Profile, add func(Severity, string, string, string, ...any)) {
	if !p.AnyArch && !slices.Contains(p.Arches, specs.ArchX86) {
		return // x86 calls are killed before any rule
	}
	def, _ := profile.VerdictOf(s.DefaultAction, s.DefaultErrnoRet)
	uncond, explicit := socketcallRules(s, def)
	for n := 1; n < len(socketcallCalls); n++ {
		name := socketcallCalls[n]
		mux := muxRules(s, def, name)
		if uncond == nil {
			lintMuxConflict(n, name, append(slices.Clone(mux), explicitFor(explicit, uint64(n))...), add)
		}
		if !refusesSome(p, name) {
			continue
		}
		if v, ok := letsThrough(def, uncond, append(mux, explicitFor(explicit, uint64(n))...)); ok {
			add(SevWarning, CheckSocketcall, "", "%s is refused for some arguments, but on x86 socketcall(%d, ...) (SYS_%s) gets %s, and seccomp cannot read its arguments (they are in memory; libseccomp copies %s's rules to socketcall without their first-argument test): a 32-bit process, or a 64-bit one through int $0x80, gets round the refusal. Refuse socketcall unconditionally (hardened: SCMP_ACT_ERRNO, errnoRet 38), or leave SCMP_ARCH_X86 out",
				name, n, strings.ToUpper(name), v, name)
		}
	}
}

// socketcallRules returns the verdict of an unconditional socketcall rule
// runc would load (nil if none; the stricter if several), and the
// conditional ones.
func socketcallRules(s *specs.LinuxSeccomp, def profile.Verdict) (*profile.Verdict, []specs.LinuxSyscall) {
	var uncond *profile.Verdict
	var cond []specs.LinuxSyscall
	for _, sc := range s.Syscalls {
		v, err := profile.VerdictOf(sc.Action, sc.ErrnoRet)
		if err != nil || v == def || !slices.Contains(sc.Names, "socketcall") {
			continue // runc skips rules with the default action
		}
		if len(sc.Args) > 0 {
			cond = append(cond, sc)
			continue
		}
		if uncond == nil {
			uncond = &v
		} else {
			w := profile.Stricter(*uncond, v)
			uncond = &w
		}
	}
	return uncond, cond
}

// explicitFor returns the conditional socketcall rules that can match call
// number n, as muxRules.
func explicitFor(rules []specs.LinuxSyscall, n uint64) []muxRule {
	var out []muxRule
	for i, sc := range rules {
		v, _ := profile.VerdictOf(sc.Action, sc.ErrnoRet)
		r := muxRule{idx: -1 - i, verdict: v, always: true}
		var rest []string
		for _, a := range sc.Args {
			c := profile.Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo}
			switch {
			case a.Index == 0 && !c.Holds(n):
				r.verdict = profile.Verdict{} // cannot match n
			case a.Index == 0 && a.Op != specs.OpEqualTo:
				r.key = "explicit " + c.String() // a different condition from "== n"
			case a.Index != 0:
				r.always = false
				rest = append(rest, c.String())
			}
		}
		if r.verdict == (profile.Verdict{}) {
			continue
		}
		if len(rest) > 0 {
			r.key += strings.Join(rest, "&&")
		}
		out = append(out, r)
	}
	return out
}

// muxRules returns the rules libseccomp adds to socketcall for name.
func muxRules(s *specs.LinuxSeccomp, def profile.Verdict, name string) []muxRule {
	var out []muxRule
	for i, sc := range s.Syscalls {
		v, err := profile.VerdictOf(sc.Action, sc.ErrnoRet)
		if err != nil || v == def || !slices.Contains(sc.Names, name) {
			continue
		}
		r := muxRule{idx: i, verdict: v, always: true}
		var rest []string
		for _, a := range sc.Args {
			if a.Index == 0 {
				continue // replaced by the call number
			}
			r.always = false
			rest = append(rest, profile.Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo}.String())
		}
		r.key = strings.Join(rest, "&&")
		out = append(out, r)
	}
	return out
}

// lintMuxConflict reports two rules that libseccomp puts on the same
// socketcall condition with different actions: it refuses the second with
// EEXIST, so runc cannot start any container with the profile on a node
// that has the x86 ABI.
func lintMuxConflict(n int, name string, rules []muxRule, add func(Severity, string, string, string, ...any)) {
	first := map[string]muxRule{}
	for _, r := range rules {
		f, ok := first[r.key]
		if !ok {
			first[r.key] = r
			continue
		}
		if f.verdict != r.verdict {
			add(SevError, CheckSocketcallConflict, fieldOf(r.idx), "runc cannot load this profile with SCMP_ARCH_X86: libseccomp turns %s's rules into socketcall(%d, ...) rules without their first-argument test, and %s gives %s where %s gives %s on the same condition (EEXIST)",
				name, n, fieldOf(r.idx), r.verdict, fieldOf(f.idx), f.verdict)
			return
		}
	}
}

// fieldOf names a rule: syscalls[i] for a muxed one, "a socketcall rule"
// for an explicit one (negative index).
func fieldOf(idx int) string {
	if idx < 0 {
		return "a socketcall rule"
	}
	return fmt.Sprintf("syscalls[%d]", idx)
}

// refusesSome reports whether name is refused for some arguments on x86.
func refusesSome(p *profile.Profile, name string) bool {
	sc, ok := p.Syscalls[name]
	if !ok {
		return p.Default.Level.Denies()
	}
	if sc.Fallback.Level.Denies() {
		return true
	}
	return slices.ContainsFunc(sc.Rules, func(r profile.CondRule) bool { return r.Verdict.Level.Denies() })
}

// letsThrough returns a verdict socketcall may give the call that does not
// refuse it, if there is one.
func letsThrough(def profile.Verdict, uncond *profile.Verdict, rules []muxRule) (profile.Verdict, bool) {
	if uncond != nil {
		return *uncond, !uncond.Level.Denies()
	}
	fallback := true // no rule may match: the default applies
	for _, r := range rules {
		if !r.verdict.Level.Denies() {
			return r.verdict, true
		}
		fallback = fallback && !r.always
	}
	return def, fallback && !def.Level.Denies()
}
