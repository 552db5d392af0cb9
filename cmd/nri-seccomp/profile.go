package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
)

const profileUsage = `Usage: nri-seccomp profile <command> [flags]

  show NAME|FILE [--arch x86_64] [--output text|json]
        the normalised profile: syscalls grouped by verdict, argument
        conditions spelt out (json: the canonical OCI section)
  diff A B [--output text|json]
        what each allows that the other refuses, and which is stricter;
        exit 0 when B is not looser than A, 1 when it is, 2 on errors
        (an invalid profile included)
  lint FILE [--no-bpf] [--output text|json]
        unknown names, duplicate/shadowed/never-matching rules, missing
        architectures, SCMP_ACT_KILL, profiles runc cannot start a container
        with, BPF size; exit 1 on any warning or error
  convert FILE [--to oci|docker]
        between Docker/moby format and OCI LinuxSeccomp (default: the other one)
  test PROFILE [--log] -- CMD [ARGS]
        run CMD here under the profile (no containerd) and report the calls
        it and every process it starts refused or logged; --log lets them
        through, so CMD runs to the end; exit 0 when CMD succeeded and nothing
        was refused or logged

FILE may be - for standard input; files are read only if regular and at most
4 MiB. Exit status, unless a command says otherwise: 0 fine,
1 problems found, 2 bad usage or a file that cannot be read.

NAME is a built-in profile: ` // names appended at run time

// childCommand is the hidden subcommand `profile test` re-executes itself
// with to load the filter and exec the command.
const childCommand = "__exec"

func cmdProfile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() { fmt.Fprintln(stderr, profileUsage+strings.Join(profileNames(), ", ")) }
	if len(args) == 0 {
		usage()
		return exitUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "show":
		return profileShow(rest, stdout, stderr)
	case "diff":
		return profileDiff(rest, stdout, stderr)
	case "lint":
		return profileLint(rest, stdout, stderr)
	case "convert":
		return profileConvert(rest, stdout, stderr)
	case "test":
		return profileTest(ctx, rest, stdout, stderr)
	case childCommand:
		return profiletool.ChildMain(rest, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, profileUsage+strings.Join(profileNames(), ", "))
		return exitOK
	default:
		fmt.Fprintf(stderr, "nri-seccomp profile: unknown command %q\n", sub)
		usage()
		return exitUsage
	}
}

func profileNames() []string { return profiletool.BuiltinNames() }

// parseMixed parses flags that may come before, between or after the
// positional arguments ("show hardened --arch x86"), stopping at "--".
// It returns the positionals, the arguments after "--", or an exit code.
func parseMixed(fs *flag.FlagSet, args []string) (pos, tail []string, code int) {
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, exitOK
			}
			return nil, nil, exitUsage
		}
		if fs.NArg() == 0 {
			return pos, tail, -1
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// wantArgs checks the number of positionals.
func wantArgs(fs *flag.FlagSet, pos []string, n int, what string) int {
	if len(pos) != n {
		fmt.Fprintf(fs.Output(), "want %s, got %d argument(s)\n", what, len(pos))
		fs.Usage()
		return exitUsage
	}
	return -1
}

// failCode is exitUsage for what the user asked wrongly, exitFail otherwise.
func failCode(err error) int {
	if errors.Is(err, profiletool.ErrUsage) {
		return exitUsage
	}
	return exitFail
}

func profileShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("profile show", "Show a built-in profile or a profile file, normalised:\nnri-seccomp profile show NAME|FILE [flags]", stderr)
	arch := fs.String("arch", "", "only syscalls that exist on this architecture (x86_64, x86, x32, aarch64, arm)")
	output := &oneOf{value: "text", allowed: []string{"text", "json"}}
	fs.Var(output, "output", "text or json")
	pos, _, code := parseMixed(fs, args)
	if code >= 0 {
		return code
	}
	if code := wantArgs(fs, pos, 1, "one profile"); code >= 0 {
		return code
	}
	opts := profiletool.ShowOptions{Native: profile.Native, JSON: output.value == "json"}
	if *arch != "" {
		a, err := profiletool.ParseArch(*arch)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		opts.Arch = a
	}
	src, err := profiletool.Load(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return failCode(err)
	}
	out, err := profiletool.Show(src, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	_, _ = stdout.Write(out)
	return exitOK
}

// Exit statuses of `profile diff`: like diff(1) and cmp(1).
const (
	diffNotLooser = 0
	diffLooser    = 1
	diffError     = 2
)

func profileDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("profile diff", "Compare two profiles (built-in names or files):\nnri-seccomp profile diff A B\nExit status: 0 when B is not looser than A, 1 when B lets through\nsomething A refuses, 2 on errors (an invalid profile included, so that 1\nalways means B is looser).", stderr)
	output := outputFlag()
	fs.Var(output, "output", "output `format`: text or json")
	pos, _, code := parseMixed(fs, args)
	if code >= 0 {
		return code
	}
	if code := wantArgs(fs, pos, 2, "two profiles, A and B"); code >= 0 {
		return diffError
	}
	if pos[0] == "-" && pos[1] == "-" {
		fmt.Fprintln(stderr, "profile diff: standard input (-) can be only one of the two profiles")
		return diffError
	}
	var srcs [2]*profiletool.Source
	for i, ref := range pos {
		src, err := profiletool.Load(ref)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return diffError
		}
		srcs[i] = src
	}
	d, err := profiletool.Diff(srcs[0].Spec, srcs[1].Spec, profile.Native)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return diffError
	}
	var werr error
	if output.value == "json" {
		werr = writeJSON(stdout, diffJSON(pos[0], pos[1], d))
	} else {
		_, werr = stdout.Write(d.Format(pos[0], pos[1]))
	}
	if werr != nil {
		fmt.Fprintln(stderr, werr)
		return diffError
	}
	if d.BLooser() {
		return diffLooser
	}
	return diffNotLooser
}

func profileLint(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("profile lint", "Check a profile file (or built-in name) for mistakes:\nnri-seccomp profile lint FILE\nFindings go to stdout, one per line as FILE: severity: check: field: message.\nExit status 0 when there is nothing or only info, 1 when there is a warning\nor an error, 2 when FILE cannot be read.", stderr)
	noBPF := fs.Bool("no-bpf", false, "do not compile the profile to count BPF instructions")
	output := outputFlag()
	fs.Var(output, "output", "output `format`: text or json")
	pos, _, code := parseMixed(fs, args)
	if code >= 0 {
		return code
	}
	if code := wantArgs(fs, pos, 1, "one profile"); code >= 0 {
		return code
	}
	data, err := profiletool.ReadProfile(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	findings := profiletool.Lint(data, profiletool.LintOptions{Native: profile.Native, NoBPF: *noBPF})
	var werr error
	if output.value == "json" {
		res := lintResult{Profile: pos[0], Problems: profiletool.HasProblems(findings), Findings: []finding{}}
		for _, f := range findings {
			res.Findings = append(res.Findings, lintFinding(pos[0], f))
		}
		werr = writeJSON(stdout, res)
	} else {
		for _, f := range findings {
			if _, werr = fmt.Fprintln(stdout, f.Format(profile.SourceName(pos[0]))); werr != nil {
				break
			}
		}
	}
	if werr != nil {
		fmt.Fprintln(stderr, werr)
		return exitUsage
	}
	if profiletool.HasProblems(findings) {
		return exitFail
	}
	return exitOK
}

// lintResult is `profile lint --output json`. Field names are a public
// interface.
type lintResult struct {
	Profile string `json:"profile"`
	// Problems is true when a finding is a warning or an error (exit 1).
	Problems bool      `json:"problems"`
	Findings []finding `json:"findings"`
}

// diffResult is `profile diff --output json`. Field names are a public
// interface; Relation is one of same, b-stricter, a-stricter, incomparable,
// different.
type diffResult struct {
	A           string       `json:"a"`
	B           string       `json:"b"`
	Relation    string       `json:"relation"`
	BLooser     bool         `json:"b_looser"`
	LooserInB   []diffChange `json:"looser_in_b"`
	LooserInA   []diffChange `json:"looser_in_a"`
	Changed     []diffChange `json:"changed"`
	ArchesOnlyA []string     `json:"arches_only_a"`
	ArchesOnlyB []string     `json:"arches_only_b"`
	FlagsA      []string     `json:"flags_a"`
	FlagsB      []string     `json:"flags_b"`
}

// diffChange is one call ("*": every call neither profile names) and its
// verdict on each side.
type diffChange struct {
	Syscall string `json:"syscall"`
	A       string `json:"a"`
	B       string `json:"b"`
}

var relationTokens = map[profiletool.Relation]string{
	profiletool.Same:         "same",
	profiletool.BStricter:    "b-stricter",
	profiletool.AStricter:    "a-stricter",
	profiletool.Incomparable: "incomparable",
	profiletool.Different:    "different",
}

func diffJSON(a, b string, d *profiletool.DiffResult) diffResult {
	changes := func(es []profiletool.DiffEntry) []diffChange {
		out := make([]diffChange, 0, len(es))
		for _, e := range es {
			out = append(out, diffChange{Syscall: e.Name, A: e.A, B: e.B})
		}
		return out
	}
	return diffResult{
		A: a, B: b,
		Relation:    relationTokens[d.Relation],
		BLooser:     d.BLooser(),
		LooserInB:   changes(d.LooserInB),
		LooserInA:   changes(d.LooserInA),
		Changed:     changes(d.Changed),
		ArchesOnlyA: stringsOf(d.ArchesOnlyA),
		ArchesOnlyB: stringsOf(d.ArchesOnlyB),
		FlagsA:      stringsOf(d.FlagsA),
		FlagsB:      stringsOf(d.FlagsB),
	}
}

// stringsOf converts a list of string-typed tokens, never returning nil, so
// that JSON has [] and not null.
func stringsOf[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func profileConvert(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("profile convert", "Convert a profile between Docker/moby format and OCI LinuxSeccomp:\nnri-seccomp profile convert FILE [--to oci|docker]\nDocker-format rules that depend on capabilities are resolved for CRI's\ndefault capability set on this machine.", stderr)
	to := &oneOf{allowed: []string{profiletool.FormatOCI, profiletool.FormatDocker}}
	fs.Var(to, "to", "oci or docker (default: the format the input is not in)")
	pos, _, code := parseMixed(fs, args)
	if code >= 0 {
		return code
	}
	if code := wantArgs(fs, pos, 1, "one profile"); code >= 0 {
		return code
	}
	data, err := profiletool.ReadProfile(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	target := to.value
	if target == "" {
		from, err := profiletool.DetectFormat(data)
		if err != nil {
			fmt.Fprintln(stderr, profile.WithSource(err, pos[0]))
			return exitFail
		}
		target = profiletool.FormatDocker
		if from == profiletool.FormatDocker {
			target = profiletool.FormatOCI
		}
	}
	out, err := profiletool.Convert(data, target, profile.Native)
	if err != nil {
		if !errors.Is(err, profiletool.ErrUsage) {
			err = profile.WithSource(err, pos[0])
		}
		fmt.Fprintln(stderr, err)
		return failCode(err)
	}
	_, _ = stdout.Write(out)
	return exitOK
}

func profileTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("profile test", "Run a command on this machine under a profile and report the calls it\nrefused or logged:\nnri-seccomp profile test PROFILE [--log] -- CMD [ARGS]\nThe report goes to stderr, CMD's output where it would. Kill verdicts are\ncarried out with SIGKILL; a call on an architecture the profile does not\nlist is killed by the kernel unreported. Exit status 0 when CMD exited 0 and nothing was refused or logged.", stderr)
	logMode := fs.Bool("log", false, "log every call the profile would refuse instead of refusing it")
	pos, cmd, code := parseMixed(fs, args)
	if code >= 0 {
		return code
	}
	if code := wantArgs(fs, pos, 1, "one profile, then -- and the command"); code >= 0 {
		return code
	}
	if len(cmd) == 0 {
		fmt.Fprintln(stderr, "no command: nri-seccomp profile test PROFILE -- CMD [ARGS]")
		return exitUsage
	}
	src, err := profiletool.Load(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return failCode(err)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	rep, err := profiletool.RunTest(ctx, src.Spec, cmd, profiletool.TestOptions{
		Self:   []string{self, "profile", childCommand},
		Log:    *logMode,
		Native: profile.Native,
		Stdin:  os.Stdin, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "nri-seccomp profile test:", err)
		return failCode(err)
	}
	_, _ = stderr.Write(rep.Format())
	if rep.Failed() {
		return exitFail
	}
	return exitOK
}
