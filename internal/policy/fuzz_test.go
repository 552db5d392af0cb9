package policy

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"go.yaml.in/yaml/v3"
)

// validYAML reports whether every document in data parses.
func validYAML(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// FuzzParse checks that Parse never panics, that a policy and an error are
// never returned together, and that on valid YAML every problem has a line:
// a problem a user cannot locate is a bug.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		header + lines("rules:", "- {name: a, action: exempt}"),
		header + lines(
			"profiles:",
			"  tiny: {inline: {defaultAction: SCMP_ACT_ERRNO, syscalls: [{names: [read], action: SCMP_ACT_ALLOW}]}}",
			"  web: {file: testdata/nope.json}",
			"rules:",
			"- name: floor",
			"  match: {}",
			"  action: tighten",
			"  deny: [keyctl, {name: bpf, action: SCMP_ACT_KILL_PROCESS}, {name: userfaultfd, errno: ENOSYS}]",
			"- name: prod",
			"  match:",
			"    namespaces: [prod, 'team-*']",
			"    podSelector: {matchLabels: {tier: web}, matchExpressions: [{key: env, operator: In, values: [a]}]}",
			"    annotations: {example.com/x: 'y*'}",
			"    containers: ['app*']",
			"    images: ['registry.example.com/*']",
			"    profileTypes: [Unconfined]",
			"  action: inject",
			"  profile: runtime-default",
			"- {name: trial, action: tighten, profile: tiny, mode: audit}",
		),
		header + lines("rules: &r [*r]"),
		header + lines("rules:", "- name: a", "  <<: {action: exempt}"),
		"a: 1\n---\nb: 2\n",
		"- [",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := Parse(data, "fuzz.yaml", testOpts)
		if err == nil {
			if pol == nil || len(pol.Rules) == 0 {
				t.Fatalf("no error but policy %v", pol)
			}
			return
		}
		if pol != nil {
			t.Fatalf("policy returned with error %v", err)
		}
		var le *LoadError
		if !errors.As(err, &le) || len(le.Problems) == 0 {
			t.Fatalf("error %T without problems: %v", err, err)
		}
		if !validYAML(data) {
			return
		}
		for _, p := range le.Problems {
			if p.Line <= 0 || p.File != "fuzz.yaml" {
				t.Errorf("problem without a position on valid YAML: %s", p)
			}
		}
	})
}
