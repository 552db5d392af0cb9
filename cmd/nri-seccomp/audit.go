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

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/learn"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/auditdrules"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
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

// build reads the inputs into a report. The error is for the user.
func (in *reportInput) build() (audit.Report, error) {
	if len(in.logs) == 0 {
		return audit.Report{}, errors.New("--log is required")
	}
	var files []string
	for _, l := range in.logs {
		if !*in.rotated {
			files = append(files, l)
			continue
		}
		all, err := source.WithRotated(l)
		if err != nil {
			return audit.Report{}, fmt.Errorf("--log %s: %w", l, err)
		}
		files = append(files, all...)
	}
	return audit.BuildReport(context.Background(), audit.ReportInput{Logs: files, DecisionLog: *in.decisionLog, Since: in.since.t})
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
	if len(in.logs) == 0 {
		fmt.Fprintln(stderr, "nri-seccomp audit report: --log is required")
		return exitUsage
	}
	rep, err := in.build()
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp audit report: %v\n", err)
		return ioCode(err)
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
	flags := newFlagSet("record", "Write a least-privilege seccomp profile for a workload from the syscalls it\nwas seen making under an audit-mode rule (SCMP_ACT_LOG records), plus the\nbase set runc needs to start any container. Ready for a tighten rule.\n--owner merges every replica and restart of a Deployment, ReplicaSet,\nDaemonSet, Job, CronJob or StatefulSet, found by the pod names Kubernetes\ngenerates. The summary states the coverage (pods, runs, time, records) and,\nper container, when the last new syscall was first seen.", stderr)
	in := addReportInput(flags)
	var (
		ns             = flags.String("namespace", "", "pod namespace (required)")
		pod            = flags.String("pod", "", "pod name (this or --owner)")
		owner          = flags.String("owner", "", "`name` of the pods' owner (Deployment, StatefulSet, ...): every pod named as Kubernetes names its pods (this or --pod)")
		container      = flags.String("container", "", "container name (default: every container of the pods)")
		out            = flags.String("o", "-", "output `file` for the profile (OCI JSON); - for stdout")
		includeRefused = flags.Bool("include-refused", false, "also allow syscalls that were refused, not only logged")
		unattributed   = flags.Bool("include-unattributed", false, "also use records no container was matched to (all of them): only for a log that holds nothing but this workload")
		arch           = flags.String("arch", "", "architecture family to record for: x86_64 (with x86, x32) or aarch64 (with arm); default: the records' family")
		noNewPrivs     = flags.Bool("no-new-privs", false, "the recorded containers ran with no_new_privs (allowPrivilegeEscalation: false) and the profile is for such containers only: the much smaller base set runc needs then (a container without no_new_privs fails to start under it)")
		families       = flags.Bool("families", false, "also allow the siblings of what was seen (fsync with fdatasync, wait4 with waitid, kill with tgkill, ...); every addition is listed")
		output         = &oneOf{value: "text", allowed: []string{"text", "json"}}
	)
	flags.Var(output, "output", "summary `format`: text (on stderr, the profile on -o) or json (one object on stdout, the profile in it, and on -o when that is a file)")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	if *ns == "" || (*pod == "") == (*owner == "") {
		fmt.Fprintln(stderr, "nri-seccomp record: --namespace and one of --pod or --owner are required")
		return exitUsage
	}
	if len(in.logs) == 0 {
		fmt.Fprintln(stderr, "nri-seccomp record: --log is required")
		return exitUsage
	}
	opts := learn.ProfileOptions{Namespace: *ns, Pod: *pod, Owner: *owner, Container: *container, IncludeRefused: *includeRefused, IncludeUnattributed: *unattributed,
		NoNewPrivs: *noNewPrivs, Families: *families}
	if *arch != "" {
		a, err := profiletool.ParseArch(*arch)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp record: --arch: %v\n", err)
			return exitUsage
		}
		opts.Arch = a
	}
	rep, err := in.build()
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return ioCode(err)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "warning:", w.String())
	}
	res, err := learn.BuildProfile(rep, opts)
	if errors.Is(err, learn.ErrSelection) {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	if code := writeProfile(res, *out, output.value == "text", stdout, stderr); code != exitOK {
		return code
	}
	if output.value == "json" {
		return writeRecordJSON(res, stdout, stderr)
	}
	return writeRecordText(res, stderr)
}

// writeProfile writes the profile to file, or to stdout when file is "-"
// and the summary is text (a JSON summary carries the profile itself).
func writeProfile(res learn.ProfileResult, file string, text bool, stdout, stderr io.Writer) int {
	if file == "-" && !text {
		return exitOK
	}
	data, err := json.MarshalIndent(res.Profile, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	data = append(data, '\n')
	if file == "-" {
		_, err = stdout.Write(data)
	} else {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeRecordText is the summary for people, on stderr.
func writeRecordText(res learn.ProfileResult, stderr io.Writer) int {
	var b strings.Builder
	for _, n := range res.Notes {
		fmt.Fprintln(&b, "note:", n)
	}
	for _, w := range res.Widened {
		fmt.Fprintln(&b, "widened:", w.String())
	}
	fmt.Fprintf(&b, "recorded %s: %d syscalls seen (%s), %d more from the runtime base set",
		strings.Join(res.Containers, ", "), len(res.Seen), strings.Join(res.Seen, " "), len(res.Base))
	if n := widenedCount(res.Widened); n > 0 {
		fmt.Fprintf(&b, ", %d from families", n)
	}
	b.WriteString("\n")
	for _, a := range res.Profile.Architectures {
		fmt.Fprintf(&b, "  seen through %s: %s\n", a, strings.Join(res.SeenByArch[string(a)], " "))
	}
	if _, err := io.WriteString(stderr, b.String()); err != nil {
		return exitFail
	}
	if err := res.Coverage.WriteText(stderr); err != nil {
		return exitFail
	}
	return exitOK
}

func widenedCount(ws []learn.Widening) int {
	n := 0
	for _, w := range ws {
		n += len(w.Added)
	}
	return n
}

// recordJSON is record's summary for machines.
type recordJSON struct {
	Containers []string            `json:"containers"`
	Seen       []string            `json:"seen"`
	Base       []string            `json:"base"`
	Widened    []learn.Widening    `json:"widened"`
	SeenByArch map[string][]string `json:"seen_by_arch"`
	Notes      []string            `json:"notes"`
	Coverage   learn.Coverage      `json:"coverage"`
	Warning    string              `json:"warning"`
	Profile    any                 `json:"profile"`
}

func writeRecordJSON(res learn.ProfileResult, stdout, stderr io.Writer) int {
	if res.Widened == nil {
		res.Widened = []learn.Widening{}
	}
	v := recordJSON{Containers: res.Containers, Seen: nonNil(res.Seen), Base: nonNil(res.Base), Widened: res.Widened, SeenByArch: res.SeenByArch,
		Notes: nonNil(res.Notes), Coverage: res.Coverage, Warning: learn.NotCovered, Profile: res.Profile}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp record: %v\n", err)
		return exitFail
	}
	return exitOK
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmdAuditdRules(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("auditd-rules", "Print audit.rules lines (auditctl -R) that record the syscalls the policy's\nenforcing rules refuse failing with the policy's errno, for x86_64 (b64) and\ni386 (b32), keyed "+auditdrules.Key+".\nThey do NOT see the calls seccomp refused: the kernel skips syscall auditing\nfor those (measured, docs/audit.md). They record the same syscalls failing\nfor other reasons (capabilities, LSMs), for every process. To have seccomp's\nrefusals on record, use audit mode or SECCOMP_FILTER_FLAG_LOG.", stderr)
	policyPath := flags.String("policy", defaultPolicy, "policy `file`, directory of *.yaml files, or - for stdin")
	output := outputFlag()
	flags.Var(output, "output", "output `format`: text (audit.rules) or json")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	eng, err := loadEngine(*policyPath)
	if err != nil {
		return reportLoadError(stderr, "auditd-rules", err)
	}
	refusals, notes := auditdrules.PolicyRefusals(eng.Policy())
	lines, more := auditdrules.Rules(refusals)
	notes = append(notes, more...)
	if output.value == "json" {
		return writeAuditdRulesJSON(stdout, stderr, eng.Policy().Revision, notes, lines)
	}
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
		return exitUsage
	}
	return exitOK
}
