// Package procevents follows process creation on the node through the
// kernel's process-events connector (netlink NETLINK_CONNECTOR, group
// CN_IDX_PROC; CONFIG_PROC_EVENTS): a fork, exec or exit of any process is
// reported as it happens, with PIDs of the initial PID namespace. It lets
// the audit pipeline know a process's container after the process is gone.
//
// Listening needs CAP_NET_ADMIN in the initial user namespace. The kernel
// drops events when the socket's receive buffer is full; the reader then
// gets ENOBUFS, which is reported as a loss, and reading goes on.
package procevents

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is what happened to a process.
type Kind uint8

// Event kinds. Threads are left out: a fork is reported only when it
// creates a process (a thread group), an exit only when the thread group
// leader exits.
const (
	Fork Kind = iota + 1
	Exec
	Exit
)

func (k Kind) String() string {
	switch k {
	case Fork:
		return "fork"
	case Exec:
		return "exec"
	case Exit:
		return "exit"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one process event. PID is the process (thread group id); Parent
// is the parent's, set for Fork only.
type Event struct {
	Kind   Kind
	PID    int
	Parent int
}

// Handler receives the events of a Source, in the kernel's order.
type Handler interface {
	Event(Event)
	// Lost says events were dropped (the kernel's buffer overflowed):
	// what the handler knows may miss forks and exits.
	Lost()
}

// Constants of linux/connector.h and linux/cn_proc.h (golang.org/x/sys
// does not carry them).
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000
)

// Sizes on the wire: struct cn_msg without its data, struct proc_event's
// header (what, cpu, timestamp_ns).
const (
	cnMsgLen    = 20
	procHdrLen  = 16
	forkDataLen = 16 // parent pid, tgid; child pid, tgid
	execDataLen = 8  // pid, tgid
	exitDataLen = 16 // pid, tgid, exit code, exit signal (+ parent since 4.x)
	nlmsgHdrLen = 16
)

// Errors of Decode; sentinels so that tests and callers tell them apart.
var (
	ErrShort      = errors.New("procevents: message too short")
	ErrNotProc    = errors.New("procevents: not a process-events message")
	ErrIgnoreKind = errors.New("procevents: event of no interest")
)

// Decode reads one connector message's payload (after the netlink header):
// a cn_msg whose data is a proc_event. It returns ErrIgnoreKind for events
// the package does not report (threads, uid changes, the listen ack...).
func Decode(b []byte) (Event, error) {
	if len(b) < cnMsgLen {
		return Event{}, fmt.Errorf("%w: %d bytes, a cn_msg header is %d", ErrShort, len(b), cnMsgLen)
	}
	ne := binary.NativeEndian
	idx, val := ne.Uint32(b[0:4]), ne.Uint32(b[4:8])
	if idx != cnIdxProc || val != cnValProc {
		return Event{}, fmt.Errorf("%w: connector id %d.%d", ErrNotProc, idx, val)
	}
	dataLen := int(ne.Uint16(b[16:18]))
	data := b[cnMsgLen:]
	if dataLen > len(data) {
		return Event{}, fmt.Errorf("%w: cn_msg says %d data bytes, %d present", ErrShort, dataLen, len(data))
	}
	data = data[:dataLen]
	if len(data) < procHdrLen {
		return Event{}, fmt.Errorf("%w: %d bytes of proc_event, its header is %d", ErrShort, len(data), procHdrLen)
	}
	what := ne.Uint32(data[0:4])
	ev := data[procHdrLen:]
	u32 := func(i int) int { return int(ne.Uint32(ev[4*i : 4*i+4])) }
	need := func(n int) error {
		if len(ev) < n {
			return fmt.Errorf("%w: event %#x has %d bytes, needs %d", ErrShort, what, len(ev), n)
		}
		return nil
	}
	switch what {
	case procEventFork:
		if err := need(forkDataLen); err != nil {
			return Event{}, err
		}
		childPID, childTGID := u32(2), u32(3)
		if childPID != childTGID {
			return Event{}, ErrIgnoreKind // a thread
		}
		return Event{Kind: Fork, PID: childTGID, Parent: u32(1)}, nil
	case procEventExec:
		if err := need(execDataLen); err != nil {
			return Event{}, err
		}
		return Event{Kind: Exec, PID: u32(1)}, nil
	case procEventExit:
		if err := need(exitDataLen); err != nil {
			return Event{}, err
		}
		pid, tgid := u32(0), u32(1)
		if pid != tgid {
			return Event{}, ErrIgnoreKind // a thread other than the leader
		}
		return Event{Kind: Exit, PID: tgid}, nil
	}
	return Event{}, ErrIgnoreKind
}

// listenMessage is the netlink message that subscribes (or, with
// procCnMcastIgnore, unsubscribes) a socket to process events.
func listenMessage(op uint32, portID uint32) []byte {
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], 3) // NLMSG_DONE: the connector's single-part message
	ne.PutUint16(b[6:8], 0)
	ne.PutUint32(b[8:12], 0)
	ne.PutUint32(b[12:16], portID)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:4], cnIdxProc)
	ne.PutUint32(c[4:8], cnValProc)
	ne.PutUint16(c[16:18], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	return b
}
