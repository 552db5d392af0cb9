package containers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func id(n int) string { return fmt.Sprintf("%064x", n) }

// fakeProc writes /proc/PID/cgroup and /proc/PID/stat files.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) fakeProc { return fakeProc{t, t.TempDir()} }

func (p fakeProc) add(pid, ppid int, comm, cgroup string) {
	d := filepath.Join(p.root, fmt.Sprint(pid))
	if err := os.MkdirAll(d, 0o755); err != nil {
		p.t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (%s) S %d 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0\n", pid, comm, ppid)
	if err := os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644); err != nil {
		p.t.Fatal(err)
	}
	if cgroup != "" {
		if err := os.WriteFile(filepath.Join(d, "cgroup"), []byte(cgroup), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p fakeProc) exit(pid int) {
	if err := os.RemoveAll(filepath.Join(p.root, fmt.Sprint(pid))); err != nil {
		p.t.Fatal(err)
	}
}

func TestUpsertMergesCreateAndStart(t *testing.T) {
	r := NewWithProc(t.TempDir())
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "p", Name: "c", Rules: []string{"floor"}, Mode: "audit", Digest: "sha256:ab"})
	r.Upsert(Container{ID: id(1), PID: 100})
	c, ok := r.Get(id(1))
	if !ok || c.PID != 100 || c.Mode != "audit" || c.Digest != "sha256:ab" || len(c.Rules) != 1 || c.Pod != "p" {
		t.Fatalf("got %+v %v", c, ok)
	}
	// A new PID (a restart) replaces the old one in the PID index.
	r.Upsert(Container{ID: id(1), PID: 200})
	if a := r.Attribute(100); a.Known() {
		t.Fatalf("old PID still attributed: %+v", a)
	}
	if a := r.Attribute(200); a.How != ByPID || a.Container.Name != "c" {
		t.Fatalf("new PID: %+v", a)
	}
	// Copies out, not the stored value.
	c.Rules[0] = "changed"
	if c2, _ := r.Get(id(1)); c2.Rules[0] != "floor" {
		t.Fatal("Get returned shared Rules")
	}
	r.Upsert(Container{}) // no id: ignored
	if n := len(r.List()); n != 1 {
		t.Fatalf("List: %d containers", n)
	}
}

func TestAttributeByCgroupAncestorAndCache(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "web", Name: "app", PID: 100})
	r.Upsert(Container{ID: id(2), Namespace: "ns", Pod: "web", Name: "side", PID: 110})

	// An exec'd process: its parent is the shim, its cgroup the container's
	// (cgroup v1 hybrid, cgroupfs driver, pod cgroup then container id).
	proc.add(300, 50, "sh", fmt.Sprintf("12:pids:/kubepods/pod1/%s\n11:memory:/kubepods/pod1/%s\n0::/\n", id(9), id(2)))
	// A child of the init, in no readable cgroup.
	proc.add(400, 100, "worker (x) y", "")
	// A process of a container the registry does not know (systemd driver).
	proc.add(500, 1, "ctr", fmt.Sprintf("0::/system.slice/cri-containerd-%s.scope\n", id(7)))
	// A host process.
	proc.add(600, 1, "bash", "0::/user.slice\n")

	for _, tc := range []struct {
		pid       int
		how       How
		container string
		cid       string
	}{
		{100, ByPID, "app", ""},
		{300, ByCgroup, "side", ""},
		{400, ByAncestor, "app", ""},
		{500, Unknown, "", id(7)},
		{600, Unknown, "", ""},
		{700, Unknown, "", ""}, // no such process
	} {
		a := r.Attribute(tc.pid)
		if a.How != tc.how || a.Container.Name != tc.container || a.ContainerID != tc.cid {
			t.Errorf("pid %d: %+v, want %s %q %q", tc.pid, a, tc.how, tc.container, tc.cid)
		}
		if a.Known() != (tc.how != Unknown) {
			t.Errorf("pid %d: Known() = %v", tc.pid, a.Known())
		}
	}

	// The exec'd process exits: records read afterwards still name it.
	proc.exit(300)
	if a := r.Attribute(300); a.How != ByCache || a.Container.Name != "side" {
		t.Fatalf("after exit: %+v", a)
	}
	// A removed container still answers for its grace period (its last
	// records are read late), then is forgotten with its cache entries.
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	r.Remove(id(2))
	if a := r.Attribute(300); a.How != ByCache || a.Container.Name != "side" {
		t.Fatalf("after remove, within grace: %+v", a)
	}
	if _, ok := r.Get(id(2)); ok {
		t.Fatal("a removed container is still listed as running")
	}
	now = now.Add(ContainerGrace)
	r.Expire()
	if a := r.Attribute(300); a.Known() {
		t.Fatalf("after remove and grace: %+v", a)
	}
	for pid, cid := range r.cache {
		if cid == id(2) {
			t.Fatalf("cache still holds pid %d of the forgotten container", pid)
		}
	}
	r.Remove(id(2)) // twice: no-op
}

func TestSyncReplaces(t *testing.T) {
	r := NewWithProc(t.TempDir())
	r.Upsert(Container{ID: id(1), Name: "gone", PID: 10})
	r.Upsert(Container{ID: id(2), Name: "kept", Mode: "audit", PID: 20})
	r.Sync([]Container{{ID: id(2), Namespace: "ns", Pod: "p", Name: "kept", PID: 21}, {ID: id(3), Name: "new", PID: 30}})
	got := []string{}
	for _, c := range r.List() {
		got = append(got, fmt.Sprintf("%s:%d:%s", c.Name, c.PID, c.Mode))
	}
	if strings.Join(got, ",") != "new:30:,kept:21:audit" {
		t.Fatalf("after Sync: %v", got)
	}
	if r.Attribute(10).Known() || r.Attribute(20).Known() {
		t.Fatal("stale PIDs still attributed")
	}
	if a := r.Attribute(21); a.Container.Name != "kept" {
		t.Fatalf("pid 21: %+v", a)
	}
}

func TestHexIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"0::/k8s.io/" + id(5), []string{id(5)}},
		{"0::/system.slice/cri-containerd-" + id(5) + ".scope", []string{id(5)}},
		{"0::/" + id(5) + "0", nil},                // 65 digits: not an id
		{"0::/" + strings.ToUpper(id(0xabc)), nil}, // upper case: not containerd's
		{"0::/" + id(1) + "/" + id(2), []string{id(1), id(2)}},
		{"", nil},
	} {
		if got := hexIDs([]byte(tc.in)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	proc := newFakeProc(t)
	r := NewWithProc(proc.root)
	proc.add(5000, 1, "x", "0::/"+id(1)+"\n")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				cid := id(g*1000 + i)
				r.Upsert(Container{ID: cid, PID: g*1000 + i + 1})
				r.Attribute(g*1000 + i + 1)
				r.Attribute(5000)
				r.List()
				r.Remove(cid)
			}
		}()
	}
	wg.Wait()
	if n := len(r.List()); n != 0 {
		t.Fatalf("%d containers left", n)
	}
}

// Removed containers, by RemoveContainer or missing from a Synchronize, are
// forgotten after ContainerGrace: OnForget hears of each once, unless a
// container with the same namespace, pod and name still runs (a restart).
func TestForgetAfterGrace(t *testing.T) {
	r := NewWithProc(t.TempDir())
	now := time.Unix(1000, 0)
	r.SetClock(func() time.Time { return now })
	var forgotten []string
	r.OnForget(func(c Container) { forgotten = append(forgotten, c.Pod+"/"+c.Name) })
	r.Upsert(Container{ID: id(1), Namespace: "ns", Pod: "a", Name: "app"})
	r.Upsert(Container{ID: id(2), Namespace: "ns", Pod: "b", Name: "app"})
	r.Upsert(Container{ID: id(3), Namespace: "ns", Pod: "c", Name: "app"})
	r.Remove(id(1))
	r.Sync([]Container{{ID: id(3), Namespace: "ns", Pod: "c", Name: "app"}}) // b is gone
	r.Remove(id(3))
	r.Upsert(Container{ID: id(4), Namespace: "ns", Pod: "c", Name: "app"}) // c restarted
	r.Expire()
	if len(forgotten) != 0 {
		t.Fatalf("forgotten within the grace period: %v", forgotten)
	}
	if a := r.lookupContainer(id(2)); a == nil {
		t.Fatal("b does not answer within its grace period")
	}
	now = now.Add(ContainerGrace)
	r.Expire()
	r.Expire()
	if strings.Join(forgotten, ",") != "a/app,b/app" && strings.Join(forgotten, ",") != "b/app,a/app" {
		t.Fatalf("forgotten: %v, want a/app and b/app once each", forgotten)
	}
	if len(r.gone) != 0 || len(r.byID) != 1 {
		t.Fatalf("left: %d removed, %d running", len(r.gone), len(r.byID))
	}
}

func (r *Registry) lookupContainer(id string) *Container {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.containerLocked(id)
}
