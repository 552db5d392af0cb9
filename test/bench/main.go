// Command bench measures what nri-seccomp costs, side by side with the
// alternatives, and writes the tables to docs/benchmarks.md (issue 8).
//
// Every figure that matters is a ratio of two things measured in the same run,
// interleaved where the machine's noise could favour one side; absolute times
// are printed, never asserted. Targets are reported as met or missed, and a
// missed target does not fail the run: a section fails only when it could not
// measure.
//
// Usage (root, after test/e2e/install.sh and make build):
//
//	go run ./test/bench [-smoke] [-only 1,5] [-out docs/benchmarks.md] [-json results.json]
//
// -smoke runs every section with small counts, as CI does, so the code paths
// stay working; its numbers mean nothing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		smoke   = flag.Bool("smoke", false, "small counts: checks every section still measures (CI); numbers mean nothing")
		only    = flag.String("only", "", "comma-separated section numbers to run (default: all)")
		out     = flag.String("out", "", "markdown report to write (make bench: docs/benchmarks.md)")
		jsonOut = flag.String("json", "", "also write the results as JSON to this file")
		bin     = flag.String("bin", os.Getenv("NRI_SECCOMP_BIN"), "the nri-seccomp binary (make build); default $NRI_SECCOMP_BIN")
	)
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	want, err := parseOnly(*only)
	if err != nil {
		return err
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if *bin == "" {
		*bin = filepath.Join(root, "bin", "nri-seccomp")
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("the nri-seccomp binary: %w (run make build, or pass -bin)", err)
	}
	work, err := os.MkdirTemp("", "nri-seccomp-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Smoke: *smoke, Root: root, Bin: *bin, Work: work}
	rep := Report{
		Command: commandLine(root),
		Started: time.Now().UTC(),
		Machine: describeMachine(ctx),
		Smoke:   *smoke,
	}
	var failed []string
	for _, s := range sections() {
		if len(want) > 0 && !want[s.N] {
			continue
		}
		logf("== %d. %s", s.N, s.Title)
		start := time.Now()
		res, err := runSection(ctx, env, s)
		res.N, res.Title, res.Took = s.N, s.Title, time.Since(start).Round(time.Second).String()
		if err != nil {
			res.Error = err.Error()
			failed = append(failed, fmt.Sprintf("%d. %s: %v", s.N, s.Title, err))
			logf("   FAILED: %v", err)
		}
		for _, t := range res.Targets {
			logf("   target %s: %s (%s)", t.Goal, verdict(t.Met), t.Measured)
		}
		rep.Sections = append(rep.Sections, res)
		if ctx.Err() != nil {
			break
		}
	}
	md := rep.Markdown()
	if *out != "" {
		md += keptTail(*out)
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			return err
		}
		logf("wrote %s", *out)
	} else {
		fmt.Print(md)
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d section(s) could not measure:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// runSection runs one section, turning a panic into an error so one broken
// section cannot hide the others' results.
func runSection(ctx context.Context, env *Env, s Section) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if res == nil {
			res = &Result{}
		}
	}()
	if s.NeedsRoot && os.Geteuid() != 0 {
		return nil, errors.New("needs root (real containerd and runc)")
	}
	res, err = s.Run(ctx, env)
	if err == nil && res != nil && len(res.Tables) == 0 {
		err = errors.New("produced no table")
	}
	return res, err
}

func parseOnly(s string) (map[int]bool, error) {
	if s == "" {
		return nil, nil
	}
	want := map[int]bool{}
	known := map[int]bool{}
	for _, sec := range sections() {
		known[sec.N] = true
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || !known[n] {
			return nil, fmt.Errorf("-only: %q is not a section number (have %v)", f, slices.Sorted(mapsKeys(known)))
		}
		want[n] = true
	}
	return want, nil
}

func mapsKeys(m map[int]bool) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// commandLine is how this run was started, with paths inside the module
// written relative to it, so the report does not name one checkout.
func commandLine(root string) string {
	args := []string{"go run ./test/bench"}
	for _, a := range os.Args[1:] {
		if rel, err := filepath.Rel(root, a); err == nil && filepath.IsAbs(a) && !strings.HasPrefix(rel, "..") {
			a = rel
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// logf prints progress for the person watching; results go to the report.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
