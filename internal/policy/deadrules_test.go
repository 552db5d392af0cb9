package policy

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rule is a one-line rule for the dead-rule tests: each takes 4 lines
// (name, match, action, extra), so after the header and "rules:" rule k (from 0) starts on line 4+4k.
func rule(name, match, action, extra string) string {
	return lines("- name: "+name, "  match: "+match, "  action: "+action, "  "+extra)
}

const denyBPF = "deny: [bpf]"

func TestDeadRules(t *testing.T) {
	type dead struct {
		line  int
		field string
		msg   string
	}
	for _, tc := range []struct {
		name   string
		rules  string
		native specs.Arch
		want   []dead
	}{
		{
			name: "catch-all exempt first kills every later rule",
			rules: rule("all", "{}", "exempt", "mode: enforce") +
				rule("floor", "{}", "tighten", denyBPF) +
				rule("prod", "{namespaces: [prod]}", "inject", "profile: runtime-default"),
			want: []dead{
				{8, "rules[1].match", `rule "floor" can never apply: the earlier exempt rule "all" (p.yaml:4) matches every container it matches`},
				{12, "rules[2].match", `rule "prod" can never apply: the earlier exempt rule "all"`},
			},
		},
		{
			name: "exempt last kills nothing",
			rules: rule("floor", "{}", "tighten", denyBPF) +
				rule("all", "{}", "exempt", "mode: enforce"),
		},
		{
			name: "identical and narrower selectors are shadowed, broader and disjoint ones are not",
			rules: rule("sys", "{namespaces: [kube-system, \"team-*\"], containers: [agent]}", "exempt", "mode: enforce") +
				rule("same", "{namespaces: [kube-system, \"team-*\"], containers: [agent]}", "tighten", denyBPF) +
				rule("literal", "{namespaces: [team-a], containers: [agent], images: [\"x/*\"]}", "tighten", denyBPF) +
				rule("longer-prefix", "{namespaces: [\"team-a*\"], containers: [agent]}", "tighten", denyBPF) +
				rule("broader", "{namespaces: [kube-system]}", "tighten", denyBPF) +
				rule("other-ns", "{namespaces: [prod], containers: [agent]}", "tighten", denyBPF) +
				rule("glob-vs-glob", "{namespaces: [\"te?m-a\"], containers: [agent]}", "tighten", denyBPF),
			want: []dead{
				{8, "rules[1].match", `rule "same" can never apply: the earlier exempt rule "sys"`},
				{12, "rules[2].match", `rule "literal" can never apply`},
				{16, "rules[3].match", `rule "longer-prefix" can never apply`},
			},
		},
		{
			name: "pod selectors: a superset of requirements is shadowed",
			rules: rule("sys", "{podSelector: {matchLabels: {tier: infra}}}", "exempt", "mode: enforce") +
				rule("narrower", "{podSelector: {matchLabels: {tier: infra, app: x}}}", "tighten", denyBPF) +
				rule("different", "{podSelector: {matchLabels: {tier: web}}}", "tighten", denyBPF) +
				rule("no-selector", "{namespaces: [a]}", "tighten", denyBPF),
			want: []dead{
				{8, "rules[1].match", `rule "narrower" can never apply`},
			},
		},
		{
			name: "annotations and profile types",
			rules: rule("sys", "{annotations: {owner: \"ops-*\"}, profileTypes: [Unconfined]}", "exempt", "mode: enforce") +
				rule("ann", "{annotations: {owner: ops-db, team: x}, profileTypes: [Unconfined]}", "tighten", denyBPF) +
				rule("inject-any-type", "{annotations: {owner: ops-db}}", "inject", "profile: runtime-default") +
				rule("tighten-any-type", "{annotations: {owner: ops-db}}", "tighten", denyBPF) +
				rule("other-key", "{annotations: {team: ops-db}, profileTypes: [Unconfined]}", "tighten", denyBPF),
			want: []dead{
				{8, "rules[1].match", `rule "ann" can never apply`},
				// inject only ever sees Unconfined containers, which "sys" exempts.
				{12, "rules[2].match", `rule "inject-any-type" can never apply`},
			},
		},
		{
			name: "inject limited to containers that have seccomp",
			rules: rule("rd", "{profileTypes: [RuntimeDefault]}", "inject", "profile: runtime-default") +
				rule("rd-local", "{profileTypes: [RuntimeDefault, Localhost]}", "inject", "profile: runtime-default") +
				rule("ok", "{profileTypes: [Unconfined, RuntimeDefault]}", "inject", "profile: runtime-default") +
				rule("tighten-rd", "{profileTypes: [RuntimeDefault]}", "tighten", denyBPF),
			want: []dead{
				{4, "rules[0].match.profileTypes", `inject rule "rd" can never apply: inject only applies to containers without seccomp, whose profile type is Unconfined, and the rule matches only [RuntimeDefault]`},
				{8, "rules[1].match.profileTypes", `matches only [RuntimeDefault Localhost]`},
			},
		},
		{
			name: "deny lists of syscalls the node does not have (x86_64)",
			rules: rule("s390", "{}", "tighten", "deny: [s390_runtime_instr, riscv_flush_icache]") +
				rule("arm-only", "{}", "tighten", "deny: [arm_fadvise64_64]") +
				rule("one-real", "{}", "tighten", "deny: [s390_runtime_instr, bpf]") +
				rule("x86-only", "{}", "tighten", "deny: [vm86]"),
			native: specs.ArchX86_64,
			want: []dead{
				{4, "rules[0].deny", `rule "s390": the deny list refuses nothing on this node: none of its syscalls exists on SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32`},
				{8, "rules[1].deny", `rule "arm-only": the deny list refuses nothing`},
			},
		},
		{
			name: "deny lists of syscalls the node does not have (aarch64: arm is its compat ABI)",
			rules: rule("arm-only", "{}", "tighten", "deny: [arm_fadvise64_64]") +
				rule("x86-only", "{}", "tighten", "deny: [vm86]"),
			native: specs.ArchAARCH64,
			want: []dead{
				{8, "rules[1].deny", `none of its syscalls exists on SCMP_ARCH_AARCH64, SCMP_ARCH_ARM`},
			},
		},
		{
			name:   "no table for the node's architecture: undecided, no warning",
			rules:  rule("s390", "{}", "tighten", "deny: [s390_runtime_instr]"),
			native: specs.ArchS390X,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := Parse([]byte(header+"rules:\n"+tc.rules), "p.yaml", testOpts)
			if err != nil {
				t.Fatalf("policy does not load: %v", err)
			}
			native := tc.native
			if native == "" {
				native = specs.ArchX86_64
			}
			got := pol.DeadRules(native)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.File != "p.yaml" || g.Line != w.line || g.Field != w.field || !strings.Contains(g.Message, w.msg) {
					t.Errorf("problem %d = %s\nwant p.yaml:%d: %s: ...%s...", i, g, w.line, w.field, w.msg)
				}
			}
		})
	}
}

// TestDeadRulesAcrossFiles: an exempt rule in an earlier file shadows rules
// in later ones, and the field path is the rule's index in its own file.
func TestDeadRulesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"10-exempt.yaml": header + "rules:\n" + rule("sys", "{namespaces: [kube-system]}", "exempt", "mode: enforce"),
		"20-more.yaml": header + "rules:\n" + rule("a", "{namespaces: [prod]}", "tighten", denyBPF) +
			rule("b", "{namespaces: [kube-system]}", "tighten", denyBPF),
	})
	pol, err := Load(dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := pol.DeadRules(specs.ArchX86_64)
	want := filepath.Join(dir, "20-more.yaml") + `:8: rules[1].match: rule "b" can never apply: the earlier exempt rule "sys" (` + filepath.Join(dir, "10-exempt.yaml") + `:4)`
	if len(got) != 1 || !strings.HasPrefix(got[0].String(), want) {
		t.Errorf("got %v\nwant one problem starting %s", got, want)
	}
}
