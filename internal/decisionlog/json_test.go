package decisionlog_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// The hand-written encoder writes the bytes encoding/json writes, over
// generated records whose strings hold everything encoding/json escapes
// (quotes, backslashes, control characters, HTML characters, invalid UTF-8,
// U+2028 and U+2029) and whose optional fields are set or not.
func TestEntryAppendJSONMatchesEncodingJSON(t *testing.T) {
	s := uint64(rand.Int64())
	t.Logf("seed %d", s)
	r := rand.New(rand.NewPCG(s, 5))
	for range 20000 {
		rec := testutil.RandomEntry(r)
		rec.Time = time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).In(time.FixedZone("z", (r.IntN(48)-24)*1800))
		if r.IntN(4) == 0 {
			rec.Time = rec.Time.UTC()
		}
		want, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := decisionlog.AppendJSON(&rec, nil); !bytes.Equal(got, want) {
			t.Fatalf("record %+v:\ngot  %s\nwant %s", rec, got, want)
		}
	}
}

// Write appends one line per record, in order, through a pooled buffer.
func TestDecisionLogWriteLines(t *testing.T) {
	var out bytes.Buffer
	l := decisionlog.NewWriter(&out)
	a := decisionlog.Entry{Namespace: "a", Rules: []string{"r"}}
	b := decisionlog.Entry{Namespace: "b", Notes: []string{"n"}}
	for _, rec := range []decisionlog.Entry{a, b} {
		if err := l.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if want := string(ja) + "\n" + string(jb) + "\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	var nilLog *decisionlog.Writer
	if err := nilLog.Write(a); err != nil {
		t.Fatal(err)
	}
}
