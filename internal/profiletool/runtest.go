package profiletool

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Hit is one syscall the profile refused or logged during `profile test`,
// aggregated over the calls with the same architecture and verdict.
type Hit struct {
	Syscall string // name, or "nr <n>" when the table has none
	Arch    string // OCI token, e.g. SCMP_ARCH_X86_64
	Nr      int
	Action  string // "SCMP_ACT_ERRNO(EPERM)", "SCMP_ACT_LOG", ...
	Count   int
	Pids    []int // thread ids of the callers
}

// TestReport is what `profile test` found.
type TestReport struct {
	Command  []string
	ExitCode int    // -1 when killed by a signal
	Signal   string // e.g. "bad system call" (SIGSYS)
	Events   []Hit
	// Attribution says which processes the events cover.
	Attribution string
	Notes       []string
}

// Failed reports whether any call was refused or logged, or the command
// failed.
func (r *TestReport) Failed() bool { return r.ExitCode != 0 || len(r.Events) > 0 }

// Format writes the report as text.
func (r *TestReport) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "command: %s\n", strings.Join(r.Command, " "))
	if r.Signal != "" {
		fmt.Fprintf(&b, "result:  killed by signal: %s\n", r.Signal)
	} else {
		fmt.Fprintf(&b, "result:  exit status %d\n", r.ExitCode)
	}
	fmt.Fprintf(&b, "covers:  %s\n", r.Attribution)
	if len(r.Events) == 0 {
		b.WriteString("\nno syscall was refused or logged\n")
	} else {
		fmt.Fprintf(&b, "\nrefused or logged: %s\n", plural(len(r.Events), "syscall"))
		for _, e := range r.Events {
			fmt.Fprintf(&b, "  %-20s %-24s %-8s %s, pid %s\n", e.Syscall, e.Action,
				strings.ToLower(strings.TrimPrefix(e.Arch, "SCMP_ARCH_")), plural(e.Count, "time"), joinInts(e.Pids))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.Bytes()
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

func slicesContains(xs []int, x int) bool { return slices.Contains(xs, x) }

func sortEvents(es []Hit) {
	for i := range es {
		slices.Sort(es[i].Pids)
	}
	slices.SortFunc(es, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Syscall, b.Syscall), cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.Action, b.Action))
	})
}
