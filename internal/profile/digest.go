package profile

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DigestPrefix names the format of Digest: the hash and the version of the
// encoding it hashes. Version 1, written without a version as "sha256:",
// hashed the JSON form of the section; version 2 hashes AppendBinary. The
// same section has different digests in the two formats, so a digest must
// only be compared with one of its own format (see CompareDigests): a
// decision log written by an older release must not read as "differs".
const DigestPrefix = "sha256-v2:"

// Digest is a stable content key of a seccomp section for logs and caches:
// DigestPrefix and the hex SHA-256 of its binary encoding (AppendBinary), so
// equal sections give equal digests and different sections different ones.
// "" for nil (no section).
func Digest(s *specs.LinuxSeccomp) string {
	if s == nil {
		return ""
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = AppendBinary((*buf)[:0], s)
	sum := sha256.Sum256(*buf)
	return DigestPrefix + hex.EncodeToString(sum[:])
}

// DigestMatch is what comparing two digests can tell.
type DigestMatch int

const (
	// DigestsDiffer: the two sections differ (or exactly one is absent).
	DigestsDiffer DigestMatch = iota
	// DigestsEqual: the same section, or both absent.
	DigestsEqual
	// DigestsIncomparable: digests of two different formats, which say
	// nothing about whether the sections are equal.
	DigestsIncomparable
)

func (m DigestMatch) String() string {
	switch m {
	case DigestsEqual:
		return "equal"
	case DigestsIncomparable:
		return "incomparable"
	default:
		return "differ"
	}
}

// CompareDigests compares two digests of seccomp sections, as written by
// Digest of this or another release. "" (no section) equals only "", in any
// format: a section that is gone differs from every digest. Two digests of
// different formats (their text up to the first ':') are incomparable,
// never equal and never different.
func CompareDigests(a, b string) DigestMatch {
	switch {
	case a == b:
		return DigestsEqual
	case a == "" || b == "":
		return DigestsDiffer
	case digestFormat(a) != digestFormat(b):
		return DigestsIncomparable
	default:
		return DigestsDiffer
	}
}

// digestFormat is a digest's text up to and including its first ':', or
// the whole text when it has none (a format of its own).
func digestFormat(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 {
		return d[:i+1]
	}
	return d
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
