package learn

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
)

// The captured logs and the decision log are audit's testdata, shared with
// the report's tests.
const testdata = "../testdata"

func readDecisions(t *testing.T) *audit.DecisionLogAttributor {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, "decisions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := audit.ReadDecisionLog("decisions.jsonl", f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func buildReport(t *testing.T, since time.Time, attr audit.TimedAttributor, files ...string) audit.Report {
	t.Helper()
	b := audit.NewReportBuilder(since, attr)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(testdata, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Read(f, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Report()
}
