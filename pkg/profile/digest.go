package profile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Digest is a stable content key of a seccomp section for logs and caches:
// "sha256:" and the hex SHA-256 of its binary encoding (AppendBinary), so
// equal sections give equal digests and different sections different ones.
// "" for nil. (It used to hash the JSON encoding: the same key, but encoding
// JSON was most of a new decision's cost.)
func Digest(s *specs.LinuxSeccomp) string {
	if s == nil {
		return ""
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = AppendBinary((*buf)[:0], s)
	sum := sha256.Sum256(*buf)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// AppendBinary appends an encoding of every field of s to b. The encoding is
// injective: every string and list is length-prefixed and every optional
// value carries a presence byte, so two sections encode to the same bytes
// exactly when they are equal field by field (a nil list and an empty one
// are equal, as in their JSON form). It is what Digest hashes and what the
// engine's caches key on.
func AppendBinary(b []byte, s *specs.LinuxSeccomp) []byte {
	u := binary.LittleEndian.AppendUint64
	b = appendOptional(appendString(b, string(s.DefaultAction)), s.DefaultErrnoRet)
	b = u(b, uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		b = appendString(b, string(a))
	}
	b = u(b, uint64(len(s.Flags)))
	for _, f := range s.Flags {
		b = appendString(b, string(f))
	}
	b = appendString(appendString(b, s.ListenerPath), s.ListenerMetadata)
	b = u(b, uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		b = u(b, uint64(len(sc.Names)))
		for _, name := range sc.Names {
			b = appendString(b, name)
		}
		b = appendOptional(appendString(b, string(sc.Action)), sc.ErrnoRet)
		b = u(b, uint64(len(sc.Args)))
		for _, a := range sc.Args {
			b = appendString(u(u(u(b, uint64(a.Index)), a.Value), a.ValueTwo), string(a.Op))
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
}

func appendOptional(b []byte, p *uint) []byte {
	if p == nil {
		return append(b, 0)
	}
	return binary.LittleEndian.AppendUint64(append(b, 1), uint64(*p))
}

// Encoding buffers: an encoded RuntimeDefault is about 8 KiB; pooling keeps
// every digest from allocating one.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 { // don't keep a huge one forever
		bufPool.Put(b)
	}
}

// Canonical rewrites a section in the canonical form nri-seccomp writes (syscalls
// grouped by verdict and sorted), with the same behaviour; notes say where the
// canonical form had to be stricter.
func Canonical(s *specs.LinuxSeccomp, native specs.Arch) (*specs.LinuxSeccomp, []string, error) {
	p, err := FromSpec(s, native)
	if err != nil {
		return nil, nil, err
	}
	out, notes := p.ToSpec(native)
	return out, append(p.Inexact, notes...), nil
}
