// Command nri-seccomp is a containerd NRI plugin that gives every container
// the seccomp profile its policy asks for, and the CLI to check and dry-run
// that policy. The logic lives in internal/; this package parses flags and wires.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/containerd/nri/pkg/api"
)

// Exit codes: one convention for every command (usageText, README.md "The command line").
const (
	exitOK    = 0 // fine
	exitFail  = 1 // problems found: an invalid policy or profile, findings, a refused container
	exitUsage = 2 // the command could not run: bad usage, a file that cannot be read or written
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `nri-seccomp: seccomp profiles for containerd containers, chosen by policy

Usage:
  nri-seccomp run      [flags]   serve containerd's NRI socket (the daemon)
  nri-seccomp check    [flags]   validate a policy, warn about rules that cannot work
  nri-seccomp explain  [flags]   show the decision for a described container
  nri-seccomp profile  <cmd>     show, diff, lint, convert, test seccomp profiles
  nri-seccomp audit report [flags]  seccomp audit records per container
  nri-seccomp record   [flags]   least-privilege profile from what a pod was seen doing
  nri-seccomp auditd-rules [flags] audit.rules lines for the syscalls a policy refuses
  nri-seccomp posture  [flags]   every container on the node and its seccomp state
  nri-seccomp version            print the version and the revision it was built from

Exit status of every command:
  0  fine
  1  problems found: an invalid policy or profile, lint findings, a looser
     profile (profile diff), a container the daemon would refuse
  2  the command could not run: a bad flag or argument, a file that cannot
     be read (profile diff: any error)
Results go to stdout; errors and warnings to stderr. With --output json
(check, explain, profile show|diff|lint, audit report, auditd-rules,
posture) stdout
is one JSON value, or empty when there is no result (then stderr says why). A file argument or flag may be "-" for stdin, except
run's --policy. Details: README.md, "The command line".

Run "nri-seccomp <command> -h" for a command's flags. Started by containerd
as a pre-installed NRI plugin (no arguments, NRI_PLUGIN_SOCKET set), it acts
as "run" with the default flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// containerd starts pre-installed plugins without arguments.
		if os.Getenv(api.PluginSocketEnvVar) != "" {
			return cmdRun(ctx, nil, stdout, stderr)
		}
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "explain":
		return cmdExplain(rest, stdout, stderr)
	case "profile":
		return cmdProfile(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(rest, stdout, stderr)
	case "record":
		return cmdRecord(rest, stdout, stderr)
	case "posture":
		return cmdPosture(ctx, rest, stdout, stderr)
	case "auditd-rules":
		return cmdAuditdRules(rest, stdout, stderr)
	case "version", "--version":
		return cmdVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "nri-seccomp: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}
