//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	h "github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// forkLoops is how many short-lived children each workload forks.
const forkLoops = 20

// loop is the workload of issue 14's trial: a shell forking a short-lived
// child per iteration (busybox mkdir or rmdir, an audit-mode syscall), each
// gone before its record is read. The shell then sleeps, alive.
func loop(cmd string) []string {
	return []string{"/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do %s /tmp/d$i; i=$((i+1)); sleep 0.1; done; sleep 3600", forkLoops, cmd)}
}

// Short-lived children of a container's shell are attributed to their pod
// and container whether or not they still exist when their record is read:
// the daemon follows process creation (the process-events connector) and
// knows each child's container from its fork. Two pods run the same loop
// with different syscalls (alpha mkdir, beta rmdir), so a record given to
// the wrong pod fails. With --audit-follow-processes=false (the old way,
// /proc only) the fraction is printed as the baseline, not asserted: it
// depends on how fast records are read.
func TestAuditAttributionShortLived(t *testing.T) {
	bin := pluginBin(t)
	privateAuditd(t)
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%t", follow), func(t *testing.T) {
			c := StartContainerd(t, h.ContainerdOptions{})
			events := filepath.Join(c.Dir, "audit-events.jsonl")
			StartPlugin(t, c, bin, writePolicy(t, attrPolicy),
				"--audit", "--audit-events", events, "--audit-window", "1s", "--audit-burst", "10000",
				fmt.Sprintf("--audit-follow-processes=%t", follow))
			alpha := RunPod(t, c, h.PodSpec{Name: "alpha", Namespace: "e2e-attr"})
			beta := RunPod(t, c, h.PodSpec{Name: "beta", Namespace: "e2e-attr"})
			a := RunContainer(t, alpha, h.ContainerSpec{Name: "loop", Seccomp: h.SeccompRuntimeDefault, Command: loop("mkdir")})
			b := RunContainer(t, beta, h.ContainerSpec{Name: "loop", Seccomp: h.SeccompRuntimeDefault, Command: loop("rmdir")})

			// Records, not events: attributed ones are summarised per
			// container and window (Count), unknown ones come one by one.
			type tally struct{ total, right, unknown int }
			count := func() map[string]*tally {
				got := map[string]*tally{"mkdir": {}, "rmdir": {}}
				for _, ev := range readEvents(t, events) {
					want := map[string]string{"mkdir": a.ID, "rmdir": b.ID}[ev.Syscall]
					if ev.Comm != ev.Syscall || want == "" {
						continue
					}
					tl := got[ev.Syscall]
					tl.total += ev.Count
					switch {
					case !ev.Known():
						tl.unknown += ev.Count
					case ev.ContainerID == want && ev.Namespace == "e2e-attr" && ev.Container == "loop":
						tl.right += ev.Count
					default:
						t.Errorf("%s record attributed to the wrong container: %+v", ev.Syscall, ev)
					}
				}
				return got
			}
			var got map[string]*tally
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
				got = count()
				if got["mkdir"].total >= forkLoops && got["rmdir"].total >= forkLoops {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("records after 60s: mkdir %+v, rmdir %+v (want %d each)", *got["mkdir"], *got["rmdir"], forkLoops)
				}
			}
			for _, sc := range []string{"mkdir", "rmdir"} {
				tl := got[sc]
				if tl.total != forkLoops {
					t.Errorf("%s: %d records, want %d", sc, tl.total, forkLoops)
				}
				pod := map[string]string{"mkdir": "alpha", "rmdir": "beta"}[sc]
				t.Logf("follow=%t: %s in %s: %d of %d records attributed to the right container (%.0f%%), %d unknown",
					follow, sc, pod, tl.right, tl.total, 100*float64(tl.right)/float64(tl.total), tl.unknown)
				if follow && tl.right != tl.total {
					t.Errorf("%s: %d of %d records attributed, want all", sc, tl.right, tl.total)
				}
			}
			if follow {
				for _, ev := range readEvents(t, events) {
					if ev.Comm == "mkdir" && ev.Attribution != "fork" && ev.Attribution != "pid" && ev.Attribution != "cgroup" {
						t.Errorf("attribution %q: %+v", ev.Attribution, ev)
					}
				}
			}
		})
	}
}
