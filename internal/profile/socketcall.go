package profile

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// On 32-bit x86, libseccomp (2.5.4, as runc uses it) multiplexes the socket
// calls: every rule on socket, bind, ... is also added to socketcall(2), with
// its first-argument comparison replaced by "call number == N" and its other
// comparisons kept (they then compare socketcall's pointer and whatever the
// other registers hold). The direct syscall keeps its own rule. Only an
// unconditional socketcall rule overrides the copies; copies that land on
// one condition with different actions make libseccomp refuse the whole
// filter (EEXIST), and runc then starts no container. All of this was
// measured against libseccomp (TestSocketcallMatchesLibseccomp).
//
// The model therefore treats socketcall on a profile listing x86 as derived:
// FromSpec adds the copies to socketcall's rules, and ToSpec checks that the
// copies of what it writes reproduce the model's socketcall, writing socketcall
// unconditionally (stricter) where they would not.

// muxedCalls maps the calls libseccomp copies to socketcall to their call
// numbers (SYS_* in linux/net.h). accept, send and recv, which i386 has no
// direct syscall for, are copied too in any filter with an unconditional
// rule besides; in a filter with none, libseccomp 2.5.4 sometimes left them
// out, along with the x86_64 rules of filters with socket calls only
// (measured; real profiles are never that small, and the property tests
// keep one such rule in every generated profile).
var muxedCalls = map[string]uint64{
	"socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6,
	"getpeername": 7, "socketpair": 8, "send": 9, "recv": 10, "sendto": 11, "recvfrom": 12,
	"shutdown": 13, "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
	"accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}

// muxesSocketcall reports whether libseccomp copies socket rules to
// socketcall for a filter with these architectures.
func muxesSocketcall(arches []specs.Arch) bool { return slices.Contains(arches, specs.ArchX86) }

// addMuxed records the socketcall copy of an OCI rule on socket call name
// (arguments args, verdict v, not the default).
func (per *accs) addMuxed(name string, args []specs.LinuxSeccompArg, v Verdict) {
	n := muxedCalls[name]
	callNo := specs.LinuxSeccompArg{Index: 0, Op: specs.OpEqualTo, Value: n}
	split := repeatsIndex(args)
	copyOf := func(args []specs.LinuxSeccompArg) {
		out := []specs.LinuxSeccompArg{callNo}
		for _, a := range args {
			if a.Index != 0 {
				out = append(out, a)
			}
		}
		per.add("socketcall", out, splitArgs(out, v), v, nil)
	}
	if !split {
		copyOf(args)
		return
	}
	// runc adds each comparison as a rule of its own; each is copied.
	for _, a := range args {
		copyOf([]specs.LinuxSeccompArg{a})
	}
}

// socketcallOf returns what libseccomp makes of socketcall for section s
// (default def) on x86, with notes where that is unspecified or refused.
func socketcallOf(s *specs.LinuxSeccomp, def Verdict) (*Syscall, []string) {
	per := accs{m: map[string]*Syscall{}}
	var notes []string
	for _, sc := range s.Syscalls {
		v, _ := VerdictOf(sc.Action, sc.ErrnoRet)
		if v == def {
			continue
		}
		for _, name := range sc.Names {
			if name == "socketcall" {
				notes = per.add(name, sc.Args, splitArgs(sc.Args, v), v, notes)
			}
			if _, ok := muxedCalls[name]; ok {
				per.addMuxed(name, sc.Args, v)
			}
		}
	}
	sc := per.m["socketcall"]
	if sc == nil {
		return &Syscall{Fallback: def}, notes
	}
	return sc, append(notes, finish(sc, "socketcall", def)...)
}

// socketcallFits compares got, what libseccomp makes of a written section's
// socketcall, with want, the model's: same reports identical behaviour,
// notLooser that got is at least as strict on every call (a different errno
// counts as looser).
func socketcallFits(got, want *Syscall) (same, notLooser bool) {
	dom, ok := singleArg(got, want)
	if !ok {
		eq := got.Fallback == want.Fallback && slices.EqualFunc(got.Rules, want.Rules, func(r, q CondRule) bool {
			return r.Verdict == q.Verdict && slices.Equal(r.Conds, q.Conds)
		})
		return eq, eq
	}
	same, notLooser = true, true
	dom.combine(got, want, func(a, b Verdict) Verdict {
		if a != b {
			same = false
			notLooser = notLooser && a.Level > b.Level
		}
		return a
	})
	return same, notLooser
}

// notDefault returns the verdict to write for socketcall instead of the
// default def, which runc would skip (and a skipped socketcall rule lets the
// copies through): one that refuses like def. For a logging default there is
// none that neither refuses nor needs a listener or tracer: it returns Allow,
// which loses log lines, never calls (ok=false says so).
func notDefault(def Verdict) (v Verdict, ok bool) {
	switch {
	case def.Level == LevelNotify || def.Level == LevelTrace ||
		def.Level == LevelErrno && def.Ret != uint(unix.ENOSYS):
		return Verdict{Level: LevelErrno, Ret: uint(unix.ENOSYS)}, true
	case def.Level == LevelErrno:
		return EPERM, true
	case def.Level == LevelKillProcess:
		return Verdict{Level: LevelKillThread}, true
	case def.Level == LevelAllow:
		return Log, true
	case def.Level == LevelLog:
		return Allow, false
	}
	return Verdict{Level: def.Level + 1}, true // trap or kill-thread: the next kill
}

// socketcallOverride decides whether out, written from p, must write
// socketcall unconditionally to be loadable and never looser than p on x86:
// it returns the verdict to write then (nil when out stands), and a note
// where the written socketcall differs from p's.
func (p *Profile) socketcallOverride(out *specs.LinuxSeccomp) (*Verdict, string) {
	if !muxesSocketcall(out.Architectures) {
		return nil, ""
	}
	const copies = "socketcall: on x86 libseccomp copies the rules of socket, bind, ... to socketcall(n, ...) without their first-argument test"
	want := p.lookup("socketcall")
	got, unsure := socketcallOf(out, p.Default)
	same, notLooser := socketcallFits(got, want)
	switch {
	case len(unsure) == 0 && same:
		return nil, ""
	case len(unsure) == 0 && notLooser:
		return nil, copies + ", which makes socketcall stricter than the result: " + rulesString(got.Rules) + fmt.Sprintf(", otherwise %s", got.Fallback)
	}
	v, strict := strictestReached(want), true
	if v == p.Default {
		v, strict = notDefault(p.Default)
	}
	if !strict && len(unsure) == 0 {
		// Only log lines are lost either way: keep the copies.
		return nil, copies + fmt.Sprintf(", which makes socketcall on x86 give %s, otherwise %s: calls the result logs are not logged", rulesString(got.Rules), got.Fallback)
	}
	if strict && !want.conditional() && v == want.Fallback {
		return &v, "" // exactly the model's socketcall
	}
	why := "would let calls through that the result refuses"
	switch {
	case len(unsure) > 0:
		why = "would overlap or conflict (libseccomp refuses two rules on one condition with different actions: EEXIST, and runc starts no container)"
	}
	note := fmt.Sprintf("%s, and the copies %s; socketcall is written as %s for every call, the only rule that overrides the copies", copies, why, v)
	switch {
	case !strict:
		note += " (the default, SCMP_ACT_LOG, would be skipped by runc: those calls are not logged)"
	case v.Level == LevelKillThread && p.Default.Level == LevelKillProcess:
		note += " (the default, SCMP_ACT_KILL_PROCESS, would be skipped by runc: only the calling thread is killed)"
	}
	return &v, note
}

// strictestReached is the strictest verdict sc gives some call: its fallback
// counts only if some value reaches it (an audit result's rules can cover
// every value).
func strictestReached(sc *Syscall) Verdict {
	dom, ok := singleArg(sc)
	if !ok || dom.masked {
		return sc.max()
	}
	part := dom.of(sc)
	v := part.segs[0].v
	for _, s := range part.segs[1:] {
		v = Stricter(v, s.v)
	}
	return v
}
