package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/pkg/audit"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	*s = append(*s, v)
	return nil
}

// sinceFlag is an RFC 3339 time or a duration back from now.
type sinceFlag struct {
	t   time.Time
	now func() time.Time
}

func (s *sinceFlag) String() string {
	if s.t.IsZero() {
		return ""
	}
	return s.t.Format(time.RFC3339)
}

func (s *sinceFlag) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return fmt.Errorf("negative duration %q", v)
		}
		s.t = s.now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time (2026-11-26T21:00:00Z) or a duration (2h), got %q", v)
	}
	s.t = t
	return nil
}

// reportInput are the flags audit report and record share.
type reportInput struct {
	logs        stringList
	rotated     *bool
	decisionLog *string
	since       sinceFlag
}

func addReportInput(fs *flag.FlagSet) *reportInput {
	in := &reportInput{since: sinceFlag{now: time.Now}}
	fs.Var(&in.logs, "log", "input `file` (repeatable): auditd's log, a saved kernel log (dmesg, /dev/kmsg), or the JSON events of run --audit-events")
	in.rotated = fs.Bool("rotated", false, "also read each --log's rotated files (FILE.N ... FILE.1), oldest first")
	in.decisionLog = fs.String("decision-log", "", "the daemon's --decision-log `file`: attributes raw records of containers' init processes to their pods")
	fs.Var(&in.since, "since", "only records at or after this RFC 3339 time, or this long ago (2h)")
	return in
}

// maxDecisionLog bounds the --decision-log read: about five million
// decisions, far more than a node makes between rotations.
const maxDecisionLog = 1 << 30

// build reads the inputs into a report. The error is for the user.
func (in *reportInput) build() (audit.Report, error) {
	if len(in.logs) == 0 {
		return audit.Report{}, errors.New("--log is required")
	}
	var attr audit.TimedAttributor
	if *in.decisionLog != "" {
		f, err := boundedio.OpenLimited(*in.decisionLog, maxDecisionLog)
		if err != nil {
			return audit.Report{}, fmt.Errorf("--decision-log: %w", err)
		}
		d, err := audit.ReadDecisionLog(f)
		f.Close()
		if err != nil {
			return audit.Report{}, fmt.Errorf("--decision-log %s: %w", *in.decisionLog, err)
		}
		attr = d
	}
	var files []string
	for _, l := range in.logs {
		if !*in.rotated {
			files = append(files, l)
			continue
		}
		all, err := audit.WithRotated(l)
		if err != nil {
			return audit.Report{}, fmt.Errorf("--log %s: %w", l, err)
		}
		files = append(files, all...)
	}
	b := audit.NewReportBuilder(in.since.t, attr)
	if err := audit.Files(files).Run(context.Background(), b.AddLine); err != nil {
		return audit.Report{}, fmt.Errorf("--log: %w", err)
	}
	return b.Report(), nil
}

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprintln(stderr, "Usage: nri-seccomp audit report [flags]   (per container: syscalls refused or logged, counts, first and last seen)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return exitOK
		}
		return exitUsage
	}
	flags := newFlagSet("audit report", "Summarise seccomp audit records per container: which syscalls were refused\nor logged, how often, first and last seen. Raw kernel records carry only a\nPID: --decision-log attributes those of containers' init processes; the\ndaemon's --audit-events file is attributed already (by /proc/PID/cgroup).", stderr)
	in := addReportInput(flags)
	output := &oneOf{value: "text", allowed: []string{"text", "json"}}
	flags.Var(output, "output", "output `format`: text or json")
	if code := parseFlags(flags, args[1:]); code >= 0 {
		return code
	}
	rep, err := in.build()
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp audit report: %v\n", err)
		return exitFail
	}
	if output.value == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp audit report: %v\n", err)
		return exitFail
	}
	return exitOK
}

func cmdRecord(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("record", "Write a least-privilege seccomp profile for a pod from the syscalls it was\nseen making under an audit-mode rule (SCMP_ACT_LOG records), plus the base\nset runc needs to start any container. Ready for a tighten rule.", stderr)
	in := addReportInput(flags)
	var (
		ns             = flags.String("namespace", "", "pod namespace (required)")
		pod            = flags.String("pod", "", "pod name (required)")
		container      = flags.String("container", "", "container name (default: every container of the pod)")
		out            = flags.String("o", "-", "output `file` for the profile (OCI JSON); - for stdout")
		includeRefused = flags.Bool("include-refused", false, "also allow syscalls that were refused, not only logged")
	)
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	if *ns == "" || *pod == "" {
		fmt.Fprintln(stderr, "nri-seccomp record: --namespace and --pod are required")
		return exitUsage
	}
	rep, err := in.build()
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	res, err := audit.BuildProfile(rep, audit.ProfileOptions{Namespace: *ns, Pod: *pod, Container: *container, IncludeRefused: *includeRefused})
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	data, err := json.MarshalIndent(res.Profile, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	data = append(data, '\n')
	if *out == "-" {
		_, err = stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	fmt.Fprintf(stderr, "recorded %s: %d syscalls seen (%s), %d more from the runtime base set\n",
		strings.Join(res.Containers, ", "), len(res.Seen), strings.Join(res.Seen, " "), len(res.Base))
	return exitOK
}

func cmdAuditdRules(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("auditd-rules", "Print audit.rules lines (auditctl -R) that record every failing call of the\nsyscalls the policy's enforcing rules refuse, for x86_64 (b64) and i386\n(b32), keyed "+audit.AuditdKey+": attempts are on record even where\nseccomp does not log refusals.", stderr)
	policyPath := flags.String("policy", defaultPolicy, "policy file, or directory of *.yaml files")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	eng, err := loadEngine(*policyPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	refusals, notes := audit.PolicyRefusals(eng.Policy())
	lines, more := audit.AuditdRules(refusals)
	notes = append(notes, more...)
	var sb strings.Builder
	fmt.Fprintf(&sb, "# nri-seccomp auditd-rules: policy revision %s\n", eng.Policy().Revision)
	for _, n := range notes {
		fmt.Fprintf(&sb, "# note: %s\n", n)
	}
	if len(lines) == 0 {
		sb.WriteString("# the policy refuses no syscall by name with an errno: no rules\n")
	}
	for _, l := range lines {
		sb.WriteString(l + "\n")
	}
	if _, err := io.WriteString(stdout, sb.String()); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	return exitOK
}
