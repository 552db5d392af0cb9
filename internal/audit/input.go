package audit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// Pos is where a line was read: a file and a line number from 1.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return Printable(p.File)
	}
	return Printable(p.File) + ":" + strconv.Itoa(p.Line)
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
	msg := escapeUnprintable(w.Msg)
	if w.File == "" && w.Line == 0 {
		return msg
	}
	return Pos{w.File, w.Line}.String() + ": " + msg
}

// Printable returns s as it is when every character of it prints plainly,
// and otherwise quoted and escaped the way Go writes string literals ("\n",
// "\x1b", "\u202e", "\xff" for a byte that is not UTF-8). Every text output
// of a string a container controls (its executable's path, its command
// name) or a log file holds goes through it: a raw newline or terminal
// escape would let a program forge report lines or hide its own. A plain
// string is never quoted, and a quoted one always starts with '"', so the
// two cannot be mistaken for each other.
func Printable(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

func plain(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == '"' {
		return false // would read as a quoted string
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// escapeUnprintable escapes, in place, only the characters of s that do not
// print (and bytes that are not UTF-8), for messages of our own that may
// hold input: unlike Printable it leaves quotes and backslashes alone.
func escapeUnprintable(s string) string {
	if plainOrQuote(s) {
		return s
	}
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			sb.WriteString(q[1 : len(q)-1])
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func plainOrQuote(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
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
