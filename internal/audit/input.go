package audit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// Pos is where a line was read: a file and a line number from 1.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return printable.String(p.File)
	}
	return printable.String(p.File) + ":" + strconv.Itoa(p.Line)
}

// Warning is a problem with one input line, or one input file, that a
// reader skipped over to go on with the rest.
type Warning struct {
	File string `json:"file,omitempty"`
	// Line is 0 when the warning is about the whole file.
	Line int `json:"line,omitempty"`
	// Msg quotes what it shows of the input (%q), so it is safe to print.
	Msg string `json:"message"`
}

// String is "file:line: message", safe to print: the message quotes the
// input it shows (%q), and anything else that does not print (a report read
// back from JSON, a library's error) is escaped here.
func (w Warning) String() string {
	msg := printable.Escape(w.Msg)
	if w.File == "" && w.Line == 0 {
		return msg
	}
	return Pos{w.File, w.Line}.String() + ": " + msg
}

// addSat returns a+b for counts (b >= 0), stopping at the largest int
// instead of wrapping to a negative number: a log can claim any count.
func addSat(a, b int) int {
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
		b.warningCount = addSat(b.warningCount, d.WarningCount-len(d.Warnings))
	}
	if err := Files(in.Logs).Read(ctx, b.AddLineAt, b.Warn); err != nil {
		return Report{}, err
	}
	return b.Report(), nil
}
