package main

import (
	"fmt"
	"io"

	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
)

// checkResult is `check --output json`. Field names are a public interface.
type checkResult struct {
	Policy   string        `json:"policy"`
	Valid    bool          `json:"valid"`
	Summary  *checkSummary `json:"summary"` // null when the policy is invalid
	Errors   []finding     `json:"errors"`
	Warnings []finding     `json:"warnings"`
}

type checkSummary struct {
	Files    int    `json:"files"`
	Rules    int    `json:"rules"`
	Profiles int    `json:"profiles"`
	Revision string `json:"revision"`
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("check", `Load and validate a policy and every profile it uses, exactly as the daemon
would, then warn about what loads but will not work: profiles under which runc
cannot start any container, rules that can never apply (after an exempt rule
that matches all they match, inject limited to containers that already have
seccomp, deny lists of syscalls this node's architectures do not have).

Text output: each problem and warning on stderr as file:line: field: message,
the one-line summary on stdout. Exit 0 when the policy is valid (even with
warnings, unless --strict), 1 when it is invalid, 2 when it cannot be read.`, stderr)
	policyPath := flags.String("policy", defaultPolicy, "policy `file`, directory of *.yaml files, or - for standard input")
	strict := flags.Bool("strict", false, "exit 1 when there are warnings too")
	output := outputFlag()
	flags.Var(output, "output", "output `format`: text or json")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}

	res := checkResult{Policy: *policyPath, Errors: []finding{}, Warnings: []finding{}}
	eng, err := loadEngine(*policyPath)
	if err != nil {
		problems, ioErr := loadProblems(err)
		if ioErr || output.value == "text" {
			return reportLoadError(stderr, "check", err)
		}
		for _, p := range problems {
			res.Errors = append(res.Errors, problemFinding("error", p))
		}
		return writeCheck(stdout, stderr, res, exitFail)
	}
	s := dryrun.CheckPolicy(eng.Policy())
	code := exitOK
	if *strict && len(s.Warnings) > 0 {
		code = exitFail
	}
	if output.value == "text" {
		for _, w := range s.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		fmt.Fprintln(stdout, s)
		return code
	}
	res.Valid = true
	res.Summary = &checkSummary{Files: s.Files, Rules: s.Rules, Profiles: s.Profiles, Revision: s.Revision}
	res.Warnings = warningFindings(s.Warnings)
	return writeCheck(stdout, stderr, res, code)
}

func warningFindings(ws []policy.Problem) []finding {
	out := make([]finding, 0, len(ws))
	for _, w := range ws {
		out = append(out, problemFinding("warning", w))
	}
	return out
}

func writeCheck(stdout, stderr io.Writer, res checkResult, code int) int {
	if err := writeJSON(stdout, res); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp check: %v\n", err)
		return exitUsage
	}
	return code
}
