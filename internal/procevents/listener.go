package procevents

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrUnavailable says the connector cannot be listened to here: no
// CAP_NET_ADMIN (EPERM), or a kernel without CONFIG_PROC_EVENTS
// (EPROTONOSUPPORT, ENOENT...). The daemon then attributes the old way.
var ErrUnavailable = errors.New("process-events connector unavailable")

// rcvBuf is the socket's receive buffer: a fork storm on a busy node sends
// tens of thousands of events per second, each ~80 bytes on the wire and
// several hundred in the buffer's accounting.
const rcvBuf = 8 << 20

// Listener reads process events from the kernel.
type Listener struct {
	f *os.File
}

// Listen opens a connector socket and subscribes it to process events.
func Listen() (*Listener, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("%w: socket: %w", ErrUnavailable, err)
	}
	// A larger buffer makes losses rarer; FORCE needs CAP_NET_ADMIN, which
	// listening needs anyway, and the plain one is capped by rmem_max.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: bind: %w", ErrUnavailable, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: getsockname: %w", ErrUnavailable, err)
	}
	port := sa.(*unix.SockaddrNetlink).Pid
	// The kernel answers EPERM here without CAP_NET_ADMIN.
	if err := unix.Sendto(fd, listenMessage(procCnMcastListen, port), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: subscribing: %w", ErrUnavailable, err)
	}
	return &Listener{f: os.NewFile(uintptr(fd), "netlink-connector")}, nil
}

// Run hands every event to h until ctx is done or reading fails. Losses
// (ENOBUFS) are reported to h.Lost and reading goes on. Messages not sent by
// the kernel are ignored.
func (l *Listener) Run(ctx context.Context, h Handler) error {
	raw, err := l.f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { l.f.Close() })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := raw.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("process events: %w", err)
		}
		switch {
		case errors.Is(rerr, unix.ENOBUFS):
			h.Lost()
			continue
		case errors.Is(rerr, unix.EINTR):
			continue
		case rerr != nil:
			return fmt.Errorf("process events: %w", rerr)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // not the kernel
		}
		dispatch(buf[:n], h)
	}
}

// dispatch decodes one datagram's netlink messages; a malformed one ends
// the datagram (its length cannot be trusted to find the next).
func dispatch(b []byte, h Handler) {
	for len(b) >= nlmsgHdrLen {
		ne := binary.NativeEndian
		l := int(ne.Uint32(b[0:4]))
		if l < nlmsgHdrLen || l > len(b) {
			return
		}
		if ne.Uint16(b[4:6]) == unix.NLMSG_DONE {
			if ev, err := Decode(b[nlmsgHdrLen:l]); err == nil {
				h.Event(ev)
			}
		}
		b = b[min((l+3)&^3, len(b)):]
	}
}

// Close stops listening.
func (l *Listener) Close() error { return l.f.Close() }
