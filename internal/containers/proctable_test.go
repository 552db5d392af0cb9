package containers

import (
	"testing"
	"time"
)

// A shell in a container forks short-lived children (mkdir): each has exited
// before its record is read. Followed from fork, they are attributed; the
// old way (no process table) leaves them unknown. This is the case issue 14
// measured at 17 unknown events of 18.
func TestProcTableShortLivedChild(t *testing.T) {
	for _, follow := range []bool{true, false} {
		proc := newFakeProc(t)
		r := NewWithProc(proc.root)
		if follow {
			r.FollowProcesses()
		}
		r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "web", Name: "app", PID: 100})
		proc.add(100, 50, "sh", "0::/k8s/"+id(1)+"\n")

		r.Forked(100, 200)
		proc.add(200, 100, "sh", "0::/k8s/"+id(1)+"\n")
		r.Execed(200)
		r.Forked(200, 201) // a grandchild, never in /proc when read
		r.Exited(201)
		proc.exit(200)
		r.Exited(200)

		for _, pid := range []int{200, 201} {
			a := r.Attribute(pid)
			if follow && (a.How != ByFork || a.Container.Name != "app" || a.Container.Pod != "web") {
				t.Errorf("following: pid %d: %+v", pid, a)
			}
			if !follow && a.Known() {
				t.Errorf("not following: pid %d attributed: %+v", pid, a)
			}
		}
	}
}

// `crictl exec` and a container's own init are forked by runc on the host
// side and join the container's cgroup before they exec: the exec is where
// the table learns their container. A process gone before its exec is read
// keeps what it inherited.
func TestProcTableExecJoinsContainer(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	r.FollowProcesses()
	r.Upsert(Container{ID: id(2), Namespace: "ns", Pod: "web", Name: "side", PID: 110})
	proc.add(60, 1, "runc", "0::/system.slice/containerd.service\n")

	r.Forked(60, 400) // runc init, still on the host side
	if a := r.Attribute(400); a.Known() {
		t.Fatalf("before exec: %+v", a)
	}
	proc.add(400, 60, "sh", "0::/system.slice/cri-containerd-"+id(2)+".scope\n")
	r.Execed(400)
	r.Forked(400, 401)
	r.Exited(401)
	proc.exit(400)
	r.Exited(400)
	for _, pid := range []int{400, 401} {
		if a := r.Attribute(pid); a.How != ByFork || a.Container.Name != "side" {
			t.Errorf("pid %d: %+v", pid, a)
		}
	}
	// An exec read after the process exited: the inherited entry stays.
	r.Forked(60, 402)
	r.Execed(402)
	if a := r.Attribute(402); a.Known() {
		t.Errorf("pid 402: %+v", a)
	}
	// A container the registry does not hold (ctr run): unknown, with the
	// id its cgroup named.
	proc.add(403, 60, "x", "0::/k8s/"+id(9)+"\n")
	r.Forked(60, 403)
	r.Execed(403)
	proc.exit(403)
	r.Exited(403)
	if a := r.Attribute(403); a.Known() || a.ContainerID != id(9) {
		t.Errorf("pid 403: %+v", a)
	}
}

// A PID reused by a newer fork belongs to the newer process.
func TestProcTablePIDReuse(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	r.FollowProcesses()
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "a", Name: "app", PID: 100})
	r.Upsert(Container{ID: id(2), Namespace: "ns", Pod: "b", Name: "other", PID: 300})
	r.Forked(100, 200)
	r.Exited(200)
	r.Forked(300, 200)
	if a := r.Attribute(200); a.Container.Name != "other" {
		t.Fatalf("reused pid: %+v", a)
	}
	// The first process's expiry does not drop the second's entry.
	now := time.Now().Add(ProcGrace)
	r.SetClock(func() time.Time { return now })
	r.Expire()
	if a := r.Attribute(200); a.Container.Name != "other" {
		t.Fatalf("reused pid after the first one's grace: %+v", a)
	}
}

// The table holds live processes and, for ProcGrace, exited ones: after a
// churn of forks and exits it is back to what lives.
func TestProcTableBounded(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	r.FollowProcesses()
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "a", Name: "app", PID: 100})
	for pid := 1000; pid < 1000+maxExited+500; pid++ {
		r.Forked(100, pid)
		r.Exited(pid)
	}
	// Past maxExited, the oldest exited go first.
	if n := r.Processes(); n > maxExited+1 {
		t.Fatalf("%d entries after a fork storm, bound %d", n, maxExited+1)
	}
	if a := r.Attribute(1000 + maxExited + 499); a.How != ByFork {
		t.Fatalf("newest exited: %+v", a)
	}
	now = now.Add(ProcGrace)
	r.Expire()
	// Nothing is left: the parent is an init PID, known without an entry.
	if n := r.Processes(); n != 0 {
		t.Fatalf("%d entries after the grace period, want 0", n)
	}
}

// Lost events: processes the table thinks alive but /proc no longer has
// are marked exited (and expire); live ones stay.
func TestProcTableLost(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	r.FollowProcesses()
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "a", Name: "app", PID: 100})
	proc.add(100, 1, "app", "0::/"+id(1)+"\n")
	r.Forked(100, 200) // its exit is lost
	proc.add(201, 100, "x", "0::/"+id(1)+"\n")
	r.Forked(100, 201)
	r.ProcEventsLost()
	if a := r.Attribute(200); a.How != ByFork {
		t.Fatalf("within grace: %+v", a)
	}
	now = now.Add(ProcGrace)
	r.Expire()
	if n := r.Processes(); n != 1 {
		t.Fatalf("%d entries, want 1 (201; 100 is an init PID, known without one)", n)
	}
}

// Without FollowProcesses the feed is ignored.
func TestProcTableOff(t *testing.T) {
	r := NewWithProc(t.TempDir())
	r.Forked(1, 2)
	r.Execed(2)
	r.Exited(2)
	r.ProcEventsLost()
	if n := r.Processes(); n != 0 {
		t.Fatalf("%d entries", n)
	}
}

// The cost of following one short-lived process in a container (fork,
// exec whose /proc entry is already gone, exit): what the connector's
// reader spends per process created on the node.
//
//	go test -run '^$' -bench BenchmarkProcTable -benchmem ./internal/containers
func BenchmarkProcTable(b *testing.B) {
	proc := fakeProc{root: b.TempDir()}
	r := NewWithProc(proc.root)
	r.FollowProcesses()
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "a", Name: "app", PID: 100})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pid := 1000 + i%(1<<20)
		r.Forked(100, pid)
		r.Execed(pid)
		r.Exited(pid)
	}
}
