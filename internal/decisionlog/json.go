package decisionlog

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// appendJSON appends r encoded exactly as encoding/json encodes it (the
// decision log's format; TestEntryAppendJSONMatchesEncodingJSON holds the
// two together). Written out by hand because encoding an Entry by
// reflection was one of the largest parts of the plugin's own work per
// container.
func (r *Entry) appendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	b = appendJSONTime(b, r.Time)
	if r.Node != "" {
		b = AppendString(append(b, `,"node":`...), r.Node)
	}
	b = AppendString(append(b, `,"namespace":`...), r.Namespace)
	b = AppendString(append(b, `,"pod":`...), r.Pod)
	if r.PodUID != "" {
		b = AppendString(append(b, `,"pod_uid":`...), r.PodUID)
	}
	b = AppendString(append(b, `,"container":`...), r.Container)
	if r.ContainerID != "" {
		b = AppendString(append(b, `,"container_id":`...), r.ContainerID)
	}
	if r.Image != "" {
		b = AppendString(append(b, `,"image":`...), r.Image)
	}
	b = AppendString(append(b, `,"profile_type":`...), r.ProfileType)
	b = AppendStrings(append(b, `,"rules":`...), r.Rules)
	b = AppendString(append(b, `,"mode":`...), r.Mode)
	b = strconv.AppendBool(append(b, `,"exempt":`...), r.Exempt)
	b = strconv.AppendBool(append(b, `,"changed":`...), r.Changed)
	if r.Digest != "" {
		b = AppendString(append(b, `,"digest":`...), r.Digest)
	}
	if r.PolicyRevision != "" {
		b = AppendString(append(b, `,"policy_revision":`...), r.PolicyRevision)
	}
	if len(r.Notes) > 0 {
		b = AppendStrings(append(b, `,"notes":`...), r.Notes)
	}
	b = strconv.AppendInt(append(b, `,"latency_us":`...), r.LatencyMicros, 10)
	if r.Error != "" {
		b = AppendString(append(b, `,"error":`...), r.Error)
	}
	return append(b, '}')
}

// appendJSONTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds).
// Years outside 0-9999, which MarshalJSON refuses, cannot come from a clock.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func AppendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// AppendString quotes s as encoding/json does by default: control
// characters, quote and backslash escaped, <, > and & as \u003c etc.,
// invalid UTF-8 as U+FFFD, and U+2028, U+2029 escaped.
func AppendString(b []byte, s string) []byte {
	return append(AppendChars(append(b, '"'), s), '"')
}

// AppendChars is AppendString without the quotes.
func AppendChars(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// lineBufs are the decision log's line buffers.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
