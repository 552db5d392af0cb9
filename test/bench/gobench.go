package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// BenchLine is one result line of `go test -bench`.
type BenchLine struct {
	Name    string             // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	Procs   int                // the -N suffix (GOMAXPROCS), 1 when absent
	N       int                // iterations
	Metrics map[string]float64 // unit -> value: "ns/op", "p99-us", "records/s", "B/op", ...
}

// RunGoBench runs `go test -run ^$ -bench pattern` in pkg (a package path
// relative to the module root) and parses its result lines. extra goes to
// go test as is (-benchtime, -cpu, ...).
func RunGoBench(ctx context.Context, env *Env, pkg, pattern string, extra ...string) ([]BenchLine, error) {
	args := append([]string{"test", "-run", "^$", "-bench", pattern, "-count", "1"}, extra...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = env.Root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	lines, err := ParseGoBench(string(out))
	if err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("go %s: no benchmark ran:\n%s", strings.Join(args, " "), out)
	}
	return lines, nil
}

// ParseGoBench reads the result lines of go test -bench output, in the
// format of golang.org/x/perf's benchfmt: name, iterations, then value/unit
// pairs.
func ParseGoBench(out string) ([]BenchLine, error) {
	var res []BenchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue // a log line that happens to start with Benchmark
		}
		l := BenchLine{Name: strings.TrimPrefix(f[0], "Benchmark"), Procs: 1, N: n, Metrics: map[string]float64{}}
		if i := strings.LastIndexByte(l.Name, '-'); i > 0 {
			if p, err := strconv.Atoi(l.Name[i+1:]); err == nil {
				l.Name, l.Procs = l.Name[:i], p
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", sc.Text(), f[i], err)
			}
			l.Metrics[f[i+1]] = v
		}
		res = append(res, l)
	}
	return res, sc.Err()
}

// Find returns the line with this name.
func Find(lines []BenchLine, name string) (BenchLine, error) {
	for _, l := range lines {
		if l.Name == name {
			return l, nil
		}
	}
	var names []string
	for _, l := range lines {
		names = append(names, l.Name)
	}
	return BenchLine{}, fmt.Errorf("no benchmark %q among %v", name, names)
}

// Metric returns one metric of a line, or an error naming what is missing.
func (l BenchLine) Metric(unit string) (float64, error) {
	v, ok := l.Metrics[unit]
	if !ok {
		return 0, fmt.Errorf("benchmark %s reported no %q", l.Name, unit)
	}
	return v, nil
}
