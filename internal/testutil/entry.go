package testutil

import (
	"math/rand/v2"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
)

// RandomEntry is a decision-log entry whose strings hold everything encoding/json
// escapes and whose optional fields are set or not.
func RandomEntry(r *rand.Rand) decisionlog.Entry {
	pieces := []string{"", "a", "kube-system", "é", "日本", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"<", ">", "&", "/", "\u2028", "\u2029", "\xff", "\xe2\x80", "\x80", "sha256:0c48", "🙂", "\ufffd"}
	str := func() string {
		var b []byte
		for range r.IntN(5) {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		return string(b)
	}
	strs := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	rec := decisionlog.Entry{
		Node: str(), Namespace: str(), Pod: str(), PodUID: str(), Container: str(), ContainerID: str(),
		Image: str(), ProfileType: str(), Rules: strs(), Mode: str(), Exempt: r.IntN(2) == 0, Changed: r.IntN(2) == 0,
		Digest: str(), PolicyRevision: str(), Notes: strs(), LatencyMicros: r.Int64N(1<<40) - 1<<39,
	}
	if r.IntN(3) == 0 {
		rec.Error = str() + "x"
	}
	return rec
}
