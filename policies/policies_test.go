package policies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"

	"github.com/nri-seccomp/nri-seccomp/internal/errnos"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

func TestProfileNames(t *testing.T) {
	want := []string{"hardened", "minimal", "runtime-default", "unconfined"}
	if got := ProfileNames(); !slices.Equal(got, want) {
		t.Fatalf("ProfileNames() = %v; want %v", got, want)
	}
}

func TestProfileUnknown(t *testing.T) {
	for _, name := range []string{
		"", "nope", "Runtime-Default", "runtime-default.json",
		"../policies/profiles/unconfined", "profiles/unconfined", "./unconfined", `..\unconfined`,
	} {
		if b, ok := Profile(name); ok || b != nil {
			t.Errorf("Profile(%q) = %d bytes, %v; want nil, false", name, len(b), ok)
		}
	}
}

func TestProfileReturnsCopy(t *testing.T) {
	b, ok := Profile("unconfined")
	if !ok {
		t.Fatal("unconfined missing")
	}
	orig := string(b)
	b[0] = 'X'
	again, _ := Profile("unconfined")
	if string(again) != orig {
		t.Fatal("Profile returned the embedded bytes, not a copy")
	}
}

// decodeProfile decodes strictly, as a security profile must be read: an
// unknown field is an error, not silently dropped.
func decodeProfile(t *testing.T, name string) *specs.LinuxSeccomp {
	t.Helper()
	b, ok := Profile(name)
	if !ok {
		t.Fatalf("Profile(%q) missing", name)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s specs.LinuxSeccomp
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if dec.More() {
		t.Fatalf("%s: trailing data after the profile", name)
	}
	return &s
}

var validActions = map[specs.LinuxSeccompAction]bool{
	specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true,
	specs.ActTrap: true, specs.ActErrno: true, specs.ActTrace: true,
	specs.ActAllow: true, specs.ActLog: true, specs.ActNotify: true,
}

var amd64Arches = []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}

func TestProfilesWellFormed(t *testing.T) {
	for _, name := range ProfileNames() {
		t.Run(name, func(t *testing.T) {
			s := decodeProfile(t, name)
			if !validActions[s.DefaultAction] {
				t.Errorf("defaultAction %q is not an action", s.DefaultAction)
			}
			for _, a := range s.Architectures {
				if !slices.Contains(syscalls.Arches(), string(a)) {
					t.Errorf("architecture %q has no syscall table", a)
				}
			}
			for i, sc := range s.Syscalls {
				if !validActions[sc.Action] {
					t.Errorf("syscalls[%d]: action %q", i, sc.Action)
				}
				if len(sc.Names) == 0 {
					t.Errorf("syscalls[%d]: no names", i)
				}
				for _, n := range sc.Names {
					if !syscalls.Known(n) {
						t.Errorf("syscalls[%d]: unknown syscall %q", i, n)
					}
				}
			}
			// The committed file is exactly the 2-space-indented encoding
			// with a trailing newline, so regenerating it gives no diff.
			want, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := Profile(name)
			if !bytes.Equal(got, append(want, '\n')) {
				t.Errorf("%s.json is not in canonical form (json.MarshalIndent, 2 spaces, trailing newline)", name)
			}
		})
	}
}

// rulesFor returns the rules of s that name syscall n.
func rulesFor(s *specs.LinuxSeccomp, n string) []specs.LinuxSyscall {
	var out []specs.LinuxSyscall
	for _, sc := range s.Syscalls {
		if slices.Contains(sc.Names, n) {
			out = append(out, sc)
		}
	}
	return out
}

// allowedUnconditionally reports whether s allows n with no argument check.
func allowedUnconditionally(s *specs.LinuxSeccomp, n string) bool {
	for _, sc := range rulesFor(s, n) {
		if sc.Action == specs.ActAllow && len(sc.Args) == 0 {
			return true
		}
	}
	return false
}

// TestRuntimeDefault pins the properties of containerd's RuntimeDefault that
// nri-seccomp and its documentation rely on; a containerd bump that changes
// them must be a conscious decision.
func TestRuntimeDefault(t *testing.T) {
	s := decodeProfile(t, "runtime-default")
	if s.DefaultAction != specs.ActErrno {
		t.Errorf("defaultAction = %q; want SCMP_ACT_ERRNO", s.DefaultAction)
	}
	if s.DefaultErrnoRet != nil {
		t.Errorf("defaultErrnoRet = %d; want unset (EPERM)", *s.DefaultErrnoRet)
	}
	if !slices.Equal(s.Architectures, amd64Arches) {
		t.Errorf("architectures = %v; want %v", s.Architectures, amd64Arches)
	}
	if len(s.Flags) != 0 {
		t.Errorf("flags = %v; runc 1.1 rejects any flag", s.Flags)
	}

	// Never allowed, under any condition: io_uring, and what needs
	// capabilities CRI does not grant by default.
	for _, n := range []string{
		"io_uring_setup", "io_uring_enter", "io_uring_register",
		"bpf", "mount", "umount2", "unshare", "setns", "perf_event_open",
		"keyctl", "add_key", "request_key", "userfaultfd",
		"kexec_load", "init_module", "finit_module", "open_by_handle_at", "reboot",
	} {
		for _, sc := range rulesFor(s, n) {
			if sc.Action == specs.ActAllow {
				t.Errorf("%s is allowed (%+v)", n, sc)
			}
		}
	}

	// What runc itself calls after the filter is loaded (see FACTS), what
	// every program needs, chroot (CAP_SYS_CHROOT is a CRI default), and
	// ptrace (containerd allows it on kernel >= 4.8, the generator insists).
	for _, n := range []string{
		"execve", "getcwd", "fstatfs", "close", "close_range", "read", "write",
		"mmap", "exit_group", "arch_prctl", "chroot", "ptrace",
	} {
		if !allowedUnconditionally(s, n) {
			t.Errorf("%s is not allowed unconditionally", n)
		}
	}

	// clone is allowed only without namespace flags; clone3, whose flags
	// seccomp cannot see, fails with ENOSYS so that libc falls back to clone.
	clone := rulesFor(s, "clone")
	if len(clone) != 1 || clone[0].Action != specs.ActAllow || len(clone[0].Args) != 1 ||
		clone[0].Args[0].Op != specs.OpMaskedEqual || clone[0].Args[0].ValueTwo != 0 {
		t.Errorf("clone rules = %s; want one masked-equal allow", mustJSON(clone))
	} else {
		const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
			unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
		if clone[0].Args[0].Value != nsFlags {
			t.Errorf("clone mask = %#x; want the namespace flags %#x", clone[0].Args[0].Value, nsFlags)
		}
	}
	clone3 := rulesFor(s, "clone3")
	if len(clone3) != 1 || clone3[0].Action != specs.ActErrno || clone3[0].ErrnoRet == nil ||
		*clone3[0].ErrnoRet != uint(unix.ENOSYS) {
		t.Errorf("clone3 rules = %s; want one SCMP_ACT_ERRNO rule with errnoRet ENOSYS", mustJSON(clone3))
	}

	// socket is allowed only for listed address families: never for AF_ALG
	// or AF_VSOCK, which containerd blocks on purpose.
	if allowedUnconditionally(s, "socket") {
		t.Error("socket is allowed for every address family")
	}
	for _, af := range []uint64{unix.AF_ALG, unix.AF_VSOCK} {
		if socketAllowed(s, af) {
			t.Errorf("socket(%d) is allowed", af)
		}
	}
	for _, af := range []uint64{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET} {
		if !socketAllowed(s, af) {
			t.Errorf("socket(%d) is refused", af)
		}
	}
}

// mustJSON renders rules readably (ErrnoRet is a pointer) in failures.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// socketAllowed evaluates the profile's socket rules for a domain, for the
// two operators containerd uses.
func socketAllowed(s *specs.LinuxSeccomp, domain uint64) bool {
	for _, sc := range rulesFor(s, "socket") {
		if sc.Action != specs.ActAllow || len(sc.Args) != 1 || sc.Args[0].Index != 0 {
			continue
		}
		switch a := sc.Args[0]; a.Op {
		case specs.OpEqualTo:
			if domain == a.Value {
				return true
			}
		case specs.OpLessThan:
			if domain < a.Value {
				return true
			}
		}
	}
	return false
}

func TestUnconfined(t *testing.T) {
	s := decodeProfile(t, "unconfined")
	if s.DefaultAction != specs.ActAllow || len(s.Syscalls) != 0 || len(s.Architectures) != 0 {
		t.Fatalf("unconfined = %+v; want defaultAction SCMP_ACT_ALLOW and nothing else", s)
	}
}

// The types below mirror the policy format of the team brief, strictly, so
// that the shipped YAML is checked now; internal/policy is the real loader, and
// `nri-seccomp check` on these files is the authoritative test.
type testPolicy struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Profiles   map[string]testProfile `json:"profiles"`
	Rules      []testRule             `json:"rules"`
}

type testProfile struct {
	File   string              `json:"file"`
	Inline *specs.LinuxSeccomp `json:"inline"`
}

type testRule struct {
	Name    string     `json:"name"`
	Match   *testMatch `json:"match"`
	Action  string     `json:"action"`
	Profile string     `json:"profile"`
	Mode    string     `json:"mode"`
	Deny    []testDeny `json:"deny"`
}

type testMatch struct {
	Namespaces   []string          `json:"namespaces"`
	PodSelector  *testSelector     `json:"podSelector"`
	Annotations  map[string]string `json:"annotations"`
	Containers   []string          `json:"containers"`
	Images       []string          `json:"images"`
	ProfileTypes []string          `json:"profileTypes"`
}

// testSelector is metav1.LabelSelector's shape; the real loader uses
// apimachinery, which this test keeps out of its imports.
type testSelector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// check applies the rules of metav1.LabelSelectorAsSelector that a policy
// author can get wrong.
func (s *testSelector) check() error {
	for _, e := range s.MatchExpressions {
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				return fmt.Errorf("%s %s needs values", e.Key, e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) != 0 {
				return fmt.Errorf("%s %s takes no values", e.Key, e.Operator)
			}
		default:
			return fmt.Errorf("%s: operator %q", e.Key, e.Operator)
		}
	}
	return nil
}

type testDeny struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	Errno  string `json:"errno"`
}

func (d *testDeny) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Name)
	}
	type plain testDeny
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(d))
}

// checkPolicy returns every problem found in one policy document.
func checkPolicy(data []byte) (*testPolicy, []string) {
	var p testPolicy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, []string{err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if p.APIVersion != "nri-seccomp.io/v1alpha1" || p.Kind != "SeccompPolicy" {
		bad("apiVersion/kind = %q/%q", p.APIVersion, p.Kind)
	}
	for name, prof := range p.Profiles {
		if (prof.File == "") == (prof.Inline == nil) {
			bad("profile %s: exactly one of file and inline", name)
		}
		if prof.Inline != nil {
			for _, sc := range prof.Inline.Syscalls {
				for _, n := range sc.Names {
					if !syscalls.Known(n) {
						bad("profile %s: unknown syscall %q", name, n)
					}
				}
				if !validActions[sc.Action] {
					bad("profile %s: action %q", name, sc.Action)
				}
			}
		}
	}
	if len(p.Rules) == 0 {
		bad("no rules")
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
		if r.Name == "" || seen[r.Name] {
			bad("%s: name missing or duplicated", where)
		}
		seen[r.Name] = true
		if r.Match == nil {
			bad("%s: no match (use {} for every container)", where)
		} else {
			if r.Match.PodSelector != nil {
				if err := r.Match.PodSelector.check(); err != nil {
					bad("%s: podSelector: %v", where, err)
				}
			}
			for _, pt := range r.Match.ProfileTypes {
				if !slices.Contains([]string{"Unconfined", "RuntimeDefault", "Localhost"}, pt) {
					bad("%s: profileType %q", where, pt)
				}
			}
		}
		if !slices.Contains([]string{"", "enforce", "audit"}, r.Mode) {
			bad("%s: mode %q", where, r.Mode)
		}
		switch r.Action {
		case "exempt":
			if r.Profile != "" || len(r.Deny) > 0 || r.Mode != "" {
				bad("%s: exempt takes no profile, deny or mode", where)
			}
		case "inject", "tighten":
			if (r.Profile == "") == (len(r.Deny) == 0) {
				bad("%s: %s needs a profile or a deny list", where, r.Action)
			}
			if r.Action == "inject" && r.Profile == "" {
				bad("%s: inject needs a profile", where)
			}
		default:
			bad("%s: action %q", where, r.Action)
		}
		if r.Profile != "" {
			if _, builtin := Profile(r.Profile); !builtin {
				if _, declared := p.Profiles[r.Profile]; !declared {
					bad("%s: profile %q is neither built in nor declared", where, r.Profile)
				}
			}
		}
		for _, d := range r.Deny {
			if !syscalls.Known(d.Name) {
				bad("%s: deny %q is not a syscall", where, d.Name)
			}
			if d.Action != "" && d.Errno != "" {
				bad("%s: deny %s: action and errno both set", where, d.Name)
			}
			if d.Action != "" && !validActions[specs.LinuxSeccompAction(d.Action)] {
				bad("%s: deny %s: action %q", where, d.Name, d.Action)
			}
			// The names the policy loader accepts (internal/errnos), not
			// x/sys's table, which lacks EOPNOTSUPP and EUCLEAN and has
			// EFSCORRUPTED, which the loader refuses.
			if _, ok := errnos.Number(d.Errno); d.Errno != "" && !ok {
				bad("%s: deny %s: errno %q", where, d.Name, d.Errno)
			}
		}
	}
	return &p, problems
}

func TestCheckPolicyCatchesMistakes(t *testing.T) {
	// The checker must be able to fail, or the tests below prove nothing.
	bad := map[string]string{
		"misspelt key":    "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: a\n  match: {}\n  action: tighten\n  denny: [bpf]\n",
		"unknown syscall": "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: a\n  match: {}\n  action: tighten\n  deny: [mkdri]\n",
		"bad errno":       "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: a\n  match: {}\n  action: tighten\n  deny: [{name: bpf, errno: ENOPE}]\n",
		"unknown profile": "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: a\n  match: {}\n  action: inject\n  profile: nope\n",
		"bad selector":    "apiVersion: nri-seccomp.io/v1alpha1\nkind: SeccompPolicy\nrules:\n- name: a\n  match: {podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}\n  action: exempt\n",
	}
	for name, doc := range bad {
		if _, problems := checkPolicy([]byte(doc)); len(problems) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}

func TestExamples(t *testing.T) {
	want := []string{"audit-rollout.yaml", "cluster-default.yaml", "demo-trial.yaml", "node-image.yaml", "per-namespace-mandate.yaml"}
	entries, err := fs.ReadDir(Examples, "examples")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("examples = %v; want %v", got, want)
	}
	for _, name := range got {
		data, err := fs.ReadFile(Examples, "examples/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if _, problems := checkPolicy(data); len(problems) > 0 {
			t.Errorf("%s:\n  %s", name, strings.Join(problems, "\n  "))
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	p, problems := checkPolicy(DefaultPolicy)
	if len(problems) > 0 {
		t.Fatalf("default-policy.yaml:\n  %s", strings.Join(problems, "\n  "))
	}
	if len(p.Rules) != 3 {
		t.Fatalf("%d rules; want node-agents, runtime-default-for-unconfined, floor", len(p.Rules))
	}
	// Exempt stops evaluation, so it must come first to exempt fully.
	if r := p.Rules[0]; r.Action != "exempt" || !slices.Equal(r.Match.Namespaces, []string{"kube-system"}) {
		t.Errorf("rule 0 = %+v; want the kube-system exemption", r)
	}
	if r := p.Rules[1]; r.Action != "inject" || r.Profile != "runtime-default" ||
		!slices.Equal(r.Match.ProfileTypes, []string{"Unconfined"}) {
		t.Errorf("rule 1 = %+v; want inject runtime-default into Unconfined", r)
	}
	floor := p.Rules[2]
	if floor.Name != "floor" || floor.Action != "tighten" || floor.Mode != "" ||
		floor.Match == nil || !isEmptyMatch(floor.Match) {
		t.Fatalf("rule 2 = %+v; want floor: tighten, enforce, match {}", floor)
	}
	denied := map[string]testDeny{}
	for _, d := range floor.Deny {
		denied[d.Name] = d
	}
	for _, n := range []string{
		"keyctl", "add_key", "request_key", "bpf", "userfaultfd", "perf_event_open",
		"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"open_by_handle_at", "io_uring_setup",
	} {
		if _, ok := denied[n]; !ok {
			t.Errorf("floor does not deny %s", n)
		}
	}
	if d := denied["io_uring_setup"]; d.Errno != "ENOSYS" {
		t.Errorf("io_uring_setup errno = %q; want ENOSYS so that callers fall back", d.Errno)
	}
	// The floor must leave runc and ordinary programs alone.
	for _, n := range []string{"execve", "getcwd", "fstatfs", "close", "clone", "ptrace"} {
		if _, ok := denied[n]; ok {
			t.Errorf("floor denies %s", n)
		}
	}
}

func isEmptyMatch(m *testMatch) bool {
	return len(m.Namespaces) == 0 && m.PodSelector == nil && len(m.Annotations) == 0 &&
		len(m.Containers) == 0 && len(m.Images) == 0 && len(m.ProfileTypes) == 0
}
