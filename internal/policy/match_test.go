package policy

import (
	"path"
	"strings"
	"testing"
)

// ruleMatching returns the single rule of a policy whose match is the given
// YAML flow mapping.
func ruleMatching(t testing.TB, match string) *Rule {
	t.Helper()
	src := header + lines("rules:", "- name: r", "  action: exempt", "  match: "+match)
	pol, err := Parse([]byte(src), "policy.yaml", testOpts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol.Rules[0]
}

func TestMatch(t *testing.T) {
	type probe struct {
		in     MatchInput
		want   bool
		reason string // exact
	}
	labels := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name   string
		match  string
		probes []probe
	}{
		{"empty match", "{}", []probe{
			{MatchInput{}, true, "every container"},
			{MatchInput{Namespace: "prod", Container: "app", ProfileType: "RuntimeDefault"}, true, "every container"},
		}},
		{"empty selector and annotations", "{podSelector: {}, annotations: {}}", []probe{
			{MatchInput{Namespace: "x"}, true, "every container"},
		}},
		{"namespace globs", "{namespaces: [prod, 'team-*']}", []probe{
			{MatchInput{Namespace: "prod"}, true, `namespace "prod" matches "prod"`},
			{MatchInput{Namespace: "team-a"}, true, `namespace "team-a" matches "team-*"`},
			{MatchInput{Namespace: "team-"}, true, `namespace "team-" matches "team-*"`},
			{MatchInput{Namespace: "dev"}, false, `namespace "dev" not in [prod team-*]`},
			{MatchInput{Namespace: "production"}, false, `namespace "production" not in [prod team-*]`},
			{MatchInput{}, false, `namespace "" not in [prod team-*]`},
		}},
		{"namespace classes", "{namespaces: ['?a', '[a-c]x', '[^a]y', 'k\\-s']}", []probe{
			{MatchInput{Namespace: "ba"}, true, `namespace "ba" matches "?a"`},
			{MatchInput{Namespace: "bx"}, true, `namespace "bx" matches "[a-c]x"`},
			{MatchInput{Namespace: "by"}, true, `namespace "by" matches "[^a]y"`},
			{MatchInput{Namespace: "k-s"}, true, `namespace "k-s" matches "k\\-s"`},
			{MatchInput{Namespace: "ay"}, false, `namespace "ay" not in [?a [a-c]x [^a]y k\-s]`},
			{MatchInput{Namespace: "dx"}, false, `namespace "dx" not in [?a [a-c]x [^a]y k\-s]`},
		}},
		{"container globs", "{containers: ['app*']}", []probe{
			{MatchInput{Container: "app"}, true, `container "app" matches "app*"`},
			{MatchInput{Container: "app-1"}, true, `container "app-1" matches "app*"`},
			{MatchInput{Container: "sidecar"}, false, `container "sidecar" not in [app*]`},
		}},
		{"image star crosses slashes", "{images: ['registry.example.com/*']}", []probe{
			{MatchInput{Image: "registry.example.com/team/app:1.0"}, true, `image "registry.example.com/team/app:1.0" matches "registry.example.com/*"`},
			{MatchInput{Image: "registry.example.com/app@sha256:abc"}, true, `image "registry.example.com/app@sha256:abc" matches "registry.example.com/*"`},
			{MatchInput{Image: "registry.example.com"}, false, `image "registry.example.com" not in [registry.example.com/*]`},
			{MatchInput{Image: "docker.io/library/nginx:1.27"}, false, `image "docker.io/library/nginx:1.27" not in [registry.example.com/*]`},
		}},
		{"image patterns", `{images: ['*/nginx:*', 'docker.io/library/busybox:1.3?', 'quay.io/a\*b']}`, []probe{
			{MatchInput{Image: "docker.io/library/nginx:1.27"}, true, `image "docker.io/library/nginx:1.27" matches "*/nginx:*"`},
			{MatchInput{Image: "docker.io/library/busybox:1.36"}, true, `image "docker.io/library/busybox:1.36" matches "docker.io/library/busybox:1.3?"`},
			{MatchInput{Image: "docker.io/library/busybox:1.3"}, false, `image "docker.io/library/busybox:1.3" not in [*/nginx:* docker.io/library/busybox:1.3? quay.io/a\*b]`},
			{MatchInput{Image: "quay.io/a*b"}, true, `image "quay.io/a*b" matches "quay.io/a\\*b"`},
			{MatchInput{Image: "quay.io/axb"}, false, `image "quay.io/axb" not in [*/nginx:* docker.io/library/busybox:1.3? quay.io/a\*b]`},
		}},
		{"matchLabels", "{podSelector: {matchLabels: {tier: web}}}", []probe{
			{MatchInput{Labels: labels("tier", "web", "x", "y")}, true, `pod labels match "tier=web"`},
			{MatchInput{Labels: labels("tier", "db")}, false, `pod labels {tier=db} do not match "tier=web"`},
			{MatchInput{}, false, `pod labels {} do not match "tier=web"`},
		}},
		{"In", "{podSelector: {matchExpressions: [{key: env, operator: In, values: [prod, staging]}]}}", []probe{
			{MatchInput{Labels: labels("env", "prod")}, true, `pod labels match "env in (prod,staging)"`},
			{MatchInput{Labels: labels("env", "staging")}, true, `pod labels match "env in (prod,staging)"`},
			{MatchInput{Labels: labels("env", "dev")}, false, `pod labels {env=dev} do not match "env in (prod,staging)"`},
			{MatchInput{}, false, `pod labels {} do not match "env in (prod,staging)"`},
		}},
		{"NotIn matches an absent key", "{podSelector: {matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}}", []probe{
			{MatchInput{Labels: labels("env", "prod")}, true, `pod labels match "env notin (dev)"`},
			{MatchInput{}, true, `pod labels match "env notin (dev)"`},
			{MatchInput{Labels: labels("env", "dev")}, false, `pod labels {env=dev} do not match "env notin (dev)"`},
		}},
		{"Exists", "{podSelector: {matchExpressions: [{key: canary, operator: Exists}]}}", []probe{
			{MatchInput{Labels: labels("canary", "")}, true, `pod labels match "canary"`},
			{MatchInput{Labels: labels("other", "x")}, false, `pod labels {other=x} do not match "canary"`},
		}},
		{"DoesNotExist", "{podSelector: {matchExpressions: [{key: canary, operator: DoesNotExist}]}}", []probe{
			{MatchInput{Labels: labels("other", "x")}, true, `pod labels match "!canary"`},
			{MatchInput{Labels: labels("canary", "yes")}, false, `pod labels {canary=yes} do not match "!canary"`},
		}},
		{"labels and expressions are ANDed", "{podSelector: {matchLabels: {tier: web}, matchExpressions: [{key: env, operator: In, values: [prod]}]}}", []probe{
			{MatchInput{Labels: labels("tier", "web", "env", "prod")}, true, `pod labels match "env in (prod),tier=web"`},
			{MatchInput{Labels: labels("tier", "web", "env", "dev")}, false, `pod labels {env=dev,tier=web} do not match "env in (prod),tier=web"`},
			{MatchInput{Labels: labels("tier", "db", "env", "prod")}, false, `pod labels {env=prod,tier=db} do not match "env in (prod),tier=web"`},
		}},
		{"annotations", "{annotations: {example.com/seccomp: 'strict*', team: '*'}}", []probe{
			{MatchInput{Annotations: labels("example.com/seccomp", "strict-v2", "team", "a/b")}, true,
				`annotation "example.com/seccomp" matches "strict*", annotation "team" matches "*"`},
			{MatchInput{Annotations: labels("example.com/seccomp", "loose", "team", "a")}, false,
				`annotation "example.com/seccomp" is "loose", which does not match "strict*"`},
			{MatchInput{Annotations: labels("team", "a")}, false, `annotation "example.com/seccomp" is not set`},
			{MatchInput{Annotations: labels("example.com/seccomp", "strict")}, false, `annotation "team" is not set`},
		}},
		{"annotation with empty value", "{annotations: {flag: ''}}", []probe{
			{MatchInput{Annotations: labels("flag", "")}, true, `annotation "flag" matches ""`},
			{MatchInput{Annotations: labels("flag", "x")}, false, `annotation "flag" is "x", which does not match ""`},
		}},
		{"annotation value with newline", "{annotations: {note: 'a*b'}}", []probe{
			{MatchInput{Annotations: labels("note", "a\nb")}, true, `annotation "note" matches "a*b"`},
		}},
		{"profileTypes", "{profileTypes: [Unconfined]}", []probe{
			{MatchInput{ProfileType: "Unconfined"}, true, `profile type "Unconfined"`},
			{MatchInput{}, true, `profile type "Unconfined"`},
			{MatchInput{ProfileType: "RuntimeDefault"}, false, `profile type "RuntimeDefault" not in [Unconfined]`},
		}},
		{"several profileTypes", "{profileTypes: [RuntimeDefault, Localhost]}", []probe{
			{MatchInput{ProfileType: "Localhost"}, true, `profile type "Localhost"`},
			{MatchInput{ProfileType: "RuntimeDefault"}, true, `profile type "RuntimeDefault"`},
			{MatchInput{}, false, `profile type "Unconfined" not in [RuntimeDefault Localhost]`},
		}},
		{"fields are ANDed", "{namespaces: [prod], containers: [app], podSelector: {matchLabels: {tier: web}}, images: ['*'], profileTypes: [Unconfined]}", []probe{
			{MatchInput{Namespace: "prod", Container: "app", Labels: labels("tier", "web"), Image: "x/y"}, true,
				`namespace "prod" matches "prod", pod labels match "tier=web", container "app" matches "app", image "x/y" matches "*", profile type "Unconfined"`},
			{MatchInput{Namespace: "prod", Container: "sidecar", Labels: labels("tier", "web")}, false, `container "sidecar" not in [app]`},
			{MatchInput{Namespace: "dev", Container: "app", Labels: labels("tier", "web")}, false, `namespace "dev" not in [prod]`},
			{MatchInput{Namespace: "prod", Container: "app"}, false, `pod labels {} do not match "tier=web"`},
			{MatchInput{Namespace: "prod", Container: "app", Labels: labels("tier", "web"), ProfileType: "Localhost"}, false, `profile type "Localhost" not in [Unconfined]`},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ruleMatching(t, tc.match)
			for _, p := range tc.probes {
				got, reason := r.Match(p.in)
				if got != p.want || reason != p.reason {
					t.Errorf("Match(%+v) = %v, %q\n want %v, %q", p.in, got, reason, p.want, p.reason)
				}
				if fast := r.Matches(p.in); fast != p.want {
					t.Errorf("Matches(%+v) = %v, want %v (Match and Matches disagree)", p.in, fast, p.want)
				}
			}
		})
	}
}

func TestMatchSummary(t *testing.T) {
	cases := []struct{ match, want string }{
		{"{}", "every container"},
		{"{podSelector: {}, annotations: {}}", "every container"},
		{"{namespaces: [prod, 'team-*'], containers: ['app*']}", "namespaces [prod team-*], containers [app*]"},
		{"{podSelector: {matchLabels: {tier: web}}, annotations: {a: 'b*'}, images: ['r/*'], profileTypes: [Unconfined, Localhost]}",
			`pod labels "tier=web", annotation "a" matching "b*", images [r/*], profile types [Unconfined Localhost]`},
	}
	for _, tc := range cases {
		if got := ruleMatching(t, tc.match).MatchSummary(); got != tc.want {
			t.Errorf("MatchSummary(%s) = %q, want %q", tc.match, got, tc.want)
		}
	}
}

// TestNameGlobIsPathMatch checks the compiled name globs against path.Match,
// the documented semantics, over a grid of patterns and names.
func TestNameGlobIsPathMatch(t *testing.T) {
	patterns := []string{
		"", "*", "**", "?", "a", "a*", "*a", "a*b", "a?b", "a/*", "*/b", "[ab]", "[^ab]", "[a-c]*",
		"[^a-c]?", `\*`, `a\?`, `[\]]`, `[\-a]`, "é*", "[é]", "*.*", "a*b*c", "[]a]", "[a-]",
	}
	names := []string{"", "a", "b", "ab", "abc", "acb", "a/b", "a/", "/b", "*", "?", "]", "-", "é", "éa", "x.y", "aXbYc", "axbyc"}
	for _, p := range patterns {
		_, perr := path.Match(p, "")
		g, _, err := compileGlob(p, false)
		if (perr != nil) != (err != nil) {
			t.Errorf("pattern %q: compileGlob error %v, path.Match error %v", p, err, perr)
			continue
		}
		if err != nil {
			continue
		}
		for _, n := range names {
			want, _ := path.Match(p, n)
			if got := g.match(n); got != want {
				t.Errorf("pattern %q, name %q: match = %v, path.Match = %v", p, n, got, want)
			}
		}
	}
}

func TestReferenceGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "a/b/c", true},
		{"a?c", "a/c", true},
		{"a/*/c", "a/b/x/c", true},
		{"registry.example.com/*", "registry.example.com/", true},
		{"registry.example.com/*", "registry.example.comx/a", false},
		{"*:latest", "docker.io/library/nginx:latest", true},
		{"*:latest", "docker.io/library/nginx:1.27", false},
		{"*@sha256:*", "r/a@sha256:0123", true},
		{"[a-c]/x", "b/x", true},
		{"a.b", "aXb", false}, // '.' is literal, not a regexp wildcard
		{"a+", "aa", false},
	}
	for _, tc := range cases {
		g, _, err := compileGlob(tc.pattern, true)
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tc.pattern, err)
			continue
		}
		if got := g.match(tc.s); got != tc.want {
			t.Errorf("%q matching %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestGlobSyntaxErrors(t *testing.T) {
	cases := []struct{ pattern, msg string }{
		{"[", "syntax error"},
		{"a[", "syntax error"},
		{"[]", "syntax error"},
		{"[^]", "syntax error"},
		{`\`, "syntax error"},
		{`a\`, "syntax error"},
		{"[a-", "syntax error"},
		{"[z-a]", `character range "[z-a" is empty`},
		{"x[b-a]y", `character range "[b-a" is empty`},
	}
	for _, tc := range cases {
		for _, cross := range []bool{false, true} {
			_, _, err := compileGlob(tc.pattern, cross)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("compileGlob(%q, %v) error = %v, want %q", tc.pattern, cross, err, tc.msg)
			}
		}
	}
}

func TestWhyNeverDNSLabel(t *testing.T) {
	cases := []struct{ pattern, why string }{
		{"kube-system", ""},
		{"team-*", ""},
		{"*-prod", ""},
		{"*-*", ""},
		{"[a-c]?", ""},
		{"[^a]", ""},    // matches b, for one
		{"[A-Za]x", ""}, // the class includes 'a'
		{"2024", ""},    // digits only is a valid label
		{"*", ""},       // anything
		{"-*", "names cannot start or end with '-'"},
		{"*-", "names cannot start or end with '-'"},
		{"Prod", `'P' is not allowed (only a-z, 0-9 and '-')`},
		{"a.b", `'.' is not allowed (only a-z, 0-9 and '-')`},
		{"a b", `' ' is not allowed (only a-z, 0-9 and '-')`},
		{"é", `'é' is not allowed (only a-z, 0-9 and '-')`},
		{"[A-Z]*", "class [A-Z] matches none of a-z, 0-9 and '-'"},
		{`[^a-z0-9\-]`, "class [^a-z0-9\\-] matches none of a-z, 0-9 and '-'"},
		{strings.Repeat("a", 63), ""},
		{strings.Repeat("?", 64), "it needs at least 64 characters and names have at most 63"},
	}
	for _, tc := range cases {
		terms, err := parseGlob(tc.pattern)
		if err != nil {
			t.Errorf("parseGlob(%q): %v", tc.pattern, err)
			continue
		}
		if got := whyNeverDNSLabel(terms); got != tc.why {
			t.Errorf("whyNeverDNSLabel(%q) = %q, want %q", tc.pattern, got, tc.why)
		}
	}
}

func TestSuggest(t *testing.T) {
	cases := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"acton", ruleKeys, "action"},
		{"fiel", profileDeclKeys, "file"}, // a swap counts as one edit
		{"namespace", matchKeys, "namespaces"},
		{"unconfined", profileTypes, "Unconfined"},
		{"podselector", matchKeys, "podSelector"},
		{"zzz", ruleKeys, ""},
		{"nam", ruleKeys, "name"},
		{"x", ruleKeys, ""},
		{strings.Repeat("a", 100), ruleKeys, ""},
	}
	for _, tc := range cases {
		if got := suggest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestParseErrno(t *testing.T) {
	cases := []struct {
		s     string
		isInt bool
		want  uint
		err   string
	}{
		{"EPERM", false, 1, ""},
		{"ENOSYS", false, 38, ""},
		{"EACCES", false, 13, ""},
		{"EWOULDBLOCK", false, 11, ""},
		{"ENOTSUP", false, 95, ""},
		{"1", true, 1, ""},
		{"0x26", true, 38, ""},
		{"4095", true, 4095, ""},
		{"0", true, 0, "errno 0 would make the call appear to succeed"},
		{"4096", true, 0, "out of range"},
		{"eperm", false, 0, `unknown errno "eperm" (did you mean "EPERM"?)`},
		{"38", false, 0, `unknown errno "38"`}, // a quoted number is a name, and no name is "38"
	}
	for _, tc := range cases {
		got, err := parseErrno(tc.s, tc.isInt)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("parseErrno(%q) error: %v", tc.s, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseErrno(%q) error = %v, want %q", tc.s, err, tc.err)
		case got != tc.want:
			t.Errorf("parseErrno(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	r := ruleMatching(b, "{namespaces: [prod, 'team-*'], podSelector: {matchLabels: {tier: web}, matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}, containers: ['app*'], images: ['registry.example.com/*'], profileTypes: [Unconfined]}")
	hit := MatchInput{
		Namespace: "team-payments", Pod: "web-7d9f", Container: "app-main",
		Labels:      map[string]string{"tier": "web", "env": "prod", "app.kubernetes.io/name": "web"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"},
		Image:       "registry.example.com/team/app:1.0", ProfileType: "Unconfined",
	}
	miss := hit
	miss.Namespace = "dev"
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			if ok, _ := r.Match(hit); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			if ok, _ := r.Match(miss); ok {
				b.Fatal("match")
			}
		}
	})
}
