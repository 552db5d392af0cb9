package containers

import (
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The process table records, for every process created on the node while
// the registry follows process events, the container it was created in. A
// seccomp audit record is read after the call, often after the process has
// exited (a shell's short-lived child): /proc then has nothing left, but the
// table still knows, because it learnt the answer at fork, from the parent,
// while the parent lived. The feed is the kernel's process-events connector
// (internal/procevents); the registry only sees Forked, Execed and Exited.
//
// Bounds: one entry per live process (keys are PIDs, so at most pid_max),
// plus exited processes for ProcGrace, at most maxExited of them. A PID
// reused by a newer fork replaces the old entry.

// ProcGrace is how long an exited process stays in the table: records are
// read from a log after the fact (auditd's, the kernel's) and may lag.
const ProcGrace = time.Minute

// maxExited bounds the exited processes kept for their grace period; past
// it the oldest go first (a fork storm must not grow the table unbounded).
const maxExited = 1 << 16

type procEntry struct {
	// id is the container the process was created in or exec'd in, ""
	// when it is not a container's (the host, or not known).
	id string
	// exited is when the process's exit was seen; zero while it lives.
	exited time.Time
}

type exitedPID struct {
	pid int
	at  time.Time
}

type procTable struct {
	m map[int]procEntry
	// exits lists exited PIDs in order of exit, for expiry, from head on
	// (a queue: compacted when half of it is spent, so that an exit costs
	// O(1) amortised, not a copy of the queue).
	exits []exitedPID
	head  int
}

// FollowProcesses enables the process table: the registry is then fed by
// Forked, Execed and Exited and answers Attribute from it (ByFork). Call it
// once the event source runs; without it those calls do nothing.
func (r *Registry) FollowProcesses() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs == nil {
		r.procs = &procTable{m: map[int]procEntry{}}
	}
}

// Forked records a new process (a thread group: child is its PID, parent
// its parent's). The child belongs where its parent does: the parent's
// entry, or its init PID, or, for a parent the table has not seen (older
// than the feed), its /proc/PID/cgroup, read now while it lives.
func (r *Registry) Forked(parent, child int) {
	r.mu.RLock()
	on := r.procs != nil
	id, ok := r.ownerLocked(parent)
	r.mu.RUnlock()
	if !on {
		return
	}
	resolved := false
	if !ok {
		id = r.liveOwner(parent)
		resolved = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs == nil {
		return
	}
	if resolved {
		if _, seen := r.procs.m[parent]; !seen {
			r.procs.m[parent] = procEntry{id: id}
		}
	}
	r.procs.m[child] = procEntry{id: id} // a reused PID: the newer fork wins
}

// Execed re-reads the container of a process that exec'd: `runc exec` and a
// container's init fork from runc on the host side, join the container's
// cgroup, then exec, so the exec is where they become the container's. When
// /proc no longer has the process (it exited before the event was read),
// the entry inherited at fork stays.
func (r *Registry) Execed(pid int) {
	r.mu.RLock()
	on := r.procs != nil
	r.mu.RUnlock()
	if !on {
		return
	}
	ids, readable := r.cgroupIDsOK(pid)
	if !readable {
		return
	}
	id := r.knownID(ids)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs == nil {
		return
	}
	r.procs.m[pid] = procEntry{id: id}
}

// Exited marks a process gone; it is kept for ProcGrace so that records
// read late still find it.
func (r *Registry) Exited(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	t := r.procs
	if t == nil {
		return
	}
	e, ok := t.m[pid]
	if ok && e.exited.IsZero() {
		e.exited = now
		t.m[pid] = e
		t.exits = append(t.exits, exitedPID{pid, now})
	}
	t.expire(now)
}

// expire drops the exited processes older than ProcGrace, and the oldest
// past maxExited. An entry replaced by a newer fork of the same PID (not
// exited, or exited at another time) is left alone.
func (t *procTable) expire(now time.Time) {
	for t.head < len(t.exits) && (now.Sub(t.exits[t.head].at) >= ProcGrace || len(t.exits)-t.head > maxExited) {
		x := t.exits[t.head]
		if e, ok := t.m[x.pid]; ok && e.exited.Equal(x.at) {
			delete(t.m, x.pid)
		}
		t.head++
	}
	if t.head > 0 && t.head >= len(t.exits)/2 {
		t.exits = append(t.exits[:0], t.exits[t.head:]...)
		t.head = 0
	}
}

// ProcEventsLost says the feed lost events (the socket's buffer overflowed):
// exits may be missing, so entries whose process is gone from /proc are
// marked exited now. Forks may be missing too; those processes are
// attributed the old way (cgroup, parents), which Attribute falls back to.
func (r *Registry) ProcEventsLost() {
	r.mu.RLock()
	var live []int
	if r.procs != nil {
		for pid, e := range r.procs.m {
			if e.exited.IsZero() {
				live = append(live, pid)
			}
		}
	}
	r.mu.RUnlock()
	for _, pid := range live {
		if _, err := os.Stat(filepath.Join(r.proc, strconv.Itoa(pid))); os.IsNotExist(err) {
			r.Exited(pid)
		}
	}
}

// Processes returns how many processes the table holds, live and exited
// (a gauge: it must follow what runs, not grow).
func (r *Registry) Processes() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.procs == nil {
		return 0
	}
	return len(r.procs.m)
}

// ownerLocked is the container a process belongs to from what the registry
// holds: a container's init PID, or the table's entry. ok is false when
// neither knows the process. r.mu is held.
func (r *Registry) ownerLocked(pid int) (id string, ok bool) {
	if id, ok := r.byPID[pid]; ok {
		return id, true
	}
	if r.procs != nil {
		if e, ok := r.procs.m[pid]; ok {
			return e.id, true
		}
	}
	return "", false
}

// liveOwner reads the container of a live process from /proc/PID/cgroup;
// "" when it names none the registry knows.
func (r *Registry) liveOwner(pid int) string {
	ids, _ := r.cgroupIDsOK(pid)
	return r.knownID(ids)
}

// knownID is the innermost id of ids that the registry holds, else the
// innermost id (a container created outside NRI: Attribute reports it as
// Unknown with its id), else "".
func (r *Registry) knownID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := len(ids) - 1; i >= 0; i-- {
		if r.containerLocked(ids[i]) != nil {
			return ids[i]
		}
	}
	return ids[len(ids)-1]
}

// byTable answers Attribute from the process table. r.mu is held.
func (r *Registry) byTableLocked(pid int) (Attribution, bool) {
	if r.procs == nil {
		return Attribution{}, false
	}
	e, ok := r.procs.m[pid]
	if !ok || e.id == "" {
		return Attribution{}, false
	}
	if c := r.containerLocked(e.id); c != nil {
		return Attribution{Container: clone(c), How: ByFork}, true
	}
	return Attribution{How: Unknown, ContainerID: e.id}, false
}
