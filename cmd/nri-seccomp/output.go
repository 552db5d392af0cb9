package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profiletool"
)

// The exit-code convention of every command, in usageText and README.md ("The command line"):
//
//	0  fine: the command did what was asked and found nothing wrong
//	1  problems found: an invalid policy or profile, lint findings, a
//	   looser profile in `profile diff`, a container the daemon would refuse,
//	   warnings under `check --strict`
//	2  the command could not run: a bad flag or argument, a file that cannot
//	   be read
//
// Results go to stdout; errors, warnings and problems go to stderr. Under
// --output json stdout is one JSON value, or empty when there is no result
// (exit 2, or an invalid policy anywhere but check, whose JSON has errors).

// finding is one error, warning or lint finding in JSON output. Its field
// names are a public interface: every field is always present, empty when
// it does not apply.
type finding struct {
	Severity string `json:"severity"` // error, warning or info
	Check    string `json:"check"`    // the lint check's name (profile lint)
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field"`
	Message  string `json:"message"`
}

func problemFinding(severity string, p policy.Problem) finding {
	return finding{Severity: severity, File: p.File, Line: p.Line, Column: p.Column, Field: p.Field, Message: p.Message}
}

func lintFinding(file string, f profiletool.Finding) finding {
	return finding{Severity: string(f.Severity), Check: f.Check, File: file, Line: f.Line, Field: f.Field, Message: f.Message}
}

// writeJSON writes v as one indented JSON value.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// outputFlag is the --output flag of the commands that have one.
func outputFlag() *oneOf { return &oneOf{value: "text", allowed: []string{"text", "json"}} }

// loadProblems splits a policy load error into its problems, and says
// whether it is an I/O error (exit 2): the policy path or a file in the
// policy directory could not be read. A missing profile file that the
// policy references is a problem of the policy (exit 1): it has a line.
func loadProblems(err error) (problems []policy.Problem, ioErr bool) {
	var le *policy.LoadError
	if !errors.As(err, &le) {
		return []policy.Problem{{Message: err.Error()}}, false
	}
	for _, p := range le.Problems {
		var pe *fs.PathError
		if p.Line == 0 && errors.As(p.Err, &pe) {
			ioErr = true
		}
	}
	return le.Problems, ioErr
}

// reportLoadError prints a policy that did not load to stderr and returns
// the exit code.
func reportLoadError(stderr io.Writer, cmd string, err error) int {
	problems, ioErr := loadProblems(err)
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	if ioErr {
		return exitUsage
	}
	fmt.Fprintf(stderr, "nri-seccomp %s: invalid policy: %d problems\n", cmd, len(problems))
	return exitFail
}

// ioCode is exitUsage for an error reading a file the user named, exitFail
// for anything else (the content is wrong).
func ioCode(err error) int {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return exitUsage
	}
	return exitFail
}

// auditdRulesResult is `auditd-rules --output json`. Field names are a public
// interface; Rules are audit.rules lines for auditctl -R.
type auditdRulesResult struct {
	PolicyRevision string   `json:"policy_revision"`
	Notes          []string `json:"notes"`
	Rules          []string `json:"rules"`
}

func writeAuditdRulesJSON(stdout, stderr io.Writer, revision string, notes, rules []string) int {
	res := auditdRulesResult{PolicyRevision: revision, Notes: notes, Rules: rules}
	if res.Notes == nil {
		res.Notes = []string{}
	}
	if res.Rules == nil {
		res.Rules = []string{}
	}
	if err := writeJSON(stdout, res); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp auditd-rules: %v\n", err)
		return exitUsage
	}
	return exitOK
}
