package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var testOpts = Options{Builtins: map[string]*specs.LinuxSeccomp{
	"runtime-default": {
		DefaultAction: specs.ActErrno,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}},
	},
	"unconfined": {DefaultAction: specs.ActAllow},
}}

// header is lines 1 and 2 of every test document; bodies start at line 3.
const header = "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\n"

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// want is an expected problem: exact line and field, message substring.
type want struct {
	line  int
	field string
	msg   string
}

// checkProblems asserts that err is a LoadError with exactly the wanted
// problems, in order, all in file.
func checkProblems(t *testing.T, err error, file string, wants []want) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d problems", len(wants))
	}
	if !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("errors.Is(err, ErrInvalidPolicy) = false for %v", err)
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error is %T, want *LoadError: %v", err, err)
	}
	if len(le.Problems) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(le.Problems), len(wants), err)
	}
	for i, w := range wants {
		p := le.Problems[i]
		if p.File != file || p.Line != w.line || p.Field != w.field || !strings.Contains(p.Message, w.msg) {
			t.Errorf("problem %d:\n got  %s\n want %s:%d: %s: ...%s...", i, p, file, w.line, w.field, w.msg)
		}
	}
}

func TestParseProblems(t *testing.T) {
	const okRule = "- {name: ok, action: exempt}"
	cases := []struct {
		name string
		src  string
		want []want
	}{
		{"yaml syntax error", header + lines("rules:", "- name: a", "\taction: exempt"),
			[]want{{4, "", "YAML syntax error: found a tab character"}}},
		{"unclosed flow list", header + lines("rules: [", okRule),
			[]want{{3, "", "YAML syntax error: did not find expected node content"}}},
		{"unquoted star pattern", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: [*-prod]}"),
			[]want{{6, "", `YAML syntax error: unknown anchor '-prod' referenced (a value starting with '*' must be quoted: "*-prod")`}}},
		{"empty file", "",
			[]want{{1, "", "the file is empty"}}},
		{"only comments", "# nothing here\n",
			[]want{{1, "", "the file is empty"}}},
		{"root is a list", lines("- a"),
			[]want{{1, "", "expected a mapping, got a list"}}},
		{"two documents", header + lines("rules:", okRule, "---", "kind: x"),
			[]want{{6, "", "more than one YAML document"}}},
		{"wrong apiVersion", lines("apiVersion: v1", "kind: SeccompPolicy", "rules:", okRule),
			[]want{{1, "apiVersion", `unsupported apiVersion "v1" (want "nri-seccomp.io/v1alpha1")`}}},
		{"wrong kind", lines("apiVersion: nri-seccomp.io/v1alpha1", "kind: Policy", "rules:", okRule),
			[]want{{2, "kind", `unsupported kind "Policy" (want "SeccompPolicy")`}}},
		{"missing apiVersion and kind", lines("rules:", okRule),
			[]want{{1, "apiVersion", "is required"}, {1, "kind", "is required"}}},
		{"unknown top-level key", header + lines("rule:", okRule),
			[]want{{1, "rules", "policy has no rules"}, {3, "rule", `unknown field "rule" (did you mean "rules"?)`}}},
		{"unknown key without suggestion", header + lines("rules:", okRule, "zzz: 1"),
			[]want{{5, "zzz", `unknown field "zzz" (valid fields: apiVersion, kind, profiles, rules)`}}},
		{"misspelt action key", header + lines("rules:", "- name: a", "  acton: exempt"),
			[]want{
				{4, "rules[0].action", "is required (one of inject, tighten, exempt)"},
				{5, "rules[0].acton", `unknown field "acton" (did you mean "action"?)`},
			}},
		{"misspelt match key", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespace: [prod]}"),
			[]want{{6, "rules[0].match.namespace", `unknown field "namespace" (did you mean "namespaces"?)`}}},
		{"match field outside match", header + lines("rules:", "- name: a", "  action: exempt", "  namespaces: [prod]"),
			[]want{{6, "rules[0].namespaces", `unknown field "namespaces" (it belongs under match:)`}}},
		{"misspelt selector key", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchLabel: {a: b}}}"),
			[]want{{6, "rules[0].match.podSelector.matchLabel", `did you mean "matchLabels"?`}}},
		{"misspelt deny key", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, erno: ENOSYS}]"),
			[]want{{6, "rules[0].deny[0].erno", `did you mean "errno"?`}}},
		{"misspelt profile key", header + lines("profiles:", "  p: {fiel: x.json}", "rules:", okRule),
			[]want{
				{4, "profiles.p", "needs file (a profile JSON file) or inline"},
				{4, "profiles.p.fiel", `did you mean "file"?`},
			}},
		{"rules not a list", header + lines("rules: {name: a}"),
			[]want{{3, "rules", "expected a list, got a mapping"}}},
		{"name is a list", header + lines("rules:", "- name: [a]", "  action: exempt"),
			[]want{{4, "rules[0].name", "expected a string, got a list"}}},
		{"namespaces is a string", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: prod}"),
			[]want{{6, "rules[0].match.namespaces", "expected a list, got a string (write [prod])"}}},
		{"match is a list", header + lines("rules:", "- name: a", "  action: exempt", "  match: []"),
			[]want{{6, "rules[0].match", "expected a mapping, got a list"}}},
		{"match is null", header + lines("rules:", "- name: a", "  action: exempt", "  match:"),
			[]want{{6, "rules[0].match", "expected a mapping, got null (write {} for an empty mapping)"}}},
		{"boolean label value", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchLabels: {canary: true}}}"),
			[]want{{6, `rules[0].match.podSelector.matchLabels["canary"]`, `expected a string, got a boolean (quote it: "true")`}}},
		{"numeric namespace is a string", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: [2024]}", "- {name: b, action: exempt}", "- name: c", "  action: nope"),
			[]want{{9, "rules[2].action", `unknown action "nope"`}}},
		{"missing rule name", header + lines("rules:", "- action: exempt"),
			[]want{{4, "rules[0].name", "is required"}}},
		{"invalid rule name", header + lines("rules:", "- name: my rule", "  action: exempt"),
			[]want{{4, "rules[0].name", `invalid rule name "my rule"`}}},
		{"duplicate rule name", header + lines("rules:", "- name: floor", "  action: exempt", "- name: floor", "  action: exempt"),
			[]want{{6, "rules[1].name", `duplicate rule name "floor" (first at line 4)`}}},
		{"unknown action", header + lines("rules:", "- name: a", "  action: injct", "  profile: runtime-default"),
			[]want{{5, "rules[0].action", `unknown action "injct" (did you mean "inject"?) (valid: inject, tighten, exempt)`}}},
		{"unknown mode", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [bpf]", "  mode: audti"),
			[]want{{7, "rules[0].mode", `unknown mode "audti" (did you mean "audit"?)`}}},
		{"inject without profile", header + lines("rules:", "- name: a", "  action: inject"),
			[]want{{5, "rules[0].profile", "inject needs a profile"}}},
		{"exempt with profile, deny and audit", header + lines("rules:", "- name: a", "  action: exempt", "  profile: runtime-default", "  deny: [bpf]", "  mode: audit"),
			[]want{
				{6, "rules[0].profile", "exempt takes no profile"},
				{7, "rules[0].deny", "exempt takes no deny list"},
				{8, "rules[0].mode", "exempt cannot run in audit mode"},
			}},
		{"tighten with nothing", header + lines("rules:", "- name: a", "  action: tighten"),
			[]want{{5, "rules[0]", "tighten needs a profile to intersect with, a deny list, or both"}}},
		{"unknown profile", header + lines("rules:", "- name: a", "  action: inject", "  profile: runtime-defualt"),
			[]want{{6, "rules[0].profile", `unknown profile "runtime-defualt" (did you mean "runtime-default"?); known profiles: runtime-default, unconfined`}}},
		{"empty profile name", header + lines("rules:", "- name: a", "  action: inject", "  profile: ''"),
			[]want{{6, "rules[0].profile", "is empty"}}},
		{"profile with file and inline", header + lines("profiles:", "  p: {file: p.json, inline: {defaultAction: SCMP_ACT_ALLOW}}", "rules:", okRule),
			[]want{{4, "profiles.p", "has both file and inline; give exactly one"}}},
		{"profile with neither", header + lines("profiles:", "  p: {}", "rules:", okRule),
			[]want{{4, "profiles.p", "needs file (a profile JSON file) or inline (the profile itself)"}}},
		{"profile shadows a built-in", header + lines("profiles:", "  unconfined: {inline: {defaultAction: SCMP_ACT_ALLOW}}", "rules:", okRule),
			[]want{{4, "profiles.unconfined", `profile "unconfined" is a built-in profile`}}},
		{"invalid profile name", header + lines("profiles:", "  -bad: {inline: {defaultAction: SCMP_ACT_ALLOW}}", "rules:", okRule),
			[]want{{4, "profiles.-bad", `invalid profile name "-bad"`}}},
		{"invalid inline profile", header + lines("profiles:", "  tiny:", "    inline:", "      defaultAction: SCMP_ACT_ERRNO", "      syscalls:", "      - names: [read]", "        action: SCMP_ACT_NOPE", "rules:", okRule),
			[]want{{9, "profiles.tiny.inline.syscalls[0].action", `unknown action "SCMP_ACT_NOPE"`}}},
		{"inline profile with unknown key", header + lines("profiles:", "  tiny:", "    inline:", "      defaultAction: SCMP_ACT_ERRNO", "      syscals: []", "rules:", okRule),
			[]want{{7, "profiles.tiny.inline.syscals", `unknown key "syscals" (did you mean "syscalls"?)`}}},
		{"inline profile not a mapping", header + lines("profiles:", "  tiny: {inline: [a]}", "rules:", okRule),
			[]want{{4, "profiles.tiny.inline", "expected a mapping (a seccomp profile), got a list"}}},
		{"unknown syscall in deny", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [keyctl, mkdri]"),
			[]want{{6, "rules[0].deny[1]", `unknown syscall "mkdri" (did you mean "mkdir"?)`}}},
		{"unknown syscall in deny mapping", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bfp}]"),
			[]want{{6, "rules[0].deny[0].name", `unknown syscall "bfp"`}}},
		{"deny entry is a list", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [[bpf]]"),
			[]want{{6, "rules[0].deny[0]", "expected a syscall name or a mapping {name, action, errno}, got a list"}}},
		{"deny entry without name", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{errno: EPERM}]"),
			[]want{{6, "rules[0].deny[0].name", "is required"}}},
		{"deny action allow", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, action: SCMP_ACT_ALLOW}]"),
			[]want{{6, "rules[0].deny[0].action", "SCMP_ACT_ALLOW does not refuse the call"}}},
		{"deny action log", header + lines("rules:", "- name: a", "  action: tighten", "  deny:", "  - name: bpf", "    action: SCMP_ACT_LOG"),
			[]want{{8, "rules[0].deny[0].action", "SCMP_ACT_LOG does not refuse the call; a deny entry needs one of SCMP_ACT_ERRNO, SCMP_ACT_TRAP, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL (to only log, use mode: audit)"}}},
		{"deny action unknown", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, action: kill_process}]"),
			[]want{{6, "rules[0].deny[0].action", `unknown action "kill_process" (did you mean "SCMP_ACT_KILL_PROCESS"?)`}}},
		{"deny action misspelt", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, action: SCMP_ACT_KIL}]"),
			[]want{{6, "rules[0].deny[0].action", `unknown action "SCMP_ACT_KIL" (did you mean "SCMP_ACT_KILL"?)`}}},
		{"errno with kill", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, action: SCMP_ACT_KILL_PROCESS, errno: EPERM}]"),
			[]want{{6, "rules[0].deny[0].errno", "errno is only valid with SCMP_ACT_ERRNO, not SCMP_ACT_KILL_PROCESS"}}},
		{"unknown errno", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: ENOSYSS}]"),
			[]want{{6, "rules[0].deny[0].errno", `unknown errno "ENOSYSS" (did you mean "ENOSYS"?)`}}},
		{"unknown errno without suggestion", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: nope}]"),
			[]want{{6, "rules[0].deny[0].errno", `unknown errno "nope" (use a name such as EPERM`}}},
		{"errno zero", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: 0}]"),
			[]want{{6, "rules[0].deny[0].errno", "errno 0 would make the call appear to succeed"}}},
		{"errno too large", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: 4096}]"),
			[]want{{6, "rules[0].deny[0].errno", "errno 4096 is out of range (1-4095)"}}},
		{"errno negative", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: -1}]"),
			[]want{{6, "rules[0].deny[0].errno", "errno -1 is out of range"}}},
		{"errno boolean", header + lines("rules:", "- name: a", "  action: tighten", "  deny: [{name: bpf, errno: true}]"),
			[]want{{6, "rules[0].deny[0].errno", "expected a string, got a boolean"}}},
		{"duplicate deny", header + lines("rules:", "- name: a", "  action: tighten", "  deny:", "  - bpf", "  - {name: bpf, errno: ENOSYS}"),
			[]want{{8, "rules[0].deny[1]", `syscall "bpf" is listed twice (first at line 7)`}}},
		{"empty deny", header + lines("rules:", "- name: a", "  action: tighten", "  profile: runtime-default", "  deny: []"),
			[]want{{7, "rules[0].deny", "is empty"}}},
		{"invalid glob", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: [prod, 'team-[']}"),
			[]want{{6, "rules[0].match.namespaces[1]", `invalid pattern "team-[": syntax error`}}},
		{"invalid image glob", header + lines("rules:", "- name: a", "  action: exempt", `  match: {images: ['registry.example.com/\']}`),
			[]want{{6, "rules[0].match.images[0]", `invalid pattern "registry.example.com/\\": syntax error`}}},
		{"empty character range", header + lines("rules:", "- name: a", "  action: exempt", "  match: {containers: ['[z-a]*']}"),
			[]want{{6, "rules[0].match.containers[0]", `character range "[z-a" is empty`}}},
		{"uppercase namespace", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: [Prod]}"),
			[]want{{6, "rules[0].match.namespaces[0]", `pattern "Prod" can never match a namespace name: 'P' is not allowed`}}},
		{"underscore namespace", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: ['team_*']}"),
			[]want{{6, "rules[0].match.namespaces[0]", `'_' is not allowed`}}},
		{"slash in namespace", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: ['kube/*']}"),
			[]want{{6, "rules[0].match.namespaces[0]", `'/' is not allowed`}}},
		{"namespace ends with dash", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: ['team-']}"),
			[]want{{6, "rules[0].match.namespaces[0]", "names cannot start or end with '-'"}}},
		{"class outside namespace charset", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: ['[A-Z]*']}"),
			[]want{{6, "rules[0].match.namespaces[0]", "class [A-Z] matches none of a-z, 0-9 and '-'"}}},
		{"namespace too long", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: ['"+strings.Repeat("a", 64)+"*']}"),
			[]want{{6, "rules[0].match.namespaces[0]", "it needs at least 64 characters and names have at most 63"}}},
		{"uppercase container", header + lines("rules:", "- name: a", "  action: exempt", "  match: {containers: ['App*']}"),
			[]want{{6, "rules[0].match.containers[0]", `pattern "App*" can never match a container name`}}},
		{"empty pattern", header + lines("rules:", "- name: a", "  action: exempt", "  match: {images: ['']}"),
			[]want{{6, "rules[0].match.images[0]", "an empty pattern matches no image"}}},
		{"empty namespaces list", header + lines("rules:", "- name: a", "  action: exempt", "  match: {namespaces: []}"),
			[]want{{6, "rules[0].match.namespaces", "is empty, so it would match no namespace; remove the field to match every namespace"}}},
		{"invalid label key", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchLabels: {'Tier!': web}}}"),
			[]want{{6, `rules[0].match.podSelector.matchLabels["Tier!"]`, `invalid label key "Tier!"`}}},
		{"invalid label value", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchLabels: {tier: 'a b'}}}"),
			[]want{{6, `rules[0].match.podSelector.matchLabels["tier"]`, `invalid label value "a b"`}}},
		{"unknown selector operator", header + lines("rules:", "- name: a", "  action: exempt", "  match:", "    podSelector:", "      matchExpressions:", "      - {key: env, operator: in, values: [prod]}"),
			[]want{{9, "rules[0].match.podSelector.matchExpressions[0].operator", `unknown operator "in" (did you mean "In"?)`}}},
		{"In without values", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchExpressions: [{key: env, operator: In}]}}"),
			[]want{{6, "rules[0].match.podSelector.matchExpressions[0].values", "operator In needs at least one value"}}},
		{"Exists with values", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchExpressions: [{key: env, operator: Exists, values: [x]}]}}"),
			[]want{{6, "rules[0].match.podSelector.matchExpressions[0].values", "operator Exists takes no values"}}},
		{"expression without key and operator", header + lines("rules:", "- name: a", "  action: exempt", "  match: {podSelector: {matchExpressions: [{values: [x]}]}}"),
			[]want{
				{6, "rules[0].match.podSelector.matchExpressions[0].key", "is required"},
				{6, "rules[0].match.podSelector.matchExpressions[0].operator", "is required"},
			}},
		{"invalid annotation key", header + lines("rules:", "- name: a", "  action: exempt", "  match: {annotations: {'bad key': x}}"),
			[]want{{6, `rules[0].match.annotations["bad key"]`, `annotation key "bad key" can never match`}}},
		{"invalid annotation glob", header + lines("rules:", "- name: a", "  action: exempt", "  match: {annotations: {example.com/x: '[abc'}}"),
			[]want{{6, `rules[0].match.annotations["example.com/x"]`, `invalid pattern "[abc"`}}},
		{"invalid profileTypes", header + lines("rules:", "- name: a", "  action: exempt", "  match: {profileTypes: [unconfined, Docker]}"),
			[]want{
				{6, "rules[0].match.profileTypes[0]", `unknown profile type "unconfined" (did you mean "Unconfined"?)`},
				{6, "rules[0].match.profileTypes[1]", `unknown profile type "Docker" (valid: Unconfined, RuntimeDefault, Localhost)`},
			}},
		{"empty rules", header + lines("rules: []"),
			[]want{{3, "rules", "policy has no rules"}}},
		{"no rules key", header + lines("profiles: {}"),
			[]want{{1, "rules", "policy has no rules"}}},
		{"duplicate key", header + lines("rules:", "- name: a", "  action: exempt", "  action: inject"),
			[]want{{6, "rules[0].action", `duplicate key "action" (first at line 5)`}}},
		{"duplicate top-level key", header + lines("rules:", okRule, "rules:", "- {name: b, action: exempt}"),
			[]want{{5, "rules", `duplicate key "rules" (first at line 3)`}}},
		{"alias", header + lines("x: &m {namespaces: [a]}", "rules:", "- name: a", "  action: exempt", "  match: *m"),
			[]want{
				{3, "x", `unknown field "x"`},
				{7, "rules[0].match", "YAML aliases (*m) are not supported"},
			}},
		{"merge key", header + lines("rules:", "- name: a", "  action: exempt", "  match:", "    <<: {namespaces: [a]}"),
			[]want{{7, "rules[0].match", "merge keys (<<) are not supported"}}},
		{"alias in inline profile", header + lines("profiles:", "  p:", "    inline:", "      defaultAction: &a SCMP_ACT_ERRNO", "      defaultErrnoRet: *a", "rules:", okRule),
			[]want{{7, "profiles.p.inline.defaultErrnoRet", "YAML aliases (*a) are not supported"}}},
		{"self-referencing alias", header + lines("rules: &r [*r]"),
			[]want{{3, "rules[0]", "YAML aliases (*r) are not supported"}}},
		{"every problem at once", header + lines("rules:", "- name: a", "  action: bogus", "- name: a", "  action: inject", "  profile: nope"),
			[]want{
				{5, "rules[0].action", `unknown action "bogus"`},
				{6, "rules[1].name", `duplicate rule name "a"`},
				{8, "rules[1].profile", `unknown profile "nope"`},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := Parse([]byte(tc.src), "policy.yaml", testOpts)
			if pol != nil {
				t.Errorf("Parse returned a policy along with an error")
			}
			checkProblems(t, err, "policy.yaml", tc.want)
		})
	}
}

// TestParseValid checks that a policy using every feature decodes to exactly
// the rules it describes.
func TestParseValid(t *testing.T) {
	src := header + lines(
		"profiles:",
		"  tiny:",
		"    inline:",
		"      defaultAction: SCMP_ACT_ERRNO",
		"      syscalls:",
		"      - {names: [read, write, exit_group], action: SCMP_ACT_ALLOW}",
		"rules:",
		"- name: floor",
		"  match: {}",
		"  action: tighten",
		"  deny:",
		"  - keyctl",
		"  - {name: bpf, action: SCMP_ACT_KILL_PROCESS}",
		"  - {name: userfaultfd, errno: ENOSYS}",
		"  - {name: perf_event_open, errno: 38}",
		"  - {name: add_key, action: SCMP_ACT_ERRNO}",
		"- name: prod-needs-a-profile",
		"  match:",
		"    namespaces: [prod, 'team-*', '2024']",
		"    podSelector: {matchLabels: {tier: web}, matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}",
		"    annotations: {example.com/seccomp: 'strict*'}",
		"    containers: ['app*']",
		"    images: ['registry.example.com/*']",
		"    profileTypes: [Unconfined]",
		"  action: inject",
		"  profile: runtime-default",
		"- name: payments-trial",
		"  match: {namespaces: [payments]}",
		"  action: tighten",
		"  profile: tiny",
		"  mode: audit",
		"- name: node-agents",
		"  match: {namespaces: [kube-system]}",
		"  action: exempt",
		"  mode: enforce",
	)
	pol, err := Parse([]byte(src), "/etc/nri-seccomp/policy.yaml", testOpts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := pol.Files, []string{"/etc/nri-seccomp/policy.yaml"}; !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q", got, want)
	}
	if len(pol.ProfileFiles) != 0 {
		t.Errorf("ProfileFiles = %q, want none", pol.ProfileFiles)
	}
	if !strings.HasPrefix(pol.Revision, "sha256:") || len(pol.Revision) != len("sha256:")+64 {
		t.Errorf("Revision = %q, want sha256:<64 hex>", pol.Revision)
	}
	tiny := pol.Profiles["tiny"]
	if len(pol.Profiles) != 1 || tiny == nil || tiny.DefaultAction != specs.ActErrno || len(tiny.Syscalls) != 1 {
		t.Fatalf("Profiles = %+v, want just tiny", pol.Profiles)
	}
	if s, ok := pol.Profile("tiny"); !ok || s != tiny {
		t.Errorf("Profile(tiny) = %v, %v", s, ok)
	}
	if s, ok := pol.Profile("runtime-default"); !ok || s != testOpts.Builtins["runtime-default"] {
		t.Errorf("Profile(runtime-default) = %v, %v, want the built-in", s, ok)
	}
	if _, ok := pol.Profile("nope"); ok {
		t.Errorf("Profile(nope) found something")
	}

	type ruleWant struct {
		name    string
		line    int
		action  Action
		mode    Mode
		profile string
		deny    string
	}
	wants := []ruleWant{
		{"floor", 10, ActionTighten, ModeEnforce, "",
			"keyctl:SCMP_ACT_ERRNO:- bpf:SCMP_ACT_KILL_PROCESS:- userfaultfd:SCMP_ACT_ERRNO:38 perf_event_open:SCMP_ACT_ERRNO:38 add_key:SCMP_ACT_ERRNO:-"},
		{"prod-needs-a-profile", 19, ActionInject, ModeEnforce, "runtime-default", ""},
		{"payments-trial", 29, ActionTighten, ModeAudit, "tiny", ""},
		{"node-agents", 34, ActionExempt, ModeEnforce, "", ""},
	}
	if len(pol.Rules) != len(wants) {
		t.Fatalf("got %d rules, want %d", len(pol.Rules), len(wants))
	}
	for i, w := range wants {
		r := pol.Rules[i]
		var deny []string
		for _, d := range r.Deny {
			e := "-"
			if d.Errno != nil {
				e = strconv.FormatUint(uint64(*d.Errno), 10)
			}
			deny = append(deny, d.Name+":"+string(d.Action)+":"+e)
		}
		got := ruleWant{r.Name, r.Line, r.Action, r.Mode, r.Profile, strings.Join(deny, " ")}
		if got != w {
			t.Errorf("rule %d:\n got  %+v\n want %+v", i, got, w)
		}
		if r.File != "/etc/nri-seccomp/policy.yaml" {
			t.Errorf("rule %d File = %q", i, r.File)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const webProfile = `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}`

func TestProfileFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"profiles/web.json":    webProfile,
		"profiles/bad.json":    `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "SCMP_ACT_NOPE"}]}`,
		"profiles/broken.json": "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n}",
	})
	if err := os.Mkdir(filepath.Join(dir, "profiles/adir.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "policy.yaml")

	t.Run("valid", func(t *testing.T) {
		src := header + lines("profiles:", "  web: {file: profiles/web.json}", "rules:", "- {name: a, action: tighten, profile: web}")
		pol, err := Parse([]byte(src), policyFile, testOpts)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		web := pol.Profiles["web"]
		if web == nil || web.DefaultAction != specs.ActErrno || len(web.Syscalls) != 1 || len(web.Syscalls[0].Names) != 2 {
			t.Errorf("web = %+v", web)
		}
		if want := []string{filepath.Join(dir, "profiles/web.json")}; !slices.Equal(pol.ProfileFiles, want) {
			t.Errorf("ProfileFiles = %q, want %q", pol.ProfileFiles, want)
		}
	})

	t.Run("absolute path", func(t *testing.T) {
		src := header + lines("profiles:", "  web: {file: '"+filepath.Join(dir, "profiles/web.json")+"'}", "rules:", "- {name: a, action: tighten, profile: web}")
		if _, err := Parse([]byte(src), "/elsewhere/policy.yaml", testOpts); err != nil {
			t.Fatalf("Parse: %v", err)
		}
	})

	cases := []struct {
		name string
		decl string
		want want
	}{
		{"missing", "{file: profiles/nope.json}",
			want{4, "profiles.p.file", "cannot read profile: open " + filepath.Join(dir, "profiles/nope.json") + ": no such file or directory"}},
		{"directory", "{file: profiles/adir.json}",
			want{4, "profiles.p.file", "adir.json: not a regular file: it is a directory"}},
		{"empty path", "{file: ''}",
			want{4, "profiles.p.file", "is empty"}},
		{"invalid contents", "{file: profiles/bad.json}",
			want{4, "profiles.p (profiles/bad.json) syscalls[1].action", `unknown action "SCMP_ACT_NOPE"`}},
		{"invalid JSON", "{file: profiles/broken.json}",
			want{4, "profiles.p (profiles/broken.json)", "line 4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := header + lines("profiles:", "  p: "+tc.decl, "rules:", "- {name: a, action: tighten, profile: p}")
			_, err := Parse([]byte(src), policyFile, testOpts)
			checkProblems(t, err, policyFile, []want{tc.want})
		})
	}

	t.Run("missing file unwraps to fs.ErrNotExist", func(t *testing.T) {
		src := header + lines("profiles:", "  p: {file: nope.json}", "rules:", "- {name: a, action: tighten, profile: p}")
		_, err := Parse([]byte(src), policyFile, testOpts)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
		}
	})
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// Read in lexical order: 10-floor.yaml, 20-web.yml, 30-late.yaml.
		"20-web.yml": header + lines("rules:", "- {name: web, action: tighten, profile: web}"),
		"10-floor.yaml": header + lines("profiles:", "  web: {file: profiles/web.json}",
			"rules:", "- {name: floor, action: tighten, deny: [bpf]}"),
		"30-late.yaml":      header + lines("rules:", "- {name: late, action: exempt}"),
		".hidden.yaml":      "not: [valid",
		"README.md":         "not a policy",
		"profiles/web.json": webProfile,
		"sub/40-deep.yaml":  "not: [valid",
	})
	if err := os.Mkdir(filepath.Join(dir, "dir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	pol, err := Load(dir, testOpts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantFiles := []string{filepath.Join(dir, "10-floor.yaml"), filepath.Join(dir, "20-web.yml"), filepath.Join(dir, "30-late.yaml")}
	if !slices.Equal(pol.Files, wantFiles) {
		t.Errorf("Files = %q, want %q", pol.Files, wantFiles)
	}
	var names []string
	for _, r := range pol.Rules {
		names = append(names, r.Name+"@"+filepath.Base(r.File))
	}
	if want := []string{"floor@10-floor.yaml", "web@20-web.yml", "late@30-late.yaml"}; !slices.Equal(names, want) {
		t.Errorf("rules = %q, want %q", names, want)
	}
	if pol.Profiles["web"] == nil {
		t.Errorf("profile declared in one file not loaded")
	}
}

func TestLoadProblems(t *testing.T) {
	t.Run("duplicates across files", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
		writeFiles(t, dir, map[string]string{
			"a.yaml": header + lines("profiles:", "  p: {inline: {defaultAction: SCMP_ACT_ERRNO}}", "rules:", "- name: floor", "  action: tighten", "  deny: [bpf]"),
			"b.yaml": header + lines("profiles:", "  p: {inline: {defaultAction: SCMP_ACT_ERRNO}}", "rules:", "- name: floor", "  action: exempt", "- name: x", "  action: oops"),
		})
		_, err := Load(dir, testOpts)
		var le *LoadError
		if !errors.As(err, &le) {
			t.Fatalf("Load error = %v, want LoadError", err)
		}
		got := make([]string, len(le.Problems))
		for i, p := range le.Problems {
			got[i] = p.String()
		}
		want := []string{
			b + ":4:3: profiles.p: profile \"p\" is declared twice (first at " + a + ":4)",
			b + ":6:9: rules[0].name: duplicate rule name \"floor\" (first at " + a + ":6)",
			b + ":9:11: rules[1].action: unknown action \"oops\" (valid: inject, tighten, exempt)",
		}
		if !slices.Equal(got, want) {
			t.Errorf("problems:\n got  %q\n want %q", got, want)
		}
	})

	t.Run("problems in file order", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"a.yaml": header + lines("rules:", "- {name: a, action: tighten, profile: later}"),
			"b.yaml": header + lines("rules:", "- {name: b, action: nope}"),
		})
		_, err := Load(dir, testOpts)
		if err == nil {
			t.Fatal("no error")
		}
		want := filepath.Join(dir, "a.yaml") + ":4:39: rules[0].profile: unknown profile \"later\"; known profiles: runtime-default, unconfined\n" +
			filepath.Join(dir, "b.yaml") + ":4:21: rules[0].action: unknown action \"nope\" (valid: inject, tighten, exempt)"
		if err.Error() != want {
			t.Errorf("error:\n got  %s\n want %s", err, want)
		}
	})

	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"notes.txt": "x"})
		_, err := Load(dir, testOpts)
		checkProblems(t, err, dir, []want{{0, "", "no *.yaml or *.yml files in the policy directory"}})
	})

	t.Run("missing path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(p, testOpts)
		checkProblems(t, err, p, []want{{0, "", "cannot read policy: stat: no such file or directory"}})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("errors.Is(err, fs.ErrNotExist) = false")
		}
	})

	t.Run("file with no rules among others", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"a.yaml": header + lines("profiles:", "  p: {inline: {defaultAction: SCMP_ACT_ERRNO}}"),
			"b.yaml": header + lines("rules:", "- {name: b, action: tighten, profile: p}"),
		})
		if _, err := Load(dir, testOpts); err != nil {
			t.Errorf("Load: %v", err)
		}
	})

	t.Run("directory with no rules at all", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"a.yaml": header + lines("profiles: {}"),
			"b.yaml": header + lines("rules: []"),
		})
		_, err := Load(dir, testOpts)
		checkProblems(t, err, filepath.Join(dir, "b.yaml"), []want{{3, "rules", "policy has no rules"}})
	})

	t.Run("unparsable file suppresses no-rules", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"a.yaml": "rules: [\n"})
		_, err := Load(dir, testOpts)
		checkProblems(t, err, filepath.Join(dir, "a.yaml"), []want{{1, "", "YAML syntax error"}})
	})
}

func TestRevision(t *testing.T) {
	src := header + lines("profiles:", "  web: {file: web.json}", "rules:", "- {name: a, action: tighten, profile: web}", "- {name: b, action: inject, profile: runtime-default}")
	load := func(dir, profile string, opts Options) string {
		t.Helper()
		writeFiles(t, dir, map[string]string{"policy.yaml": src, "web.json": profile})
		pol, err := Load(filepath.Join(dir, "policy.yaml"), opts)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return pol.Revision
	}
	base := load(t.TempDir(), webProfile, testOpts)
	if again := load(t.TempDir(), webProfile, testOpts); again != base {
		t.Errorf("same policy in another directory: revision %s, want %s", again, base)
	}
	parsed, err := Parse([]byte(src), filepath.Join(t.TempDir(), "policy.yaml"), testOpts)
	if err == nil {
		t.Errorf("Parse found web.json in an empty directory: %v", parsed.Revision)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.json": webProfile})
	parsed, err = Parse([]byte(src), filepath.Join(dir, "policy.yaml"), testOpts)
	if err != nil || parsed.Revision != base {
		t.Errorf("Parse revision = %v (%v), want the same as Load: %s", parsed, err, base)
	}
	changedProfile := strings.Replace(webProfile, `"write"`, `"write", "close"`, 1)
	if rev := load(t.TempDir(), changedProfile, testOpts); rev == base {
		t.Errorf("revision unchanged after the profile file changed")
	}
	opts := Options{Builtins: map[string]*specs.LinuxSeccomp{
		"runtime-default": {DefaultAction: specs.ActKillProcess},
		"unconfined":      testOpts.Builtins["unconfined"],
	}}
	if rev := load(t.TempDir(), webProfile, opts); rev == base {
		t.Errorf("revision unchanged after a built-in profile the policy uses changed")
	}
	opts.Builtins["unconfined"] = &specs.LinuxSeccomp{DefaultAction: specs.ActLog}
	opts.Builtins["runtime-default"] = testOpts.Builtins["runtime-default"]
	if rev := load(t.TempDir(), webProfile, opts); rev != base {
		t.Errorf("revision changed after a built-in profile the policy does not use changed")
	}
}

func TestProblemString(t *testing.T) {
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "p.yaml", Line: 3, Column: 5, Field: "rules[0].action", Message: "bad"}, "p.yaml:3:5: rules[0].action: bad"},
		{Problem{File: "p.yaml", Line: 3, Field: "rules", Message: "bad"}, "p.yaml:3: rules: bad"},
		{Problem{File: "p.yaml", Line: 3, Message: "bad"}, "p.yaml:3: bad"},
		{Problem{File: "p.yaml", Message: "bad"}, "p.yaml: bad"},
		{Problem{File: "p.yaml", Column: 4, Message: "bad"}, "p.yaml: bad"},
		{Problem{Message: "bad"}, "bad"},
	}
	for _, tc := range cases {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	err := &LoadError{Problems: []Problem{cases[0].p, cases[3].p}}
	if got, want := err.Error(), "p.yaml:3:5: rules[0].action: bad\np.yaml: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) true without such a cause")
	}
}

func TestLogDenied(t *testing.T) {
	rule := func(extra string) string {
		return header + lines("rules:", "- name: a", "  match: {}", "  action: tighten", "  deny: [keyctl]", extra)
	}
	// Accepted where runc applies seccomp flags.
	pol, err := Parse([]byte(rule("  logDenied: true")), "policy.yaml", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !pol.Rules[0].LogDenied {
		t.Fatal("logDenied: true was not read")
	}
	if pol, err := Parse([]byte(rule("  logDenied: false")), "policy.yaml", testOpts); err != nil || pol.Rules[0].LogDenied {
		t.Fatalf("logDenied: false: %v", err)
	}
	// Refused, naming the reason, where it cannot work.
	old := testOpts
	old.SeccompFlags = errors.New("runc cannot apply seccomp flags (runc >= 1.2 is needed): /usr/sbin/runc is runc 1.1.5")
	_, err = Parse([]byte(rule("  logDenied: true")), "policy.yaml", old)
	checkProblems(t, err, "policy.yaml", []want{{8, "rules[0].logDenied", "cannot be used on this node: runc cannot apply seccomp flags (runc >= 1.2 is needed): /usr/sbin/runc is runc 1.1.5"}})
	// false needs nothing from runc.
	if _, err := Parse([]byte(rule("  logDenied: false")), "policy.yaml", old); err != nil {
		t.Fatalf("logDenied: false must load on any runc: %v", err)
	}
	_, err = Parse([]byte(rule("  logDenied: yes please")), "policy.yaml", testOpts)
	checkProblems(t, err, "policy.yaml", []want{{8, "rules[0].logDenied", "expected true or false"}})
	_, err = Parse([]byte(header+lines("rules:", "- name: a", "  action: exempt", "  logDenied: true")), "policy.yaml", testOpts)
	checkProblems(t, err, "policy.yaml", []want{{6, "rules[0].logDenied", "exempt takes no logDenied"}})
}
