package decisionlog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

func TestDecisionLogConcurrentLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.jsonl")
	if err := os.WriteFile(path, []byte(`{"existing":true}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := decisionlog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := l.Write(decisionlog.Entry{Namespace: "ns", Pod: fmt.Sprint("pod-", i), Rules: []string{strings.Repeat("r", 5000)}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := testutil.JSONLines(t, string(data))
	if len(recs) != 51 || recs[0]["existing"] != true {
		t.Fatalf("got %d records (first %v), want the existing one plus 50", len(recs), recs[0])
	}
	seen := map[any]bool{}
	for _, r := range recs[1:] {
		seen[r["pod"]] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct pods, want 50", len(seen))
	}
}

func TestNilDecisionLog(t *testing.T) {
	var l *decisionlog.Writer
	if err := l.Write(decisionlog.Entry{}); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
}
