package record

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

var (
	// ErrNotSeccomp is returned for a line that is not a seccomp record (any
	// other kernel or audit message): callers skip those.
	ErrNotSeccomp = errors.New("not a seccomp audit record")
	// ErrMalformed is returned for a line that claims to be a seccomp record
	// but cannot be read: callers count and report those.
	ErrMalformed = errors.New("malformed seccomp audit record")
)

// enrichSep separates the raw record from auditd's interpreted fields in its
// ENRICHED log format. The interpreted SYSCALL= is not used: auditd 3.0.9
// writes "unknown-syscall(-1)" for seccomp records, and the raw numbers
// decode the same everywhere.
const enrichSep = 0x1d

// Parse reads one seccomp audit record in any of the forms it is found in:
//
//   - /dev/kmsg:   "5,399,2732976524,-;audit: type=1326 audit(...): ..."
//   - dmesg:       "[ 2732.976524] audit: type=1326 audit(...): ..."
//   - auditd:      "type=SECCOMP msg=audit(...): ...", optionally "node=N "
//     first and, in the ENRICHED format, interpreted fields after 0x1d.
//
// It returns ErrNotSeccomp (wrapped) for other lines and ErrMalformed
// (wrapped, naming the problem) for a seccomp record it cannot read. It does
// not allocate for lines it skips.
func Parse(line []byte) (Record, error) {
	var r Record
	rest, ok := seccompBody(line)
	if !ok {
		return r, ErrNotSeccomp
	}
	if i := bytes.IndexByte(rest, enrichSep); i >= 0 {
		rest = rest[:i]
	}
	rest = bytes.TrimRight(rest, "\r\n")

	// audit(SEC.MSEC:SERIAL):
	rest, ok = bytes.CutPrefix(rest, []byte("audit("))
	if !ok {
		return r, fmt.Errorf("%w: no audit(...) stamp", ErrMalformed)
	}
	end := bytes.IndexByte(rest, ')')
	if end < 0 {
		return r, fmt.Errorf("%w: unterminated audit(...) stamp", ErrMalformed)
	}
	if err := parseStamp(rest[:end], &r); err != nil {
		return r, err
	}
	rest = bytes.TrimPrefix(rest[end+1:], []byte(":"))

	var seen uint8
	const (
		seenPID = 1 << iota
		seenArch
		seenSyscall
		seenCode
		seenAll = seenPID | seenArch | seenSyscall | seenCode
	)
	for len(rest) > 0 {
		var key, val []byte
		var quoted bool
		var err error
		key, val, quoted, rest, err = nextField(rest)
		if err != nil {
			return r, err
		}
		if key == nil {
			break
		}
		switch string(key) {
		case "pid":
			n, err := parseUint(key, val, 10, 31)
			if err != nil {
				return r, err
			}
			r.PID = int(n)
			seen |= seenPID
		case "uid":
			r.UID, err = parseUint32(key, val)
		case "gid":
			r.GID, err = parseUint32(key, val)
		case "auid":
			r.AUID, err = parseUint32(key, val)
		case "ses":
			r.Ses, err = parseUint32(key, val)
		case "subj":
			r.Subj = string(val)
		case "comm":
			r.Comm, err = untrusted(key, val, quoted)
		case "exe":
			r.Exe, err = untrusted(key, val, quoted)
		case "sig":
			var n uint64
			n, err = parseUint(key, val, 10, 31)
			r.Sig = int(n)
		case "arch":
			var n uint64
			n, err = parseUint(key, val, 16, 32)
			r.AuditArch = uint32(n)
			seen |= seenArch
		case "syscall":
			var n uint64
			n, err = parseUint(key, val, 10, 31)
			r.Syscall = int(n)
			seen |= seenSyscall
		case "compat":
			r.Compat = string(val) == "1"
		case "ip":
			r.IP, err = parseUint(key, bytes.TrimPrefix(val, []byte("0x")), 16, 64)
		case "code":
			var n uint64
			n, err = parseUint(key, bytes.TrimPrefix(val, []byte("0x")), 16, 32)
			r.Code = uint32(n)
			seen |= seenCode
		}
		if err != nil {
			return r, err
		}
	}
	if seen != seenAll {
		missing := ""
		for _, f := range []struct {
			bit  uint8
			name string
		}{{seenPID, "pid"}, {seenArch, "arch"}, {seenSyscall, "syscall"}, {seenCode, "code"}} {
			if seen&f.bit == 0 {
				missing += " " + f.name
			}
		}
		return r, fmt.Errorf("%w: missing field(s):%s", ErrMalformed, missing)
	}
	r.decode()
	return r, nil
}

// seccompBody strips the transport prefix and the record type, returning what
// follows ("audit(...): fields"), or false for any other message.
func seccompBody(line []byte) ([]byte, bool) {
	// /dev/kmsg: "PRI,SEQ,USEC,FLAGS[,...];MESSAGE".
	if len(line) > 0 && line[0] >= '0' && line[0] <= '9' {
		i := bytes.IndexByte(line, ';')
		if i < 0 {
			return nil, false
		}
		line = line[i+1:]
	}
	// dmesg: "[   12.345678] MESSAGE".
	if len(line) > 0 && line[0] == '[' {
		i := bytes.IndexByte(line, ']')
		if i < 0 {
			return nil, false
		}
		line = bytes.TrimLeft(line[i+1:], " ")
	}
	if rest, ok := bytes.CutPrefix(line, []byte("audit: type=1326 ")); ok {
		return rest, true
	}
	// auditd: "[node=NAME ]type=SECCOMP msg=audit(...)"; numeric types
	// appear when auditd does not know the name.
	if rest, ok := bytes.CutPrefix(line, []byte("node=")); ok {
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return nil, false
		}
		line = rest[i+1:]
	}
	for _, p := range [][]byte{[]byte("type=SECCOMP msg="), []byte("type=1326 msg=")} {
		if rest, ok := bytes.CutPrefix(line, p); ok {
			return rest, true
		}
	}
	return nil, false
}

func parseStamp(b []byte, r *Record) error {
	secs, rest, ok := bytes.Cut(b, []byte("."))
	if !ok {
		return fmt.Errorf("%w: audit stamp %q: want SEC.MSEC:SERIAL", ErrMalformed, b)
	}
	msecs, serial, ok := bytes.Cut(rest, []byte(":"))
	if !ok || len(msecs) != 3 {
		return fmt.Errorf("%w: audit stamp %q: want SEC.MSEC:SERIAL", ErrMalformed, b)
	}
	s, err1 := strconv.ParseInt(string(secs), 10, 64)
	ms, err2 := strconv.ParseUint(string(msecs), 10, 16)
	n, err3 := strconv.ParseUint(string(serial), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || s < 0 {
		return fmt.Errorf("%w: audit stamp %q: want SEC.MSEC:SERIAL", ErrMalformed, b)
	}
	r.Time = time.Unix(s, int64(ms)*int64(time.Millisecond)).UTC()
	r.Serial = n
	return nil
}

// nextField reads one `key=value` or `key="value"`. key is nil at the end.
// Audit values never contain escapes: a value that would need them is
// written in hex without quotes instead (see untrusted).
func nextField(b []byte) (key, val []byte, quoted bool, rest []byte, err error) {
	b = bytes.TrimLeft(b, " ")
	if len(b) == 0 {
		return nil, nil, false, nil, nil
	}
	eq := bytes.IndexByte(b, '=')
	sp := bytes.IndexByte(b, ' ')
	if eq <= 0 || (sp >= 0 && sp < eq) {
		return nil, nil, false, nil, fmt.Errorf("%w: field without a value near %q", ErrMalformed, clip(b))
	}
	key, b = b[:eq], b[eq+1:]
	if len(b) > 0 && b[0] == '"' {
		end := bytes.IndexByte(b[1:], '"')
		if end < 0 {
			return nil, nil, false, nil, fmt.Errorf("%w: field %q: unterminated quote", ErrMalformed, key)
		}
		return key, b[1 : 1+end], true, b[end+2:], nil
	}
	if sp := bytes.IndexByte(b, ' '); sp >= 0 {
		return key, b[:sp], false, b[sp:], nil
	}
	return key, b, false, nil, nil
}

func parseUint(key, val []byte, base, bits int) (uint64, error) {
	n, err := strconv.ParseUint(string(val), base, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q: not a base-%d number of %d bits", ErrMalformed, key, clip(val), base, bits)
	}
	return n, nil
}

func parseUint32(key, val []byte) (uint32, error) {
	n, err := parseUint(key, val, 10, 32)
	return uint32(n), err
}

// untrusted decodes an audit "untrusted string" (comm, exe): quoted when it
// is plain, hex without quotes when it holds a space, a quote or a control
// byte, "(null)" when absent.
func untrusted(key, val []byte, quoted bool) (string, error) {
	if quoted || string(val) == "(null)" {
		return string(val), nil
	}
	out := make([]byte, hex.DecodedLen(len(val)))
	if _, err := hex.Decode(out, val); err != nil {
		return "", fmt.Errorf("%w: %s=%q: neither quoted nor hex", ErrMalformed, key, clip(val))
	}
	return string(out), nil
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
