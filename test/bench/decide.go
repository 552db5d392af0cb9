package main

import (
	"context"
	"fmt"
	"time"
)

func init() {
	register(Section{N: 1, Title: "Decision latency in process", Run: runDecide})
}

// decideRuleCounts are the policy sizes of the issue.
var decideRuleCounts = []int{10, 100, 1000, 10000}

func runDecide(ctx context.Context, env *Env) (*Result, error) {
	iters := env.Count(5000, 200)
	lines, err := RunGoBench(ctx, env, "./internal/engine", "^BenchmarkDecide$", "-benchtime", fmt.Sprintf("%dx", iters))
	if err != nil {
		return nil, err
	}
	kinds := []struct{ name, what string }{
		{"cached", "cache hit: the same container again"},
		{"new-pod", "decision cache miss: a new pod, matched against the policy; the profile work is shared with earlier pods that matched the same rules"},
		{"cold", "nothing cached: match, parse the current profile, intersect, write the result"},
	}
	t := Table{Header: []string{"rules"}}
	for _, k := range kinds {
		t.Header = append(t.Header, k.name+" p50", k.name+" p99")
	}
	at1000 := map[string]float64{}
	for _, n := range decideRuleCounts {
		row := []any{n}
		for _, k := range kinds {
			l, err := Find(lines, fmt.Sprintf("Decide/rules=%d/%s", n, k.name))
			if err != nil {
				return nil, err
			}
			p50, err := l.Metric("p50-us")
			if err != nil {
				return nil, err
			}
			p99, err := l.Metric("p99-us")
			if err != nil {
				return nil, err
			}
			row = append(row, Micros(us(p50)), Micros(us(p99)))
			if n == 1000 {
				at1000[k.name] = p99
			}
		}
		t.AddRow(row...)
	}
	res := &Result{
		Summary: "How long the engine takes to decide for one container, inside the plugin process, before any NRI or containerd cost. " +
			"A node sees the same few pod shapes again and again, so most decisions are cache hits; a new pod still has to be matched against every rule.",
		Tables: []Table{t},
		Notes: []string{
			fmt.Sprintf("`go test -run '^$' -bench '^BenchmarkDecide$' -benchtime %dx ./internal/engine`: %d decisions per cell, each timed on its own; p50/p99 over those.", iters, iters),
			"Policy: n-1 rules, each matching one namespace (exact and glob) and a label selector, plus a floor rule matching every container; the container has RuntimeDefault (about 370 syscalls) and is tightened.",
			"cached: the same container again (decision cache hit). new-pod: pods from ten namespaces spread over the policy, each matched by its own rule and the floor, with the decision cache bypassed. cold: no cache at all, the cost of the first container with a new combination of profile and rules.",
			"Rules are looked up by namespace (exact names in a map, prefix globs in a trie), so a new pod's cost barely grows with the number of rules; the cache key hashes the container's whole profile (about 8 KiB encoded), which is most of a cache hit's cost.",
		},
	}
	for _, k := range []string{"cached", "new-pod"} {
		res.Targets = append(res.Targets, Target{
			Goal:     fmt.Sprintf("p99 < 100 µs at 1000 rules (%s)", k),
			Measured: Micros(us(at1000[k])),
			Met:      at1000[k] < 100,
		})
	}
	return res, nil
}

func us(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
