package plugin

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// The hand-written encoder writes the bytes encoding/json writes, over
// generated records whose strings hold everything encoding/json escapes
// (quotes, backslashes, control characters, HTML characters, invalid UTF-8,
// U+2028 and U+2029) and whose optional fields are set or not.
func TestRecordAppendJSONMatchesEncodingJSON(t *testing.T) {
	s := uint64(rand.Int64())
	t.Logf("seed %d", s)
	r := rand.New(rand.NewPCG(s, 5))
	pieces := []string{"", "a", "kube-system", "é", "日本", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"<", ">", "&", "\u2028", "\u2029", "\xff", "\xe2\x80", "sha256:0c48", "🙂", "\ufffd"}
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
	for range 20000 {
		rec := Record{
			Time: time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).In(time.FixedZone("z", (r.IntN(48)-24)*1800)),
			Node: str(), Namespace: str(), Pod: str(), PodUID: str(), Container: str(), ContainerID: str(),
			Image: str(), ProfileType: str(), Rules: strs(), Mode: str(), Exempt: r.IntN(2) == 0, Changed: r.IntN(2) == 0,
			Digest: str(), PolicyRevision: str(), Notes: strs(), LatencyMicros: r.Int64N(1<<40) - 1<<39, Error: str(),
		}
		if r.IntN(4) == 0 {
			rec.Time = rec.Time.UTC()
		}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("record %+v:\ngot  %s\nwant %s", rec, got, want)
		}
	}
}

// Write appends one line per record, in order, through a pooled buffer.
func TestDecisionLogWriteLines(t *testing.T) {
	var out bytes.Buffer
	l := NewDecisionLog(&out)
	a := Record{Namespace: "a", Rules: []string{"r"}}
	b := Record{Namespace: "b", Notes: []string{"n"}}
	for _, rec := range []Record{a, b} {
		if err := l.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if want := string(ja) + "\n" + string(jb) + "\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	var nilLog *DecisionLog
	if err := nilLog.Write(a); err != nil {
		t.Fatal(err)
	}
}
