package audit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// AddSat returns a+b for counts (b >= 0), stopping at the largest int
// instead of wrapping to a negative number: a log can claim any count.
func AddSat(a, b int) int {
	if b > 0 && a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// ReportInput names the inputs of a report.
type ReportInput struct {
	// Logs are read in order (each once, see Files.Read).
	Logs []string
	// DecisionLog, when set, attributes raw records (ReadDecisionLog).
	DecisionLog string
	// Since drops records before it; zero keeps all.
	Since time.Time
}

// MaxDecisionLog bounds a decision log read for a report: about five
// million decisions, far more than a node makes between rotations.
const MaxDecisionLog = 1 << 30

// BuildReport reads the inputs into a report. Lines it cannot use are
// skipped and named in the report's warnings; a file it cannot open or read
// is an error.
func BuildReport(ctx context.Context, in ReportInput) (Report, error) {
	var d *DecisionLogAttributor
	if in.DecisionLog != "" {
		f, err := boundedio.OpenLimited(in.DecisionLog, MaxDecisionLog)
		if err != nil {
			return Report{}, fmt.Errorf("decision log: %w", err)
		}
		d, err = ReadDecisionLog(in.DecisionLog, f)
		f.Close()
		if err != nil {
			return Report{}, err
		}
	}
	var b *ReportBuilder
	if d == nil {
		b = NewReportBuilder(in.Since, nil) // not a nil *DecisionLogAttributor in the interface
	} else {
		b = NewReportBuilder(in.Since, d)
		for _, w := range d.Warnings {
			b.Warn(w)
		}
		b.warningCount = AddSat(b.warningCount, d.WarningCount-len(d.Warnings))
	}
	if err := source.Files(in.Logs).Read(ctx, b.AddLineAt, b.Warn); err != nil {
		return Report{}, err
	}
	return b.Report(), nil
}
