// Package containers keeps the containers running on this node, as the NRI
// plugin saw them (id, pod, container name, init PID, the seccomp decision),
// and attributes a host PID to one of them. The plugin writes it; the audit
// pipeline reads it. Nothing here talks to NRI or containerd: the plugin
// converts at its edge.
package containers

import (
	"bufio"
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Container is one container the runtime told the plugin about.
type Container struct {
	ID        string    `json:"container_id"`
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	PodUID    string    `json:"pod_uid,omitempty"`
	Name      string    `json:"container"`
	PID       int       `json:"pid,omitempty"`
	Rules     []string  `json:"rules,omitempty"`
	Mode      string    `json:"mode,omitempty"`
	Digest    string    `json:"digest,omitempty"`
	Started   time.Time `json:"started,omitzero"`
}

// How says how a PID was attributed.
type How string

const (
	// ByPID: the PID is a container's init process, as the runtime said.
	ByPID How = "pid"
	// ByCgroup: /proc/PID/cgroup names a known container's id.
	ByCgroup How = "cgroup"
	// ByAncestor: a parent process (walking /proc/PID/stat) is a known
	// container's init.
	ByAncestor How = "ancestor"
	// ByCache: the PID was attributed earlier and has since exited.
	ByCache How = "cache"
	// ByFork: the process table (FollowProcesses) recorded the container
	// when the process was created or exec'd; it may have exited since.
	ByFork How = "fork"
	// Unknown: no container found. ContainerID may still be set when the
	// cgroup path names a container the registry does not hold (one
	// created before the plugin started, or with `ctr run`, which
	// bypasses NRI).
	Unknown How = "unknown"
)

// Attribution is the answer for one PID.
type Attribution struct {
	Container Container
	How       How
	// ContainerID from the cgroup path when How is Unknown.
	ContainerID string
}

// Known reports whether the PID belongs to a container in the registry.
func (a Attribution) Known() bool { return a.How != Unknown }

// cacheMax bounds the PID cache; it is dropped whole when full, since
// entries are cheap to recompute while their process lives.
const cacheMax = 8192

// maxAncestors bounds the walk up the process tree.
const maxAncestors = 32

// Registry is safe for concurrent use.
type Registry struct {
	proc string // procfs mount, "/proc" outside tests

	mu    sync.RWMutex
	byID  map[string]*Container
	byPID map[int]string
	// cache remembers how a PID was attributed, so that records read
	// after the process exited (a burst of them is normal) still name
	// their container.
	cache map[int]string
	// gone holds removed containers for ContainerGrace: the kernel's last
	// records of a container are read after its removal.
	gone map[string]goneContainer
	// procs is the process table, nil unless FollowProcesses.
	procs *procTable
	// onForget is called (without the lock) for a container dropped for
	// good whose namespace, pod and name no other container shares.
	onForget func(Container)

	now func() time.Time
}

type goneContainer struct {
	c  *Container
	at time.Time
}

// ContainerGrace is how long a removed container still answers for its
// PIDs: records read late (a log lags) keep their pod.
const ContainerGrace = time.Minute

// New returns an empty registry reading /proc.
func New() *Registry { return NewWithProc("/proc") }

// NewWithProc returns an empty registry reading the procfs at proc (tests).
func NewWithProc(proc string) *Registry {
	return &Registry{
		proc:  proc,
		byID:  map[string]*Container{},
		byPID: map[int]string{},
		cache: map[int]string{},
		gone:  map[string]goneContainer{},
		now:   time.Now,
	}
}

// SetClock replaces time.Now (tests).
func (r *Registry) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// OnForget sets f to be called with each container dropped for good (its
// grace after removal over) when no other container, running or within its
// grace, has the same namespace, pod and name: what per-container state
// elsewhere (metric series) is keyed by. Call it before use.
func (r *Registry) OnForget(f func(Container)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onForget = f
}

// containerLocked returns the container with id, running or removed
// within its grace; nil if none. r.mu is held.
func (r *Registry) containerLocked(id string) *Container {
	if c, ok := r.byID[id]; ok {
		return c
	}
	if g, ok := r.gone[id]; ok {
		return g.c
	}
	return nil
}

// Upsert adds c or updates the container with its id. Fields c leaves empty
// keep their value: the decision is known at creation, the PID only after
// the start, and the two arrive in separate events.
func (r *Registry) Upsert(c Container) {
	if c.ID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upsertLocked(c)
}

func (r *Registry) upsertLocked(c Container) {
	delete(r.gone, c.ID)
	old, ok := r.byID[c.ID]
	if !ok {
		cp := c
		cp.Rules = slices.Clone(c.Rules)
		r.byID[c.ID] = &cp
		if c.PID > 0 {
			r.byPID[c.PID] = c.ID
		}
		return
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&old.Namespace, c.Namespace)
	set(&old.Pod, c.Pod)
	set(&old.PodUID, c.PodUID)
	set(&old.Name, c.Name)
	set(&old.Mode, c.Mode)
	set(&old.Digest, c.Digest)
	if c.Rules != nil {
		old.Rules = slices.Clone(c.Rules)
	}
	if !c.Started.IsZero() {
		old.Started = c.Started
	}
	if c.PID > 0 && c.PID != old.PID {
		if old.PID > 0 && r.byPID[old.PID] == c.ID {
			delete(r.byPID, old.PID)
		}
		old.PID = c.PID
		r.byPID[c.PID] = c.ID
	}
}

// Remove takes a container out of the running ones. It still answers for
// its PIDs for ContainerGrace, then is forgotten (Expire).
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	r.removeLocked(id, r.now())
	forgotten := r.expireLocked(r.now())
	f := r.onForget
	r.mu.Unlock()
	notify(f, forgotten)
}

func (r *Registry) removeLocked(id string, now time.Time) {
	c, ok := r.byID[id]
	if !ok {
		return
	}
	if c.PID > 0 && r.byPID[c.PID] == id {
		delete(r.byPID, c.PID)
	}
	delete(r.byID, id)
	r.gone[id] = goneContainer{c: c, at: now}
}

// Expire forgets the containers removed more than ContainerGrace ago, and
// the exited processes past ProcGrace. Remove and Exited do it as they go;
// call it now and then so that a quiet node forgets too.
func (r *Registry) Expire() {
	r.mu.Lock()
	now := r.now()
	forgotten := r.expireLocked(now)
	if r.procs != nil {
		r.procs.expire(now)
	}
	f := r.onForget
	r.mu.Unlock()
	notify(f, forgotten)
}

// expireLocked drops the removed containers past their grace, their cached
// PIDs with them, and returns those onForget must hear of. r.mu is held.
func (r *Registry) expireLocked(now time.Time) []Container {
	var dropped []*Container
	for id, g := range r.gone {
		if now.Sub(g.at) >= ContainerGrace {
			delete(r.gone, id)
			dropped = append(dropped, g.c)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	ids := make(map[string]bool, len(dropped))
	for _, c := range dropped {
		ids[c.ID] = true
	}
	for pid, cid := range r.cache {
		if ids[cid] {
			delete(r.cache, pid)
		}
	}
	var out []Container
	for _, c := range dropped {
		if !r.nameInUseLocked(c) {
			out = append(out, clone(c))
		}
	}
	return out
}

// nameInUseLocked reports whether another container, running or within
// its grace, has c's namespace, pod and name (a restarted container).
func (r *Registry) nameInUseLocked(c *Container) bool {
	same := func(o *Container) bool {
		return o.ID != c.ID && o.Namespace == c.Namespace && o.Pod == c.Pod && o.Name == c.Name
	}
	for _, o := range r.byID {
		if same(o) {
			return true
		}
	}
	for _, g := range r.gone {
		if same(g.c) {
			return true
		}
	}
	return false
}

func notify(f func(Container), cs []Container) {
	if f == nil {
		return
	}
	for _, c := range cs {
		f(c)
	}
}

// Sync makes the registry hold exactly cs (the runtime's list at
// Synchronize) as running, keeping what was known of containers still
// listed; the others are removed (with their grace).
func (r *Registry) Sync(cs []Container) {
	r.mu.Lock()
	now := r.now()
	keep := make(map[string]bool, len(cs))
	for _, c := range cs {
		keep[c.ID] = true
	}
	for id := range r.byID {
		if !keep[id] {
			r.removeLocked(id, now)
		}
	}
	for _, c := range cs {
		r.upsertLocked(c)
	}
	forgotten := r.expireLocked(now)
	f := r.onForget
	r.mu.Unlock()
	notify(f, forgotten)
}

// Get returns a copy of the container with id.
func (r *Registry) Get(id string) (Container, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byID[id]
	if !ok {
		return Container{}, false
	}
	return clone(c), true
}

// List returns copies of every container, sorted by namespace, pod, name.
func (r *Registry) List() []Container {
	r.mu.RLock()
	out := make([]Container, 0, len(r.byID))
	for _, c := range r.byID {
		out = append(out, clone(c))
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Container) int {
		if a.Namespace != b.Namespace {
			return cmp.Compare(a.Namespace, b.Namespace)
		}
		if a.Pod != b.Pod {
			return cmp.Compare(a.Pod, b.Pod)
		}
		if a.Name != b.Name {
			return cmp.Compare(a.Name, b.Name)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func clone(c *Container) Container {
	cp := *c
	cp.Rules = slices.Clone(c.Rules)
	return cp
}

// Attribute finds the container a host PID belongs to: its init PID, else
// the process table's entry (FollowProcesses: recorded at fork or exec, so
// the process may have exited), else the container id in /proc/PID/cgroup
// (exec'd processes, children), else a parent that is an init PID, else a
// PID attributed before (the process has exited since). Containers removed
// within ContainerGrace still answer. /proc is read without the lock held.
func (r *Registry) Attribute(pid int) Attribution {
	r.mu.RLock()
	if id, ok := r.byPID[pid]; ok {
		c := clone(r.byID[id])
		r.mu.RUnlock()
		return Attribution{Container: c, How: ByPID}
	}
	fromTable, ok := r.byTableLocked(pid)
	r.mu.RUnlock()
	if ok {
		return fromTable
	}

	ids := r.cgroupIDs(pid)
	if a, ok := r.lookupAny(ids); ok {
		r.remember(pid, a.Container.ID)
		a.How = ByCgroup
		return a
	}
	for p, i := pid, 0; i < maxAncestors; i++ {
		pp, ok := r.parent(p)
		if !ok || pp <= 1 {
			break
		}
		r.mu.RLock()
		id, found := r.byPID[pp]
		var c Container
		if found {
			c = clone(r.byID[id])
		}
		r.mu.RUnlock()
		if found {
			r.remember(pid, id)
			return Attribution{Container: c, How: ByAncestor}
		}
		p = pp
	}
	r.mu.RLock()
	id, ok := r.cache[pid]
	var c *Container
	if ok {
		c = r.containerLocked(id)
	}
	var out Attribution
	if c != nil {
		out = Attribution{Container: clone(c), How: ByCache}
	}
	r.mu.RUnlock()
	if c != nil {
		return out
	}
	a := Attribution{How: Unknown, ContainerID: fromTable.ContainerID}
	if len(ids) > 0 {
		a.ContainerID = ids[len(ids)-1]
	}
	return a
}

func (r *Registry) lookupAny(ids []string) (Attribution, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// The innermost (last) id wins: a nested path names the pod's
	// sandbox before the container.
	for i := len(ids) - 1; i >= 0; i-- {
		if c := r.containerLocked(ids[i]); c != nil {
			return Attribution{Container: clone(c)}, true
		}
	}
	return Attribution{}, false
}

func (r *Registry) remember(pid int, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= cacheMax {
		clear(r.cache)
	}
	r.cache[pid] = id
}

// cgroupIDs returns the 64-hex-digit ids in /proc/PID/cgroup, in order of
// appearance per line. containerd names a container's cgroup after its id
// with cgroupfs (".../<id>") and with systemd ("cri-containerd-<id>.scope"),
// on cgroup v1 and v2 alike, so the id is found without knowing the layout.
func (r *Registry) cgroupIDs(pid int) []string {
	ids, _ := r.cgroupIDsOK(pid)
	return ids
}

// cgroupIDsOK is cgroupIDs, and whether the file could be read (the
// process exists).
func (r *Registry) cgroupIDsOK(pid int) ([]string, bool) {
	f, err := os.Open(filepath.Join(r.proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, id := range hexIDs(sc.Bytes()) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, sc.Err() == nil
}

// hexIDs finds every run of exactly 64 lowercase hex digits in b.
func hexIDs(b []byte) []string {
	var out []string
	run := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] >= 'a' && b[i] <= 'f') {
			run++
			continue
		}
		if run == 64 {
			out = append(out, string(b[i-64:i]))
		}
		run = 0
	}
	return out
}

// parent reads the parent PID from /proc/PID/stat. comm (field 2) may hold
// spaces and parentheses, so the fields after the last ')' are used.
func (r *Registry) parent(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join(r.proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(string(fields[1]))
	return pp, err == nil
}
