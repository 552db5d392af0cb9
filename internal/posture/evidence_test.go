package posture

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// assertGolden compares got with testdata/name, or rewrites it with -update.
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it after review):\n%s", path, got)
	}
}

var reportTime = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// evidenceReport is the testdata/proc node with everything known, a pod
// name that tries to forge a table row, a policy, and refusals.
func evidenceReport(t *testing.T) Filed {
	meta := map[string]Meta{
		idA: {Namespace: "default", Image: "busybox:test"}, // ctr run
		idB: criMeta("container", "team", "web|forged | row", "app`x`\n| evil |"),
		idC: criMeta("container", "team", "db", "db"),
		idD: criMeta("sandbox", "team", "web", ""),
	}
	b := meta[idB]
	b.SpecRead, b.Seccomp = true, "sha256:b1"
	meta[idB] = b
	decisions := map[string]Decision{
		idB: {Rules: []string{"team-default"}, Mode: "enforce", Revision: "sha256:5d18994f", Digest: "sha256:b1"},
		idC: {Rules: []string{"trusted"}, Exempt: true, Revision: "sha256:5d18994f"},
	}
	rep := Build(Input{Scan: testScan(t), Meta: meta, Decisions: decisions})
	first := reportTime.Add(-2 * time.Hour)
	refusals := &audit.Report{Since: reportTime.Add(-24 * time.Hour), Records: 7, Malformed: 1, Containers: []audit.ContainerReport{
		{Namespace: "team", Pod: "web", Container: "app", Attributed: true, Total: 6, Refused: 5, Syscalls: []audit.SyscallCount{
			{Syscall: "mkdir", Arch: "SCMP_ARCH_X86_64", Action: "SCMP_ACT_ERRNO", Refused: true, Count: 5, First: first, Last: first.Add(time.Minute)},
			{Syscall: "mount", Arch: "SCMP_ARCH_X86_64", Action: "SCMP_ACT_LOG", Count: 1, First: first, Last: first},
		}},
		{Attributed: false, Exe: "/usr/bin/<script>", Total: 1, Refused: 1, Syscalls: []audit.SyscallCount{
			{Syscall: "ptrace", Arch: "SCMP_ARCH_X86_64", Action: "SCMP_ACT_KILL_PROCESS", Refused: true, Count: 1, First: first, Last: first},
		}},
	}}
	ev := Evidence{Node: "node-1", Time: reportTime, Version: "v0.1.0",
		Policy: &PolicyInfo{Path: "/etc/nri-seccomp/policy.yaml", Revision: "sha256:5d18994f", Rules: []PolicyRule{
			{Name: "team-default", Action: "tighten", Mode: "enforce", Deny: []string{"keyctl", "ptrace"}, File: "policy.yaml", Line: 5},
			{Name: "trusted", Action: "exempt", Mode: "enforce", Deny: []string{}, File: "policy.yaml", Line: 12},
		}},
		Refusals: refusals, AuditSource: "/var/log/nri-seccomp/audit-events.jsonl"}
	return File(rep, ev)
}

func TestWriteMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := evidenceReport(t).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "evidence.md", b.Bytes())
	// Whatever the names hold, every table row is one line with the
	// table's number of cells.
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| decided | bbbb") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 12 {
			t.Errorf("a container's row has forged cells: %s", line)
		}
	}
}

// Without a policy, audit events or a decision log, the report says what
// it does not show rather than claiming it.
func TestWriteMarkdownBareGolden(t *testing.T) {
	rep := Build(Input{Scan: testScan(t)})
	var b bytes.Buffer
	if err := File(rep, Evidence{Node: "node-1", Time: reportTime}).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "evidence-bare.md", b.Bytes())
}

func TestFiledJSONKeys(t *testing.T) {
	data, err := json.Marshal(File(Build(Input{Scan: testScan(t)}), Evidence{Node: "n", Time: reportTime}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"containers", "problems", "host_processes", "notes", "node", "time", "version", "policy", "refusals", "audit_source", "controls"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q: %s", k, data)
		}
	}
	// Every container has every key, the new ones added to the old.
	c := m["containers"].([]any)[0].(map[string]any)
	for _, k := range []string{"container_id", "containerd_namespace", "image", "pod_namespace", "pod", "container", "reach",
		"processes", "unfiltered_processes", "max_filters", "class", "rules", "mode", "problem",
		"policy_revision", "filter", "seccomp_digest", "decided_digest"} {
		if _, ok := c[k]; !ok {
			t.Errorf("container JSON lacks key %q: %v", k, c)
		}
	}
}

func TestControlsStatus(t *testing.T) {
	c := func(class Class, reach Reach, unfiltered int, problem string) Container {
		return Container{Class: class, Reach: reach, Processes: 1, Unfiltered: unfiltered, Problem: problem}
	}
	for _, tc := range []struct {
		name       string
		containers []Container
		truncated  bool
		want       string
	}{
		{"all filtered", []Container{c(ClassDecided, ReachNRI, 0, ""), c(ClassFilteredOtherwise, ReachNRI, 0, "")}, false, StatusMet},
		{"a sandbox without a filter does not count", []Container{c(ClassDecided, ReachNRI, 0, ""), c(ClassUnfiltered, ReachSandbox, 1, "")}, false, StatusMet},
		{"an exempt container without a filter", []Container{c(ClassDecided, ReachNRI, 0, ""), c(ClassExempt, ReachNRI, 1, "")}, false, StatusMetWithExceptions},
		{"an exempt container with a filter is no exception", []Container{c(ClassExempt, ReachNRI, 0, "")}, false, StatusMet},
		{"a problem", []Container{c(ClassUnfiltered, ReachOutside, 1, "x"), c(ClassExempt, ReachNRI, 1, "")}, false, StatusNotMet},
		{"a process table read in part shows nothing for sure", []Container{c(ClassDecided, ReachNRI, 0, "")}, true, StatusNotShown},
		{"a problem in a partial read is still one", []Container{c(ClassUnfiltered, ReachOutside, 1, "x")}, true, StatusNotMet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Report{Containers: tc.containers, Truncated: tc.truncated}
			for _, x := range tc.containers {
				if x.Problem != "" {
					r.Problems++
				}
			}
			got := Controls(r, Evidence{})
			if len(got) != 3 || got[0].Status != tc.want || got[1].Status != tc.want {
				t.Fatalf("statuses %q, %q; want %q", got[0].Status, got[1].Status, tc.want)
			}
			if got[2].Status != StatusNotShown {
				t.Fatalf("refusal logging without audit events: %q, want %q", got[2].Status, StatusNotShown)
			}
		})
	}
}

// Refusal logging is met only when refusals were recorded: an events file
// without any shows nothing either way.
func TestControlsRefusalLogging(t *testing.T) {
	for _, tc := range []struct {
		refused int
		want    string
	}{{0, StatusNotShown}, {3, StatusMet}} {
		rep := &audit.Report{Records: 4, Containers: []audit.ContainerReport{{Attributed: true, Total: 4, Refused: tc.refused}}}
		got := Controls(Report{}, Evidence{Refusals: rep})[2]
		if got.Status != tc.want {
			t.Errorf("%d refusals: status %q, want %q (%s)", tc.refused, got.Status, tc.want, got.Finding)
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	for in, want := range map[string]string{
		"web":           "web",
		"a|b":           `a\|b`,
		"`code`":        "\\`code\\`",
		"<img src=x>":   `\<img src=x\>`,
		"line\nbreak":   `"line\\nbreak"`,
		"[link](x)":     `\[link\](x)`,
		"**bold** _it_": `\*\*bold\*\* \_it\_`,
	} {
		if got := md(in); got != want {
			t.Errorf("md(%q) = %q, want %q", in, got, want)
		}
	}
}
