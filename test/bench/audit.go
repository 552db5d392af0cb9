package main

import (
	"context"
	"fmt"
)

func init() {
	register(Section{N: 7, Title: "Audit pipeline throughput", Run: runAudit})
}

func runAudit(ctx context.Context, env *Env) (*Result, error) {
	iters := env.Count(500000, 20000)
	lines, err := RunGoBench(ctx, env, "./internal/audit/...", "^Benchmark(Parse|Pipeline|PipelineMixed)$",
		"-cpu", "1", "-benchmem", "-benchtime", fmt.Sprintf("%dx", iters))
	if err != nil {
		return nil, err
	}
	rows := []struct{ name, what string }{
		{"Parse", "parse only: one kernel record (with auditd's enrichment) into fields"},
		{"Pipeline", "parse, attribute to a container (registry hit), count in Prometheus, rate-limit: one hot syscall of one container"},
		{"PipelineMixed", "the same for a busy node: 50 containers, 6 syscalls, one record in ten from a process no container owns (looked up in /proc, a miss)"},
	}
	t := Table{Header: []string{"benchmark", "what", "records/s", "ns/record", "allocs/record"}}
	worst := -1.0
	for _, r := range rows {
		l, err := Find(lines, r.name)
		if err != nil {
			return nil, err
		}
		rate, err := l.Metric("records/s")
		if err != nil {
			return nil, err
		}
		ns, err := l.Metric("ns/op")
		if err != nil {
			return nil, err
		}
		t.AddRow(r.name, r.what, fmt.Sprintf("%.0fk", rate/1000), fmt.Sprintf("%.0f", ns), fmt.Sprintf("%.0f", l.Metrics["allocs/op"]))
		if r.name != "Parse" && (worst < 0 || rate < worst) {
			worst = rate
		}
	}
	return &Result{
		Summary: "A policy rolled out in audit mode can make the kernel log thousands of records a second; the plugin must keep up on one core without dropping or blocking. " +
			"Every record is parsed, attributed to its pod and container, counted and rate-limited before it is reported.",
		Tables: []Table{t},
		Targets: []Target{{
			Goal:     "> 100k records/s parsed and attributed on one core (slowest pipeline row)",
			Measured: fmt.Sprintf("%.0fk records/s", worst/1000),
			Met:      worst > 100000,
		}},
		Notes: []string{
			fmt.Sprintf("`go test -run '^$' -bench '^Benchmark(Parse|Pipeline|PipelineMixed)$' -cpu 1 -benchmem -benchtime %dx ./internal/audit/...` (GOMAXPROCS=1).", iters),
			"Each record is handled once, in arrival order, by one goroutine; records of one container and syscall within a window are summarised after the first, so a storm costs counting, not output.",
		},
	}, nil
}
