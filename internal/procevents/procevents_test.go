package procevents

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// msg builds a connector message (cn_msg + proc_event) as the kernel sends
// it, data being the event's fields as u32s.
func msg(idx, val, what uint32, data ...uint32) []byte {
	ne := binary.NativeEndian
	ev := make([]byte, procHdrLen+4*len(data))
	ne.PutUint32(ev[0:4], what)
	ne.PutUint64(ev[8:16], 12345)
	for i, d := range data {
		ne.PutUint32(ev[procHdrLen+4*i:], d)
	}
	b := make([]byte, cnMsgLen, cnMsgLen+len(ev))
	ne.PutUint32(b[0:4], idx)
	ne.PutUint32(b[4:8], val)
	ne.PutUint16(b[16:18], uint16(len(ev)))
	return append(b, ev...)
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want Event
		err  error
	}{
		{"fork of a process", msg(1, 1, procEventFork, 10, 10, 20, 20), Event{Kind: Fork, PID: 20, Parent: 10}, nil},
		// The parent is named by its thread group: a thread that forks.
		{"fork by a thread", msg(1, 1, procEventFork, 11, 10, 20, 20), Event{Kind: Fork, PID: 20, Parent: 10}, nil},
		{"thread creation", msg(1, 1, procEventFork, 10, 10, 21, 20), Event{}, ErrIgnoreKind},
		{"exec", msg(1, 1, procEventExec, 20, 20), Event{Kind: Exec, PID: 20}, nil},
		{"exit of the leader", msg(1, 1, procEventExit, 20, 20, 0, 17, 10, 10), Event{Kind: Exit, PID: 20}, nil},
		{"exit of a thread", msg(1, 1, procEventExit, 21, 20, 0, 0), Event{}, ErrIgnoreKind},
		{"uid change", msg(1, 1, 0x4, 20, 20, 0, 0), Event{}, ErrIgnoreKind},
		{"listen ack", msg(1, 1, 0, 0), Event{}, ErrIgnoreKind},
		{"another connector", msg(2, 1, procEventFork, 10, 10, 20, 20), Event{}, ErrNotProc},
		{"short cn_msg", make([]byte, cnMsgLen-1), Event{}, ErrShort},
		{"short proc_event header", msg(1, 1, procEventFork)[:cnMsgLen+8], Event{}, ErrShort},
		{"short fork", msg(1, 1, procEventFork, 10, 10, 20), Event{}, ErrShort},
		{"short exec", msg(1, 1, procEventExec, 20), Event{}, ErrShort},
		{"short exit", msg(1, 1, procEventExit, 20, 20, 0), Event{}, ErrShort},
	} {
		got, err := Decode(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	// cn_msg's len claims more than the message has.
	b := msg(1, 1, procEventExec, 20, 20)
	binary.NativeEndian.PutUint16(b[16:18], 200)
	if _, err := Decode(b); !errors.Is(err, ErrShort) {
		t.Errorf("overlong len: %v", err)
	}
}

type recorder struct {
	mu   sync.Mutex
	evs  []Event
	lost int
}

func (r *recorder) Event(e Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }
func (r *recorder) Lost()         { r.mu.Lock(); r.lost++; r.mu.Unlock() }

func nlmsg(typ uint16, payload []byte) []byte {
	b := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(payload)+3)
	binary.NativeEndian.PutUint32(b[0:4], uint32(nlmsgHdrLen+len(payload)))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// A datagram may hold several messages; one whose length lies ends it.
func TestDispatch(t *testing.T) {
	var r recorder
	d := append(nlmsg(3, msg(1, 1, procEventExec, 5, 5)), nlmsg(2 /* NLMSG_ERROR */, msg(1, 1, procEventExec, 6, 6))...)
	d = append(d, nlmsg(3, msg(1, 1, procEventExec, 7, 7))...)
	bad := nlmsg(3, msg(1, 1, procEventExec, 8, 8))
	binary.NativeEndian.PutUint32(bad[0:4], 4000)
	d = append(d, bad...)
	dispatch(d, &r)
	if len(r.evs) != 2 || r.evs[0].PID != 5 || r.evs[1].PID != 7 {
		t.Fatalf("events: %+v", r.evs)
	}
	dispatch([]byte{1, 2, 3}, &r) // shorter than a header: nothing, no panic
	if len(r.evs) != 2 {
		t.Fatalf("events: %+v", r.evs)
	}
}

// The real connector: a child started here is seen forked from this
// process, exec'd, and exited. Needs CAP_NET_ADMIN: as root it must work
// (CONFIG_PROC_EVENTS is on in the kernels this project supports).
func TestListenLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) for the process-events connector")
	}
	l, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var r recorder
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, &r) }()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	want := map[Kind]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(want) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		for _, e := range r.evs {
			if e.PID == pid && (e.Kind != Fork || e.Parent == os.Getpid()) {
				want[e.Kind] = true
			}
		}
		r.mu.Unlock()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !want[Fork] || !want[Exec] || !want[Exit] {
		t.Fatalf("child %d: saw %v of fork, exec, exit", pid, want)
	}
}
