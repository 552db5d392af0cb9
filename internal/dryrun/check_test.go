package dryrun

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/nritest"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
)

func loadTestPolicy(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	pol, err := policy.Parse([]byte(doc), "/etc/nri-seccomp/policy.yaml", policy.Options{
		Builtins: map[string]*specs.LinuxSeccomp{"runtime-default": nritest.DenyProfile("keyctl")},
	})
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	return pol
}

func TestCheckPolicyClean(t *testing.T) {
	pol := loadTestPolicy(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  web: {inline: {defaultAction: SCMP_ACT_ALLOW, syscalls: [{names: [ptrace], action: SCMP_ACT_ERRNO}]}}
rules:
- name: inject
  match: {profileTypes: [Unconfined]}
  action: inject
  profile: runtime-default
- name: floor
  match: {}
  action: tighten
  deny: [bpf, keyctl]
`)
	s := CheckPolicy(pol)
	if len(s.Warnings) != 0 {
		t.Errorf("warnings for a sound policy: %q", s.Warnings)
	}
	if s.Rules != 2 || s.Profiles != 1 || s.Files != 1 || !strings.HasPrefix(s.Revision, "sha256:") {
		t.Errorf("summary = %+v", s)
	}
	want := "policy OK: 2 rules, 1 profiles, 1 files, revision " + s.Revision + ", 0 warnings"
	if s.String() != want {
		t.Errorf("String() = %q, want %q", s.String(), want)
	}
}

func TestCheckPolicyWarnsAboutRuncBreakers(t *testing.T) {
	pol := loadTestPolicy(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  tiny: {inline: {defaultAction: SCMP_ACT_ERRNO, syscalls: [{names: [read, write, exit_group], action: SCMP_ACT_ALLOW}]}}
  noexec: {inline: {defaultAction: SCMP_ACT_ALLOW, syscalls: [{names: [execve], action: SCMP_ACT_KILL_PROCESS}]}}
rules:
- name: tiny-everywhere
  match: {namespaces: [prod]}
  action: tighten
  profile: tiny
- name: no-cwd
  match: {}
  action: tighten
  deny: [keyctl, getcwd]
- name: audit-trial
  match: {namespaces: [trial]}
  action: tighten
  mode: audit
  deny: [execve]
`)
	s := CheckPolicy(pol)
	if len(s.Warnings) != 3 {
		t.Fatalf("got %d warnings, want 3 (noexec, tiny, no-cwd): %q", len(s.Warnings), s.Warnings)
	}
	if w := s.Warnings[0].String(); !strings.HasPrefix(w, `profiles.noexec: profile "noexec" (not used by an enforce rule): runc cannot start a container with it: refuses execve (SCMP_ACT_KILL_PROCESS)`) {
		t.Errorf("warning 0 = %q", w)
	}
	if w := s.Warnings[1].String(); !strings.HasPrefix(w, `/etc/nri-seccomp/policy.yaml:7: rules[0].profile: profile "tiny" (used by tiny-everywhere): runc cannot start`) || !strings.Contains(w, "getcwd") {
		t.Errorf("warning 1 = %q", w)
	}
	if w := s.Warnings[2].String(); !strings.HasPrefix(w, `/etc/nri-seccomp/policy.yaml:11: rules[1].deny: rule "no-cwd": runc cannot start a container with it: refuses getcwd`) {
		t.Errorf("warning 2 = %q", w)
	}
	for _, w := range s.Warnings {
		if strings.Contains(w.String(), "audit-trial") {
			t.Errorf("an audit-mode rule was warned about: %q", w)
		}
	}
}

func TestCheckPolicyWarnsAboutDeadRules(t *testing.T) {
	pol := loadTestPolicy(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: rd-inject
  match: {profileTypes: [RuntimeDefault]}
  action: inject
  profile: runtime-default
- name: everything
  match: {}
  action: exempt
- name: floor
  match: {}
  action: tighten
  deny: [getcwd]
`)
	s := CheckPolicy(pol)
	var got []string
	for _, w := range s.Warnings {
		got = append(got, w.String())
	}
	// The runc warning comes first (its pass runs first), then the dead
	// rules in rule order.
	want := []string{
		`/etc/nri-seccomp/policy.yaml:11: rules[2].deny: rule "floor": runc cannot start a container with it: refuses getcwd`,
		`/etc/nri-seccomp/policy.yaml:4: rules[0].match.profileTypes: inject rule "rd-inject" can never apply`,
		`/etc/nri-seccomp/policy.yaml:11: rules[2].match: rule "floor" can never apply: the earlier exempt rule "everything" (/etc/nri-seccomp/policy.yaml:8)`,
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %s\nwant prefix  %s", i, got[i], want[i])
		}
	}
}

// check warns where a tighten rule meets runtime-default's argument rules in a
// way that cannot be written exactly (here: runtime-default compares socket's
// family, the rule its type), naming the syscall and the calls; an exact
// intersection (the rule compares the family too) gets no warning.
func TestCheckPolicyWarnsStricterThanExact(t *testing.T) {
	b, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  no-raw: {inline: {defaultAction: SCMP_ACT_ALLOW, syscalls: [{names: [socket], action: SCMP_ACT_ERRNO, args: [{index: 1, value: 3, op: SCMP_CMP_EQ}]}]}}
  no-packet: {inline: {defaultAction: SCMP_ACT_ALLOW, syscalls: [{names: [socket], action: SCMP_ACT_ERRNO, args: [{index: 0, value: 17, op: SCMP_CMP_EQ}]}]}}
rules:
- name: no-packet
  match: {}
  action: tighten
  profile: no-packet
- name: no-raw
  match: {}
  action: tighten
  profile: no-raw
- name: no-raw-trial
  match: {}
  action: tighten
  profile: no-raw
  mode: audit
`), "/etc/nri-seccomp/policy.yaml", policy.Options{Builtins: b})
	if err != nil {
		t.Fatal(err)
	}
	s := CheckPolicy(pol)
	want := []string{`/etc/nri-seccomp/policy.yaml:11: rules[1]: rule "no-raw" on a container running runtime-default: the result is stricter than the exact intersection (it cannot be written in the shape libseccomp compiles reliably): ` +
		`socket: the two sides' rules compare different arguments or cannot be combined value by value; calls matching one side's rule arg0==0x27, arg0==0x29, arg0==0x2a, arg0==0x2b, arg0==0x2c, arg0==0x2d, arg0<0x26 and no rule of the other get SCMP_ACT_ERRNO(EPERM); the exact result is SCMP_ACT_ALLOW (refused, though neither side refuses them)`}
	var got []string
	for _, w := range s.Warnings {
		got = append(got, w.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}
