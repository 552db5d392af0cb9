package posture

import (
	"bytes"
	"strings"
	"testing"
)

func testScan(t *testing.T) Scan {
	t.Helper()
	s, err := ScanProc("testdata/proc", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func criMeta(kind, ns, pod, name string) Meta {
	return Meta{Namespace: "k8s.io", Image: "busybox:test", Labels: map[string]string{
		LabelCRIKind: kind, LabelPodNamespace: ns, LabelPodName: pod, LabelContainerName: name}}
}

// row is the part of a Container the classification tests compare.
type row struct {
	Class   Class
	Reach   Reach
	Problem bool
	Unfilt  int
	Rules   string
}

func rows(r Report) map[string]row {
	out := map[string]row{}
	for _, c := range r.Containers {
		out[c.ID[:1]] = row{c.Class, c.Reach, c.Problem != "", c.Unfiltered, strings.Join(c.Rules, ",")}
	}
	return out
}

func TestBuild(t *testing.T) {
	meta := map[string]Meta{
		idA: {Namespace: "default", Image: "busybox:test"}, // ctr run
		idB: criMeta("container", "team", "web", "app"),
		idC: criMeta("container", "team", "db", "db"),
		idD: criMeta("sandbox", "team", "web", ""),
	}
	decisions := map[string]Decision{
		idB: {Rules: []string{"team-default"}, Mode: "enforce"},
		idC: {Rules: []string{"trusted"}, Exempt: true},
	}
	tests := []struct {
		name     string
		in       Input
		want     map[string]row
		problems int
		notes    int // each has one for PID 600, whose status cannot be read
	}{
		{"everything known", Input{Meta: meta, Decisions: decisions}, map[string]row{
			"a": {ClassUnfiltered, ReachOutside, true, 2, ""},
			"b": {ClassDecided, ReachNRI, false, 0, "team-default"},
			"c": {ClassExempt, ReachNRI, false, 0, "trusted"},
			"d": {ClassUnfiltered, ReachSandbox, false, 1, ""},
			"f": {ClassFilteredOtherwise, ReachUnknown, false, 0, ""},
		}, 1, 1},
		{"no decision log", Input{Meta: meta}, map[string]row{
			"a": {ClassUnfiltered, ReachOutside, true, 2, ""},
			"b": {ClassFilteredOtherwise, ReachNRI, false, 0, ""},
			"c": {ClassFilteredOtherwise, ReachNRI, false, 0, ""},
			"d": {ClassUnfiltered, ReachSandbox, false, 1, ""},
			"f": {ClassFilteredOtherwise, ReachUnknown, false, 0, ""},
		}, 1, 2},
		{"no containerd: the sandbox is a problem too", Input{Decisions: decisions}, map[string]row{
			"a": {ClassUnfiltered, ReachUnknown, true, 2, ""},
			"b": {ClassDecided, ReachNRI, false, 0, "team-default"},
			"c": {ClassExempt, ReachNRI, false, 0, "trusted"},
			"d": {ClassUnfiltered, ReachUnknown, true, 1, ""},
			"f": {ClassFilteredOtherwise, ReachUnknown, false, 0, ""},
		}, 2, 2},
		{"decided but unfiltered: the runtime ignored the profile", Input{Meta: meta,
			Decisions: map[string]Decision{idA: {Rules: []string{"r"}, Mode: "enforce"}}}, map[string]row{
			"a": {ClassDecided, ReachOutside, true, 2, "r"},
			"b": {ClassFilteredOtherwise, ReachNRI, false, 0, ""},
			"c": {ClassFilteredOtherwise, ReachNRI, false, 0, ""},
			"d": {ClassUnfiltered, ReachSandbox, false, 1, ""},
			"f": {ClassFilteredOtherwise, ReachUnknown, false, 0, ""},
		}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Scan = testScan(t)
			r := Build(tt.in)
			got := rows(r)
			for k, w := range tt.want {
				if got[k] != w {
					t.Errorf("container %s: got %+v, want %+v", k, got[k], w)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d containers, want %d: %+v", len(got), len(tt.want), got)
			}
			if r.Problems != tt.problems || len(r.Notes) != tt.notes {
				t.Errorf("problems %d notes %q; want %d problems, %d notes", r.Problems, r.Notes, tt.problems, tt.notes)
			}
			if r.Containers[0].Problem == "" {
				t.Errorf("first row %s is no problem: problems must come first", r.Containers[0].ID)
			}
		})
	}
}

func TestBuildPodFromDecisionWithoutContainerd(t *testing.T) {
	r := Build(Input{Scan: testScan(t), Decisions: map[string]Decision{idB: {Namespace: "team", Pod: "web", Container: "app"}}})
	for _, c := range r.Containers {
		if c.ID == idB && (c.PodNamespace != "team" || c.Pod != "web" || c.Name != "app") {
			t.Errorf("pod of b = %s/%s/%s, want team/web/app from the decision log", c.PodNamespace, c.Pod, c.Name)
		}
	}
}

func TestWriteTextEscapes(t *testing.T) {
	meta := map[string]Meta{idA: {Namespace: "default", Image: "evil\n" + "decided x", Labels: map[string]string{
		LabelPodName: "p\x1b[2Jod", LabelContainerName: "c\u202e"}}}
	r := Build(Input{Scan: Scan{Containers: map[string][]Process{idA: {{PID: 9, Seccomp: 0}}}}, Meta: meta})
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "unfiltered         aaaaaaaaaaaa ns=default pod=/\"p\\x1b[2Jod\" container=\"c\\u202e\" image=\"evil\\ndecided x\" reach=outside processes=1 unfiltered=1\n" +
		"  problem: runs without seccomp; created outside CRI, so nri-seccomp never saw it\n" +
		"1 containers, 1 problems; 0 host processes\n" +
		"note: no decision log: no container is known to be decided by nri-seccomp\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A decided container's seccomp section, as containerd holds it in the OCI
// spec, is compared with the one the plugin decided, by digest: a
// different one is a problem, one that cannot be compared is unknown and no
// problem, and an exempt container (which keeps its own) is not compared.
func TestBuildFilter(t *testing.T) {
	spec := func(digest string) Meta {
		m := criMeta("container", "team", "web", "app")
		m.SpecRead, m.Seccomp = true, digest
		return m
	}
	decided := Decision{Rules: []string{"team-default"}, Mode: "enforce", Revision: "rev-7", Digest: "sha256:aa"}
	exempt := Decision{Rules: []string{"trusted"}, Exempt: true, Revision: "rev-7", Digest: "sha256:aa"}
	noDigest := decided
	noDigest.Digest = ""
	// A decision an older release logged: its digest is of another format
	// (version 1 hashed the JSON form), so it tells nothing either way.
	older := decided
	older.Digest = "sha256:aa"
	decided.Digest = "sha256-v2:aa"
	exempt.Digest = "sha256-v2:aa"
	tests := []struct {
		name        string
		meta        map[string]Meta // nil: containerd not asked
		d           Decision
		filter      Filter
		specDigest  string
		problem     string
		problems    int
		decidedSeen string
	}{
		{"same digest", map[string]Meta{idB: spec("sha256-v2:aa")}, decided, FilterAsDecided, "sha256-v2:aa", "", 0, "sha256-v2:aa"},
		{"changed section", map[string]Meta{idB: spec("sha256-v2:bb")}, decided, FilterDiffers, "sha256-v2:bb",
			"seccomp section differs from the one nri-seccomp decided: digest sha256-v2:bb, decided sha256-v2:aa", 1, "sha256-v2:aa"},
		{"section removed", map[string]Meta{idB: spec("")}, decided, FilterDiffers, "",
			"seccomp section differs from the one nri-seccomp decided: digest none (no seccomp section), decided sha256-v2:aa", 1, "sha256-v2:aa"},
		{"decision of an older digest format", map[string]Meta{idB: spec("sha256-v2:bb")}, older, FilterUnknown, "sha256-v2:bb", "", 0, "sha256:aa"},
		{"older format, same hex", map[string]Meta{idB: spec("sha256-v2:aa")}, older, FilterUnknown, "sha256-v2:aa", "", 0, "sha256:aa"},
		{"older format, section removed", map[string]Meta{idB: spec("")}, older, FilterDiffers, "",
			"seccomp section differs from the one nri-seccomp decided: digest none (no seccomp section), decided sha256:aa", 1, "sha256:aa"},
		{"no digest logged", map[string]Meta{idB: spec("sha256-v2:bb")}, noDigest, FilterUnknown, "sha256-v2:bb", "", 0, ""},
		{"containerd not asked", nil, decided, FilterUnknown, "", "", 0, "sha256-v2:aa"},
		{"containerd does not know it", map[string]Meta{}, decided, FilterUnknown, "", "", 0, "sha256-v2:aa"},
		{"spec not decoded", map[string]Meta{idB: criMeta("container", "team", "web", "app")}, decided, FilterUnknown, "", "", 0, "sha256-v2:aa"},
		{"exempt container ignored", map[string]Meta{idB: spec("sha256-v2:bb")}, exempt, "", "", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// b: one process, filtered.
			scan := Scan{Containers: map[string][]Process{idB: {{PID: 7, Seccomp: 2, Filters: 1}}}}
			r := Build(Input{Scan: scan, Meta: tt.meta, Decisions: map[string]Decision{idB: tt.d}})
			c := r.Containers[0]
			if c.Filter != tt.filter || c.SeccompDigest != tt.specDigest || c.DecidedDigest != tt.decidedSeen ||
				c.Problem != tt.problem || r.Problems != tt.problems {
				t.Errorf("got filter %q spec %q decided %q problem %q (%d problems);\nwant filter %q spec %q decided %q problem %q (%d)",
					c.Filter, c.SeccompDigest, c.DecidedDigest, c.Problem, r.Problems,
					tt.filter, tt.specDigest, tt.decidedSeen, tt.problem, tt.problems)
			}
			if c.Revision != "rev-7" {
				t.Errorf("revision %q, want rev-7", c.Revision)
			}
		})
	}
}

// A decided container that runs unfiltered and whose section changed has
// both problems, in one line.
func TestBuildFilterTwoProblems(t *testing.T) {
	m := criMeta("container", "team", "web", "app")
	m.SpecRead = true
	scan := Scan{Containers: map[string][]Process{idB: {{PID: 7, Seccomp: 0}}}}
	r := Build(Input{Scan: scan, Meta: map[string]Meta{idB: m},
		Decisions: map[string]Decision{idB: {Rules: []string{"r"}, Digest: "sha256:aa"}}})
	want := "decided by nri-seccomp but runs without seccomp: the runtime did not apply the profile; " +
		"seccomp section differs from the one nri-seccomp decided: digest none (no seccomp section), decided sha256:aa"
	if c := r.Containers[0]; c.Problem != want || r.Problems != 1 {
		t.Errorf("problem %q (%d problems), want %q (1)", c.Problem, r.Problems, want)
	}
}

func TestWriteTextRevisionAndFilter(t *testing.T) {
	m := criMeta("container", "team", "web", "app")
	m.SpecRead, m.Seccomp = true, "sha256:aa"
	scan := Scan{Containers: map[string][]Process{idB: {{PID: 7, Seccomp: 2, Filters: 1}}}}
	r := Build(Input{Scan: scan, Meta: map[string]Meta{idB: m},
		Decisions: map[string]Decision{idB: {Rules: []string{"r"}, Mode: "enforce", Revision: "sha256:5d18", Digest: "sha256:aa"}}})
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "decided            bbbbbbbbbbbb ns=k8s.io pod=team/web container=app image=busybox:test reach=nri rules=r mode=enforce revision=sha256:5d18 filter=as-decided processes=1 unfiltered=0\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("text:\n%s\nwant first line:\n%s", b.String(), want)
	}
}
