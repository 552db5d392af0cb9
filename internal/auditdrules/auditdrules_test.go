package auditdrules

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

func loadPolicy(t *testing.T, src string) *policy.Policy {
	t.Helper()
	data, ok := policies.Profile("runtime-default")
	if !ok {
		t.Fatal("no runtime-default")
	}
	rd, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse([]byte(src), "policy.yaml", policy.Options{Builtins: map[string]*specs.LinuxSeccomp{"runtime-default": rd}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditdRules(t *testing.T) {
	pol := loadPolicy(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  web:
    inline:
      defaultAction: SCMP_ACT_ALLOW
      syscalls:
      - {names: [ptrace], action: SCMP_ACT_ERRNO, errnoRet: 1}
      - {names: [personality], action: SCMP_ACT_ERRNO, args: [{index: 0, value: 8, op: SCMP_CMP_NE}]}
      - {names: [getpid], action: SCMP_ACT_LOG}
rules:
- name: exempt
  match: {namespaces: [kube-system]}
  action: exempt
- name: floor
  match: {}
  action: tighten
  deny: [keyctl, {name: bpf, errno: ENOSYS}, {name: kexec_file_load}, {name: reboot, action: SCMP_ACT_KILL_PROCESS}]
- name: web
  match: {namespaces: [web]}
  action: tighten
  profile: web
- name: trial
  match: {namespaces: [trial]}
  action: tighten
  deny: [mkdir]
  mode: audit
- name: inject
  match: {profileTypes: [Unconfined]}
  action: inject
  profile: runtime-default
`)
	refusals, notes := PolicyRefusals(pol)
	var got []string
	for _, r := range refusals {
		got = append(got, r.Syscall+":"+strings.Join(r.Rules, "+"))
	}
	// runtime-default refuses clone3 by name (ENOSYS), the rest by default.
	if strings.Join(got, " ") != "bpf:floor clone3:inject kexec_file_load:floor keyctl:floor personality:web ptrace:web reboot:floor" {
		t.Fatalf("refusals %v", got)
	}
	lines, more := Rules(refusals)
	want := []string{
		"-a always,exit -F arch=b64 -S kexec_file_load,keyctl,personality,ptrace -F exit=-EPERM -k nri-seccomp-denied",
		"-a always,exit -F arch=b64 -S bpf,clone3 -F exit=-ENOSYS -k nri-seccomp-denied",
		// kexec_file_load has no i386 number.
		"-a always,exit -F arch=b32 -S keyctl,personality,ptrace -F exit=-EPERM -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S bpf,clone3 -F exit=-ENOSYS -k nri-seccomp-denied",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rules:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	all := strings.Join(append(notes, more...), "\n")
	for _, n := range []string{
		"rule trial: audit mode",
		"rule inject: profile runtime-default refuses every syscall it does not list",
		"rule web: profile web refuses personality only for some arguments",
		"reboot: killed or trapped",
	} {
		if !strings.Contains(all, n) {
			t.Errorf("notes lack %q:\n%s", n, all)
		}
	}
	if lines, _ := Rules(nil); len(lines) != 0 {
		t.Fatalf("no refusals: %v", lines)
	}
	if errnoName(9999) != "9999" {
		t.Fatal("unknown errno not numeric")
	}
}

// auditctl knows each errno by the kernel's canonical name only: the policy's
// aliases (ENOTSUP is documented) must come out canonical, and the standard
// names the loader accepts must come out as written.
func TestAuditdRulesCanonicalErrnoNames(t *testing.T) {
	pol := loadPolicy(t, `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
rules:
- name: floor
  match: {}
  action: tighten
  deny:
  - {name: bpf, errno: ENOTSUP}
  - {name: keyctl, errno: EWOULDBLOCK}
  - {name: ptrace, errno: EDEADLOCK}
  - {name: mount, errno: EUCLEAN}
  - {name: umount2, errno: EOPNOTSUPP}
  - {name: reboot, errno: 1234}
`)
	refusals, _ := PolicyRefusals(pol)
	lines, _ := Rules(refusals)
	want := []string{
		"-a always,exit -F arch=b64 -S keyctl -F exit=-EAGAIN -k nri-seccomp-denied",
		"-a always,exit -F arch=b64 -S ptrace -F exit=-EDEADLK -k nri-seccomp-denied",
		"-a always,exit -F arch=b64 -S bpf,umount2 -F exit=-EOPNOTSUPP -k nri-seccomp-denied",
		"-a always,exit -F arch=b64 -S mount -F exit=-EUCLEAN -k nri-seccomp-denied",
		"-a always,exit -F arch=b64 -S reboot -F exit=-1234 -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S keyctl -F exit=-EAGAIN -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S ptrace -F exit=-EDEADLK -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S bpf,umount2 -F exit=-EOPNOTSUPP -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S mount -F exit=-EUCLEAN -k nri-seccomp-denied",
		"-a always,exit -F arch=b32 -S reboot -F exit=-1234 -k nri-seccomp-denied",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rules:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
