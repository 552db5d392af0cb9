package main

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/nri-seccomp/nri-seccomp/internal/engine
BenchmarkDecide/rules=10/cached-2         	    5000	      7613 ns/op	         7.100 p50-us	        57.00 p99-us
BenchmarkPipeline      	  200000	      2310 ns/op	    432835 records/s	     360 B/op	       3 allocs/op
BenchmarkBroken: some log line
PASS
`
	lines, err := ParseGoBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("want 2 result lines, got %d: %+v", len(lines), lines)
	}
	d, err := Find(lines, "Decide/rules=10/cached")
	if err != nil {
		t.Fatal(err)
	}
	if d.Procs != 2 || d.N != 5000 || d.Metrics["p99-us"] != 57 || d.Metrics["p50-us"] != 7.1 {
		t.Fatalf("parsed %+v", d)
	}
	p, err := Find(lines, "Pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if p.Procs != 1 || p.Metrics["records/s"] != 432835 || p.Metrics["allocs/op"] != 3 {
		t.Fatalf("parsed %+v", p)
	}
	if _, err := p.Metric("p99-us"); err == nil || !strings.Contains(err.Error(), "p99-us") {
		t.Fatalf("a missing metric must be an error naming it, got %v", err)
	}
	if _, err := Find(lines, "Nope"); err == nil {
		t.Fatal("Find of an absent benchmark must fail")
	}
	if _, err := ParseGoBench("BenchmarkX 10 abc ns/op\n"); err == nil {
		t.Fatal("a result line with a bad value must be an error")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0, 1}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if ds[0] != 100 {
		t.Fatal("Percentile must not reorder its input")
	}
	if Percentile(nil, 50) != 0 {
		t.Fatal("empty input")
	}
	if got := MedianFloat([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median of 1..4 = %v", got)
	}
}

func TestMarkdown(t *testing.T) {
	r := Report{Command: "go run ./test/bench", Machine: []string{"kernel: x"}, Sections: []*Result{
		{N: 1, Title: "One", Tables: []Table{{Header: []string{"a", "b"}, Rows: [][]string{{"x|y", "2"}}}},
			Targets: []Target{{Goal: "g", Measured: "m", Met: false}}},
		{N: 2, Title: "Two", Error: "needs root"},
	}}
	md := r.Markdown()
	for _, want := range []string{"    go run ./test/bench", "| 1 | g | m | MISSED |", "| 2 | Two | could not measure: needs root | — |",
		"| x\\|y | 2 |", "## 2. Two", "**Could not measure:** needs root"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParseOnly(t *testing.T) {
	if _, err := parseOnly("1,99"); err == nil || !strings.Contains(err.Error(), "99") {
		t.Fatalf("an unknown section must be refused by number, got %v", err)
	}
	m, err := parseOnly("1, 5")
	if err != nil || !m[1] || !m[5] || len(m) != 2 {
		t.Fatalf("parseOnly(1, 5) = %v, %v", m, err)
	}
}

func TestLoadFilter(t *testing.T) {
	// RET ALLOW: the smallest valid filter.
	allow := []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
	if d, err := LoadFilter(allow); err != nil || d <= 0 {
		t.Fatalf("loading an allow-all filter: %v, %v", d, err)
	}
	// A program that does not end in a return is refused by the kernel, and
	// the error says which call refused it.
	bad := []bpf.RawInstruction{{Op: 0x20, K: 0}}
	if _, err := LoadFilter(bad); err == nil || !strings.Contains(err.Error(), "SECCOMP_SET_MODE_FILTER") {
		t.Fatalf("a filter without a return must fail to load, got %v", err)
	}
	if _, err := LoadFilter(nil); err == nil {
		t.Fatal("an empty filter must be refused")
	}
}
