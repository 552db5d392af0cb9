package profiletool

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// socketcallCase is a profile and the socketcall findings lint must give it
// (check, severity, a substring of the message), exactly.
type socketcallCase struct {
	name string
	doc  string
	want []Finding
	// bypass is a call number that gets through socketcall although the
	// direct call is refused for some arguments (0: none), for the oracle.
	bypass uint64
	// refused: the oracle must see socketcall(SYS_SOCKET) refused.
	refused bool
}

const allArches = `"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]`

func socketcallDoc(def, arches string, rules ...string) string {
	return fmt.Sprintf(`{"defaultAction": %q, %s, "syscalls": [%s]}`, def, arches, strings.Join(rules, ", "))
}

const (
	allowInet      = `{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}`
	socketcallNone = `{"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}`
	socketcallOne  = `{"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}`
	socketcallAll  = `{"names": ["socketcall"], "action": "SCMP_ACT_ALLOW"}`
)

func socketcallCases(t *testing.T) []socketcallCase {
	rd, _ := Builtin("runtime-default")
	bypass := func(name string, n int) Finding {
		return Finding{Severity: SevWarning, Check: CheckSocketcall, Message: fmt.Sprintf("%s is refused for some arguments, but on x86 socketcall(%d, ...)", name, n)}
	}
	return []socketcallCase{
		{"runtime-default: socket family rules, socketcall allowed", string(rd), []Finding{bypass("socket", 1)}, 1, false},
		{"family rule, socketcall never named: libseccomp copies the allow rule", socketcallDoc("SCMP_ACT_ERRNO", allArches, allowInet), []Finding{bypass("socket", 1)}, 1, false},
		{"family rule, socketcall refused whole", socketcallDoc("SCMP_ACT_ERRNO", allArches, allowInet, socketcallNone), nil, 0, true},
		{"family rule, no x86", socketcallDoc("SCMP_ACT_ERRNO", `"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]`, allowInet), nil, 0, true},
		{"family rule, socketcall(SYS_SOCKET) alone refused: EEXIST", socketcallDoc("SCMP_ACT_ERRNO", allArches, allowInet, socketcallOne),
			[]Finding{{Severity: SevError, Check: CheckSocketcallConflict, Field: "a socketcall rule", Message: "runc cannot load this profile with SCMP_ARCH_X86"}, bypass("socket", 1)}, 1, false},
		{"two actions on socket: EEXIST", socketcallDoc("SCMP_ACT_ERRNO", allArches, allowInet,
			`{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97, "args": [{"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]}`),
			[]Finding{{Severity: SevError, Check: CheckSocketcallConflict, Field: "syscalls[1]", Message: "syscalls[1] gives SCMP_ACT_ERRNO(EAFNOSUPPORT) where syscalls[0] gives SCMP_ACT_ALLOW"}, bypass("socket", 1)}, 1, false},
		{"deny list refusing a family: libseccomp refuses socketcall(SYS_SOCKET) whole", socketcallDoc("SCMP_ACT_ALLOW", allArches,
			`{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}]}`), nil, 0, true},
		{"socket refused, socketcall allowed", socketcallDoc("SCMP_ACT_ERRNO", allArches, socketcallAll), []Finding{
			bypass("socket", 1), bypass("bind", 2), bypass("connect", 3), bypass("listen", 4), bypass("accept", 5), bypass("getsockname", 6),
			bypass("getpeername", 7), bypass("socketpair", 8), bypass("send", 9), bypass("recv", 10), bypass("sendto", 11), bypass("recvfrom", 12),
			bypass("shutdown", 13), bypass("setsockopt", 14), bypass("getsockopt", 15), bypass("sendmsg", 16), bypass("recvmsg", 17),
			bypass("accept4", 18), bypass("recvmmsg", 19), bypass("sendmmsg", 20)}, 1, false},
		{"rule on another argument: copied with it, still lets other families through", socketcallDoc("SCMP_ACT_ERRNO", allArches,
			`{"names": ["bind"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 16, "op": "SCMP_CMP_EQ"}]}`), []Finding{bypass("bind", 2)}, 2, false},
		{"no socket call refused", socketcallDoc("SCMP_ACT_ALLOW", allArches, `{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"}`), nil, 0, false},
	}
}

func TestLintSocketcall(t *testing.T) {
	for _, tc := range socketcallCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var got []Finding
			for _, f := range lintOf(t, tc.doc) {
				if f.Check == CheckSocketcall || f.Check == CheckSocketcallConflict {
					got = append(got, f)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d socketcall findings %v; want %d %v", len(got), got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Severity != w.Severity || g.Check != w.Check || g.Field != w.Field || !strings.Contains(g.Message, w.Message) {
					t.Errorf("finding %d = %q; want %s %s %s ...%s...", i, g, w.Severity, w.Check, w.Field, w.Message)
				}
			}
		})
	}
}

// TestLintSocketcallBuiltins: hardened and minimal close the hole;
// runtime-default (containerd's) is the only shipped profile with it.
func TestLintSocketcallBuiltins(t *testing.T) {
	for _, name := range []string{"hardened", "minimal", "unconfined"} {
		b, _ := Builtin(name)
		if i := slices.IndexFunc(lintOf(t, string(b)), func(f Finding) bool { return strings.HasPrefix(f.Check, "socketcall") }); i >= 0 {
			t.Errorf("%s: %v", name, lintOf(t, string(b))[i])
		}
	}
}
