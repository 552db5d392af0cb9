package learn

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOwnedBy(t *testing.T) {
	for _, tc := range []struct {
		owner, pod string
		want       bool
	}{
		{"web", "web-7d4b9c-x2x9q", true},         // Deployment
		{"web", "web-x2x9q", true},                // ReplicaSet, DaemonSet, Job
		{"web", "web-0", true},                    // StatefulSet
		{"web", "web-12", true},                   // StatefulSet
		{"backup", "backup-29412345-x2x9q", true}, // CronJob's Job's pod
		{"web", "web", false},
		{"web", "web-", false},
		{"web", "web-01", false},                 // not an ordinal
		{"web", "web-api-5f6d7-zzq2w", false},    // another Deployment: vowels
		{"web", "web-x2x9", false},               // 4-character suffix
		{"web", "web-x2x9qq", false},             // 6-character suffix
		{"web", "web-7d4b9c7d4b9c-x2x9q", false}, // hash of 12
		{"web", "web-7d4b9c-x2x9q-x2x9q", false}, // three parts
		{"web", "webx-7d4b9c-x2x9q", false},
		{"web", "web-7D4B9C-x2x9q", false},
		{"", "-x2x9q", false},
		// The limit of names: a DaemonSet "web-gw" has pods "web-gw-XXXXX",
		// which read as a Deployment "web"'s with hash "gw" (docs/audit.md).
		{"web", "web-gw-x2x9q", true},
	} {
		if got := OwnedBy(tc.owner, tc.pod); got != tc.want {
			t.Errorf("OwnedBy(%q, %q) = %t", tc.owner, tc.pod, got)
		}
	}
}

func TestSelectionErrors(t *testing.T) {
	rep := buildReport(t, time.Time{}, nil, "replicas.jsonl")
	for _, tc := range []struct {
		o    ProfileOptions
		want string
	}{
		{ProfileOptions{Pod: "web-1"}, "bad workload selection: a namespace is required"},
		{ProfileOptions{Namespace: "shop"}, "bad workload selection: a pod or an owner is required"},
		{ProfileOptions{Namespace: "shop", Pod: "web-1", Owner: "web"}, "bad workload selection: a pod or an owner, not both"},
		{ProfileOptions{Namespace: "shop", Owner: "Web"}, `bad workload selection: owner "Web": not a Kubernetes object name (lower-case letters, digits and '-', at most 253 characters)`},
		{ProfileOptions{Namespace: "shop", Owner: "web-"}, `bad workload selection: owner "web-": not a Kubernetes object name (lower-case letters, digits and '-', at most 253 characters)`},
		{ProfileOptions{Namespace: "shop", Owner: "a.b"}, `bad workload selection: owner "a.b": not a Kubernetes object name (lower-case letters, digits and '-', at most 253 characters)`},
	} {
		_, err := BuildProfile(rep, tc.o)
		if !errors.Is(err, ErrSelection) || err.Error() != tc.want {
			t.Errorf("%+v: %v\nwant %s", tc.o, err, tc.want)
		}
	}
	_, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Owner: "api"})
	want := "no seccomp records for the workload: pods of shop/api (447 records in the input; attributed to: shop/db-0/db, shop/web-7d4b9c-k8m2p/app, shop/web-7d4b9c-k8m2p/sidecar, shop/web-7d4b9c-x2x9q/app, shop/web-api-5f6d7-zzq2w/app)"
	if !errors.Is(err, ErrNoRecords) || err.Error() != want {
		t.Errorf("no pods: %v\nwant %s", err, want)
	}
}

func at(clock string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-11-26T"+clock+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// Two replicas of a Deployment, one of them restarted, merge into one
// profile; another Deployment whose name starts alike and a StatefulSet stay
// out. The restart made a syscall no earlier run had made, so no run since
// the last new syscall.
func TestRecordMergesReplicas(t *testing.T) {
	rep := buildReport(t, time.Time{}, nil, "replicas.jsonl")
	res, err := BuildProfile(rep, ProfileOptions{Namespace: "shop", Owner: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Containers, ","); got != "shop/web-7d4b9c-k8m2p/app,shop/web-7d4b9c-k8m2p/sidecar,shop/web-7d4b9c-x2x9q/app" {
		t.Errorf("containers %s", got)
	}
	if got := strings.Join(res.Seen, " "); got != "mkdir nanosleep read sendfile write" {
		t.Errorf("seen %s", got)
	}
	want := Coverage{
		Pods: []string{"web-7d4b9c-k8m2p", "web-7d4b9c-x2x9q"}, Runs: 4, Records: 445, Syscalls: 5,
		First: at("10:00:00"), Last: at("11:10:00"),
		Container: []ContainerCoverage{{
			Container: "app", Pods: 2, Runs: 3, Records: 375, Syscalls: 5 - 1,
			First: at("10:00:00"), Last: at("11:00:00"),
			LastNew: at("10:40:00"), LastNewSyscalls: []string{"sendfile"}, QuietSeconds: 20 * 60, RunsWithoutNew: 0,
		}, {
			Container: "sidecar", Pods: 1, Runs: 1, Records: 70, Syscalls: 1,
			First: at("10:02:30"), Last: at("11:10:00"),
			LastNew: at("10:02:30"), LastNewSyscalls: []string{"nanosleep"}, QuietSeconds: 67*60 + 30, RunsWithoutNew: 0,
		}},
		UnattributedNotAllowed: []string{},
	}
	if !reflect.DeepEqual(res.Coverage, want) {
		t.Errorf("coverage\n%+v\nwant\n%+v", res.Coverage, want)
	}
	var b strings.Builder
	if err := res.Coverage.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	wantText := `coverage: 2 pods (web-7d4b9c-k8m2p, web-7d4b9c-x2x9q), 4 runs, 445 records, 5 syscalls seen, 2026-11-26T10:00:00Z to 2026-11-26T11:10:00Z (1h10m0s)
  container app: 2 pods, 3 runs, 375 records, 4 syscalls; last new syscall (sendfile) first seen 2026-11-26T10:40:00Z: none new in the last 20m0s and in the last 0 of 3 runs
  container sidecar: 1 pod, 1 run, 70 records, 1 syscall; last new syscall (nanosleep) first seen 2026-11-26T10:02:30Z: none new in the last 1h7m30s and in the last 0 of 1 run
warning: ` + NotCovered + "\n"
	if b.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), wantText)
	}
}

// Runs that add nothing count up; the one that adds resets the count.
func TestConvergenceByRuns(t *testing.T) {
	mk := func(pod, first string, used ...string) *run {
		r := &run{pod: pod, container: "app", first: at(first), last: at(first), records: 1, used: map[string]time.Time{}}
		for _, n := range used {
			r.use(n, at(first))
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		runs     []*run
		without  int
		lastNew  []string
		quiet    int64
		syscalls int
	}{
		{"one run", []*run{mk("a", "10:00:00", "read")}, 0, []string{"read"}, 0, 1},
		{"two quiet", []*run{mk("a", "10:00:00", "read", "write"), mk("b", "10:10:00", "read"), mk("a", "10:20:00", "write")}, 2, []string{"read", "write"}, 20 * 60, 2},
		{"late news", []*run{mk("a", "10:00:00", "read"), mk("b", "10:10:00", "read"), mk("c", "10:20:00", "mkdir")}, 0, []string{"mkdir"}, 0, 2},
		{"order by first record", []*run{mk("c", "10:20:00", "read"), mk("a", "10:00:00", "read", "mkdir")}, 1, []string{"mkdir", "read"}, 20 * 60, 2},
		{"nothing used", []*run{mk("a", "10:00:00")}, 1, []string{}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := containerCoverage("app", tc.runs)
			if cc.RunsWithoutNew != tc.without || !reflect.DeepEqual(cc.LastNewSyscalls, tc.lastNew) || cc.QuietSeconds != tc.quiet || cc.Syscalls != tc.syscalls {
				t.Errorf("%+v", cc)
			}
		})
	}
}
