package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// criExposition is a scrape of containerd's /v1/metrics as containerd 2.4
// writes it: HELP/TYPE comments, other metric families, two plugins, and
// one operation's buckets out of order.
const criExposition = `# HELP containerd_nri_plugin_invocations_total Number of NRI plugin invocations.
# TYPE containerd_nri_plugin_invocations_total counter
containerd_nri_plugin_invocations_total{operation="CreateContainer",plugin="10-seccomp"} 5
# HELP containerd_nri_plugin_latency_seconds Latency of NRI plugin invocations.
# TYPE containerd_nri_plugin_latency_seconds histogram
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="10-seccomp",le="0.005"} 3
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="10-seccomp",le="0.01"} 4
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="10-seccomp",le="0.025"} 5
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="10-seccomp",le="+Inf"} 5
containerd_nri_plugin_latency_seconds_sum{operation="CreateContainer",plugin="10-seccomp"} 0.0123
containerd_nri_plugin_latency_seconds_count{operation="CreateContainer",plugin="10-seccomp"} 5
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="20-other",le="0.005"} 7
containerd_nri_plugin_latency_seconds_bucket{operation="CreateContainer",plugin="20-other",le="+Inf"} 9
containerd_nri_plugin_latency_seconds_sum{operation="CreateContainer",plugin="20-other"} 4.5
containerd_nri_plugin_latency_seconds_count{operation="CreateContainer",plugin="20-other"} 9
containerd_nri_plugin_latency_seconds_bucket{le="+Inf",operation="ValidateContainerAdjustment",plugin="10-seccomp"} 2
containerd_nri_plugin_latency_seconds_bucket{le="0.01",operation="ValidateContainerAdjustment",plugin="10-seccomp"} 2
containerd_nri_plugin_latency_seconds_bucket{le="0.005",operation="ValidateContainerAdjustment",plugin="10-seccomp"} 1
containerd_nri_plugin_latency_seconds_sum{operation="ValidateContainerAdjustment",plugin="10-seccomp"} 0.004 1700000000000
containerd_nri_plugin_latency_seconds_count{operation="ValidateContainerAdjustment",plugin="10-seccomp"} 2 1700000000000
# EOF
`

func TestParseNRILatency(t *testing.T) {
	l, err := parseNRILatency(criExposition, "10-seccomp")
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for op := range l {
			if !yield(op) {
				return
			}
		}
	}); !slices.Equal(got, []string{"CreateContainer", "ValidateContainerAdjustment"}) {
		t.Fatalf("operations %q, want CreateContainer and ValidateContainerAdjustment only (the other plugin's series and other families must be ignored)", got)
	}
	cc := l["CreateContainer"]
	if cc.Count != 5 || cc.Sum != 0.0123 {
		t.Errorf("CreateContainer count %v sum %v, want 5 and 0.0123 (not the other plugin's 9 and 4.5)", cc.Count, cc.Sum)
	}
	wantCC := []nriBucket{{0.005, 3}, {0.01, 4}, {0.025, 5}, {math.Inf(1), 5}}
	if !slices.Equal(cc.Buckets, wantCC) {
		t.Errorf("CreateContainer buckets %v, want %v", cc.Buckets, wantCC)
	}
	// Out-of-order buckets are sorted by bound, +Inf last; a timestamp after
	// the value is not the value.
	v := l["ValidateContainerAdjustment"]
	wantV := []nriBucket{{0.005, 1}, {0.01, 2}, {math.Inf(1), 2}}
	if !slices.Equal(v.Buckets, wantV) || v.Count != 2 || v.Sum != 0.004 {
		t.Errorf("ValidateContainerAdjustment = %+v, want buckets %v, count 2, sum 0.004", v, wantV)
	}
	if got, want := cc.Mean(), 2460*time.Microsecond; got != want {
		t.Errorf("CreateContainer mean %v, want %v (sum/count)", got, want)
	}

	other, err := parseNRILatency(criExposition, "20-other")
	if err != nil {
		t.Fatal(err)
	}
	if other.count("CreateContainer") != 9 || other.count("ValidateContainerAdjustment") != 0 {
		t.Errorf("20-other: %+v", other["CreateContainer"])
	}
	none, err := parseNRILatency(criExposition, "99-absent")
	if err != nil || len(none) != 0 {
		t.Errorf("a plugin with no series: %v, %v; want an empty histogram and no error", none, err)
	}
}

func TestParseNRILatencyBadInput(t *testing.T) {
	const pre = `containerd_nri_plugin_latency_seconds_`
	for _, c := range []struct {
		name, line, want string
	}{
		{"malformed value", pre + `sum{operation="CreateContainer",plugin="10-seccomp"} 0.0x12`, "value of"},
		{"malformed bucket bound", pre + `bucket{operation="CreateContainer",plugin="10-seccomp",le="fast"} 3`, "bucket bound"},
		{"missing bucket bound", pre + `bucket{operation="CreateContainer",plugin="10-seccomp"} 3`, "bucket bound"},
		{"truncated in the labels", pre + `bucket{operation="CreateContainer",plugin="10-se`, "cannot read"},
		{"truncated after the labels", pre + `count{operation="CreateContainer",plugin="10-seccomp"}`, "cannot read"},
		{"value missing", pre + `count{operation="CreateContainer",plugin="10-seccomp"} `, "CreateContainer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := parseNRILatency("# TYPE containerd_nri_plugin_latency_seconds histogram\n"+c.line+"\n", "10-seccomp")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("parse of %q = %v, %v; want an error containing %q", c.line, l, err, c.want)
			}
		})
	}
}

// utHistogram is an exposition of plugin 10-seccomp's histograms with n
// calls of each op, in the order containerd writes a histogram's series.
func utHistogram(n int, ops ...string) string {
	var b strings.Builder
	for _, op := range ops {
		labels := `operation="` + op + `",plugin="10-seccomp"`
		fmt.Fprintf(&b, "containerd_nri_plugin_latency_seconds_bucket{%s,le=\"0.005\"} %d\n", labels, n)
		fmt.Fprintf(&b, "containerd_nri_plugin_latency_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, n)
		fmt.Fprintf(&b, "containerd_nri_plugin_latency_seconds_sum{%s} %g\n", labels, float64(n)*0.001)
		fmt.Fprintf(&b, "containerd_nri_plugin_latency_seconds_count{%s} %d\n", labels, n)
	}
	return b.String()
}

// A scrape cut short loses an operation's _count (containerd writes
// buckets, _sum, then _count): the parser keeps the zero, and the callers'
// call counts are what turns it into an error instead of a zero latency.
func TestTruncatedScrapeFailsTheCallCheck(t *testing.T) {
	before, err := parseNRILatency(utHistogram(4, startTimedOps...), criPluginNRIName)
	if err != nil {
		t.Fatal(err)
	}
	full := utHistogram(5, startTimedOps...)
	after, err := parseNRILatency(full, criPluginNRIName)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStartCalls(after.since(before)); err != nil {
		t.Fatalf("one more call of each: %v", err)
	}
	last := startTimedOps[len(startTimedOps)-1]
	cut, err := parseNRILatency(full[:strings.LastIndex(full, "containerd_nri_plugin_latency_seconds_count")], criPluginNRIName)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStartCalls(cut.since(before)); err == nil || !strings.Contains(err.Error(), last) {
		t.Fatalf("a scrape without %s's _count: %v; want the one-call-per-start check to fail naming it", last, err)
	}
}

func TestPromLabels(t *testing.T) {
	got := promLabels(`operation="CreateContainer", plugin="10-seccomp",le="+Inf",`)
	want := map[string]string{"operation": "CreateContainer", "plugin": "10-seccomp", "le": "+Inf"}
	if len(got) != len(want) {
		t.Fatalf("promLabels = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestNRIOpBound(t *testing.T) {
	o := &nriOp{Count: 5, Sum: 0.05, Buckets: []nriBucket{{0.005, 3}, {0.01, 4}, {0.025, 4}, {0.05, 5}, {math.Inf(1), 5}}}
	for _, c := range []struct{ q, want float64 }{
		{0.2, 0.005}, {0.5, 0.005}, {0.6, 0.005}, {0.61, 0.01}, {0.8, 0.01}, {0.81, 0.05}, {1, 0.05},
	} {
		if got := o.Bound(c.q); got != c.want {
			t.Errorf("Bound(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	// Observations past the last finite bucket are only bounded by +Inf.
	slow := &nriOp{Count: 3, Buckets: []nriBucket{{0.005, 1}, {10, 2}, {math.Inf(1), 3}}}
	if got := slow.Bound(1); !math.IsInf(got, 1) {
		t.Errorf("slowest beyond 10 s: Bound(1) = %v, want +Inf", got)
	}
	// A histogram whose buckets were lost cannot bound anything.
	if got := (&nriOp{Count: 2}).Bound(0.5); !math.IsInf(got, 1) {
		t.Errorf("no buckets: Bound = %v, want +Inf", got)
	}
	var absent *nriOp
	if !math.IsNaN(absent.Bound(1)) || !math.IsNaN((&nriOp{}).Bound(1)) {
		t.Error("no observations: Bound must be NaN, not a bound")
	}
	if absent.Mean() != 0 {
		t.Error("nil op: Mean must be 0")
	}
}

func TestNRILatencyArithmetic(t *testing.T) {
	before := nriLatency{
		"CreateContainer":    {Count: 3, Sum: 0.009, Buckets: []nriBucket{{0.005, 2}, {0.01, 3}, {math.Inf(1), 3}}},
		"RemoveContainer":    {Count: 1, Sum: 0.001, Buckets: []nriBucket{{0.005, 1}, {0.01, 1}, {math.Inf(1), 1}}},
		"PostStartContainer": {Count: 4, Sum: 0.004, Buckets: []nriBucket{{0.005, 4}, {0.01, 4}, {math.Inf(1), 4}}},
	}
	after := nriLatency{
		"CreateContainer":    {Count: 5, Sum: 0.029, Buckets: []nriBucket{{0.005, 2}, {0.01, 4}, {math.Inf(1), 5}}},
		"RemoveContainer":    {Count: 1, Sum: 0.001, Buckets: []nriBucket{{0.005, 1}, {0.01, 1}, {math.Inf(1), 1}}},
		"PostStartContainer": {Count: 5, Sum: 0.0045, Buckets: []nriBucket{{0.005, 5}, {0.01, 5}, {math.Inf(1), 5}}},
		"ValidateContainerAdjustment": {Count: 2, Sum: 0.002,
			Buckets: []nriBucket{{0.005, 2}, {0.01, 2}, {math.Inf(1), 2}}},
	}
	d := after.since(before)
	cc := d["CreateContainer"]
	if cc.Count != 2 || math.Abs(cc.Sum-0.020) > 1e-12 || !slices.Equal(cc.Buckets, []nriBucket{{0.005, 0}, {0.01, 1}, {math.Inf(1), 2}}) {
		t.Errorf("CreateContainer since = %+v", cc)
	}
	// The two calls of the interval: one in (5 ms, 10 ms], one above 10 ms.
	if got := cc.Bound(0.5); got != 0.01 {
		t.Errorf("since: Bound(0.5) = %v, want 0.01", got)
	}
	if got := cc.Bound(1); !math.IsInf(got, 1) {
		t.Errorf("since: Bound(1) = %v, want +Inf", got)
	}
	if d.count("RemoveContainer") != 0 || d.count("ValidateContainerAdjustment") != 2 || d.count("Missing") != 0 {
		t.Errorf("since: counts %v %v", d.count("RemoveContainer"), d.count("ValidateContainerAdjustment"))
	}
	total, n := d.Total("CreateContainer", "ValidateContainerAdjustment", "PostStartContainer", "NotThere")
	if n != 5 || total != 22500*time.Microsecond {
		t.Errorf("Total = %v over %v calls, want 22.5ms over 5", total, n)
	}
	// since and plus build new histograms: their inputs are unchanged.
	if before["CreateContainer"].Count != 3 || after["CreateContainer"].Buckets[1].N != 4 {
		t.Error("since modified its inputs")
	}
	sum := d.plus(d)
	if sum.count("CreateContainer") != 4 || sum["CreateContainer"].Buckets[2].N != 4 || d["CreateContainer"].Count != 2 {
		t.Errorf("plus = %+v, and d after it %+v", sum["CreateContainer"], d["CreateContainer"])
	}
	// Accumulating from nothing, as the concurrency section does.
	var acc nriLatency
	acc = acc.plus(d)
	acc = acc.plus(d)
	if acc.count("CreateContainer") != 4 {
		t.Errorf("nil plus: %+v", acc["CreateContainer"])
	}
}

func TestNRIRequestTimeout(t *testing.T) {
	realDump := `version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true

  [plugins.'io.containerd.nri.v1.nri']
    disable = false
    socket_path = '/var/run/nri/nri.sock'
    plugin_path = '/opt/nri/plugins'
    plugin_config_path = '/etc/nri/conf.d'
    plugin_registration_timeout = '5s'
    plugin_request_timeout = '2s'
    disable_connections = false

    [plugins.'io.containerd.nri.v1.nri'.default_validator]
      enable = false
      required_plugins = []

  [plugins.'io.containerd.runtime.v2.task']
    platforms = ['linux/amd64']
`
	for _, c := range []struct {
		name, dump string
		exit       int
		want       time.Duration
		wantErr    string
	}{
		{name: "containerd 2.4 dump", dump: realDump, want: 2 * time.Second},
		{name: "double quotes", dump: "[plugins.\"io.containerd.nri.v1.nri\"]\n  plugin_request_timeout = \"1m30s\"\n", want: 90 * time.Second},
		{name: "only in another table", dump: "[plugins.'io.containerd.other.v1.x']\n  plugin_request_timeout = '9s'\n[plugins.'io.containerd.nri.v1.nri']\n  disable = false\n",
			wantErr: "no plugin_request_timeout"},
		{name: "only in the validator's sub-table", dump: "[plugins.'io.containerd.nri.v1.nri']\n  disable = false\n  [plugins.'io.containerd.nri.v1.nri'.default_validator]\n    plugin_request_timeout = '9s'\n",
			wantErr: "no plugin_request_timeout"},
		{name: "a longer key is not the key", dump: "[plugins.'io.containerd.nri.v1.nri']\n  plugin_request_timeout_max = '9s'\n", wantErr: "no plugin_request_timeout"},
		{name: "not a duration", dump: "[plugins.'io.containerd.nri.v1.nri']\n  plugin_request_timeout = 'soon'\n", wantErr: `"soon"`},
		{name: "no unit", dump: "[plugins.'io.containerd.nri.v1.nri']\n  plugin_request_timeout = 2\n", wantErr: "plugin_request_timeout"},
		{name: "empty", dump: "[plugins.'io.containerd.nri.v1.nri']\n  plugin_request_timeout = ''\n", wantErr: "plugin_request_timeout"},
		{name: "empty dump", dump: "", wantErr: "no plugin_request_timeout"},
		{name: "containerd fails", dump: realDump, exit: 3, wantErr: "containerd config dump"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dump, args, cfg := filepath.Join(dir, "dump.toml"), filepath.Join(dir, "args"), filepath.Join(dir, "config.toml")
			if err := os.WriteFile(dump, []byte(c.dump), 0o644); err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(dir, "containerd")
			body := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + args + "'\ncat '" + dump + "'\nexit " + strconv.Itoa(c.exit) + "\n"
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			ctrd := &harness.Containerd{ConfigPath: cfg, Tools: harness.Tools{Containerd: script}}
			got, err := nriRequestTimeout(context.Background(), ctrd)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
			// It asks for the configuration this instance runs with.
			b, err := os.ReadFile(args)
			if err != nil {
				t.Fatal(err)
			}
			if want := "--config\n" + cfg + "\nconfig\ndump\n"; string(b) != want {
				t.Errorf("containerd run with %q, want %q", b, want)
			}
		})
	}
}

func TestBootstrapMedianDiff(t *testing.T) {
	t.Parallel()
	// No spread: every resample has the same medians.
	if lo, hi := bootstrapMedianDiff([]float64{10, 10, 10}, []float64{7, 7, 7, 7}, 1000); lo != 3 || hi != 3 {
		t.Errorf("constant samples: interval [%v, %v], want [3, 3]", lo, hi)
	}
	base := []float64{100, 103, 98, 101, 97, 104, 99, 102, 100, 96, 105, 101, 98, 100, 103, 99, 102, 97, 101, 100}
	shifted := make([]float64, len(base))
	for i, x := range base {
		shifted[i] = x + 20
	}
	lo, hi := bootstrapMedianDiff(shifted, base, 4000)
	if !(lo <= 20 && 20 <= hi) || lo <= 0 {
		t.Errorf("a +20 shift on a spread of ±5: interval [%v, %v], want it to hold 20 and exclude 0", lo, hi)
	}
	if lo2, hi2 := bootstrapMedianDiff(shifted, base, 4000); lo2 != lo || hi2 != hi {
		t.Errorf("the seed is fixed, so a report reproduces: [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
	// A/A: the same samples on both sides.
	if lo, hi := bootstrapMedianDiff(base, base, 4000); !(lo < 0 && hi > 0) {
		t.Errorf("A/A interval [%v, %v] must contain 0 strictly", lo, hi)
	}
	// Mirror images give a symmetric interval: the two tails cut alike.
	if lo, hi := bootstrapMedianDiff([]float64{1, 2, 3, 4, 5}, []float64{3}, 4000); lo != -hi || lo >= 0 {
		t.Errorf("median of 1..5 minus 3: interval [%v, %v], want symmetric around 0", lo, hi)
	}
	if lo, hi := bootstrapMedianDiff([]float64{5}, []float64{2}, 1); lo != 3 || hi != 3 {
		t.Errorf("one resample: [%v, %v]", lo, hi)
	}
}

func TestDurationHelpers(t *testing.T) {
	ds := []time.Duration{3 * time.Millisecond, time.Millisecond, 4 * time.Millisecond, 2 * time.Millisecond}
	if got := medianDur(ds); got != 2500*time.Microsecond {
		t.Errorf("medianDur of 1..4 ms = %v, want 2.5ms (mean of the middle two)", got)
	}
	if ds[0] != 3*time.Millisecond {
		t.Error("medianDur reordered its input")
	}
	if got := medianDur(ds[:3]); got != 3*time.Millisecond {
		t.Errorf("medianDur of 3,1,4 ms = %v", got)
	}
	if medianDur(nil) != 0 {
		t.Error("medianDur(nil) must be 0")
	}
	if got := millisOf([]time.Duration{1500 * time.Microsecond, 0, 2 * time.Second}); !slices.Equal(got, []float64{1.5, 0, 2000}) {
		t.Errorf("millisOf = %v", got)
	}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{5500 * time.Nanosecond, "5.5 µs"}, {999 * time.Microsecond, "999 µs"}, {time.Millisecond, "1.0 ms"}, {1250 * time.Millisecond, "1250.0 ms"}} {
		if got := shortDur(c.d); got != c.want {
			t.Errorf("shortDur(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	for _, c := range []struct {
		s    float64
		want string
	}{{0.005, "≤ 5.0 ms"}, {2.5, "≤ 2500.0 ms"}, {math.Inf(1), "unbounded (+Inf bucket)"}, {math.NaN(), "n/a"}} {
		if got := boundText(c.s); got != c.want {
			t.Errorf("boundText(%v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// utRequest is a ttrpc.Request: service (1), method (2), payload (3), with
// the fields in the order given.
func utRequest(fields ...any) []byte {
	var b []byte
	for i := 0; i < len(fields); i += 2 {
		num := protowire.Number(fields[i].(int))
		switch v := fields[i+1].(type) {
		case string:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, v)
		case uint64:
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	return b
}

func TestTTRPCMethod(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"service, method, payload", utRequest(1, "nri.pkg.api.v1alpha1.Plugin", 2, "CreateContainer", 3, "\x0a\x02hi"), "CreateContainer"},
		{"method first", utRequest(2, "ValidateContainerAdjustment", 1, "svc"), "ValidateContainerAdjustment"},
		{"after a timeout varint", utRequest(1, "svc", 4, uint64(2_000_000_000), 2, "Synchronize"), "Synchronize"},
		{"field 2 as a varint is not the method", utRequest(2, uint64(7), 1, "svc"), "?"},
		{"field 2 as a varint, then the method", utRequest(2, uint64(3), 2, "Create"), "Create"},
		{"no method", utRequest(1, "svc", 3, "x"), "?"},
		{"empty", nil, "?"},
		{"truncated method", utRequest(1, "svc", 2, "CreateContainer")[:10], "?"},
		{"garbage", []byte{0xff, 0xff, 0xff}, "?"},
	} {
		if got := ttrpcMethod(c.b); got != c.want {
			t.Errorf("%s: ttrpcMethod = %q, want %q", c.name, got, c.want)
		}
	}
}

// utMessage is a ttrpc message: [length][stream id][type][flags][data].
func utMessage(stream uint32, typ byte, data []byte) []byte {
	b := make([]byte, ttrpcHeaderLen, ttrpcHeaderLen+len(data))
	binary.BigEndian.PutUint32(b[0:4], uint32(len(data)))
	binary.BigEndian.PutUint32(b[4:8], stream)
	b[8] = typ
	return append(b, data...)
}

// utFrame is one NRI multiplexer frame: [conn id][length][payload].
func utFrame(conn uint32, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(b[0:4], conn)
	binary.BigEndian.PutUint32(b[4:8], uint32(len(payload)))
	return append(b, payload...)
}

// TestNRITap runs the relay between a fake runtime and a fake plugin over
// unix sockets: every byte must pass unchanged, and only conn 1's
// request/response pairs, matched by stream id, are timed.
func TestNRITap(t *testing.T) {
	dir := t.TempDir()
	rtSocket := filepath.Join(dir, "rt.sock")
	ln, err := net.Listen("unix", rtSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tap, err := startNRITap(filepath.Join(dir, "tap.sock"), rtSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	plugin, err := net.Dial("unix", tap.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer plugin.Close()
	_ = ln.(*net.UnixListener).SetDeadline(time.Now().Add(10 * time.Second))
	runtime, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.Close()
	deadline := time.Now().Add(10 * time.Second)
	_ = plugin.SetDeadline(deadline)
	_ = runtime.SetDeadline(deadline)

	send := func(from, to net.Conn, chunks ...[]byte) {
		t.Helper()
		want := bytes.Join(chunks, nil)
		for _, c := range chunks {
			if _, err := from.Write(c); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(to, got); err != nil {
			t.Fatalf("reading what the relay forwarded: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("the relay changed the bytes it forwarded")
		}
	}

	create := utMessage(1, ttrpcRequest, utRequest(1, "nri.pkg.api.v1alpha1.Plugin", 2, "CreateContainer"))
	validate := utMessage(3, ttrpcRequest, utRequest(1, "nri.pkg.api.v1alpha1.Plugin", 2, "ValidateContainerAdjustment"))
	// On conn 2 (the plugin's own calls to the runtime) a request with stream
	// id 5 is not a call to the plugin.
	other := utMessage(5, ttrpcRequest, utRequest(1, "nri.pkg.api.v1alpha1.Runtime", 2, "UpdateContainers"))
	// Runtime to plugin: the CreateContainer request split over two frames,
	// the second also carrying the whole ValidateContainerAdjustment
	// request; a conn 2 frame in between; the frame header itself written
	// in two pieces.
	first := utFrame(tapPluginConn, create[:7])
	send(runtime, plugin,
		first[:5], first[5:],
		utFrame(2, other),
		utFrame(tapPluginConn, append(slices.Clone(create[7:]), validate...)),
	)
	if calls := tap.Calls(); len(calls) != 0 {
		t.Fatalf("requests without answers are not calls yet: %+v", calls)
	}
	// Plugin to runtime: the answers in reverse order in one frame, an
	// answer to the conn 2 stream id, and an answer nobody asked for.
	send(plugin, runtime,
		utFrame(tapPluginConn, slices.Concat(
			utMessage(3, ttrpcResponse, []byte("ok")),
			utMessage(1, ttrpcResponse, nil),
			utMessage(5, ttrpcResponse, nil),
			utMessage(9, ttrpcResponse, nil),
		)),
	)
	calls := tap.Calls()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
		if c.Took < 0 {
			t.Errorf("%s took %v", c.Method, c.Took)
		}
	}
	if !slices.Equal(methods, []string{"ValidateContainerAdjustment", "CreateContainer"}) {
		t.Fatalf("timed calls %q, want ValidateContainerAdjustment then CreateContainer", methods)
	}
	if again := tap.Calls(); len(again) != 0 {
		t.Fatalf("Calls must forget what it returned, got %+v", again)
	}
	// The same stream id answered twice counts once.
	send(plugin, runtime, utFrame(tapPluginConn, utMessage(1, ttrpcResponse, nil)))
	if again := tap.Calls(); len(again) != 0 {
		t.Fatalf("a second answer on stream 1: %+v", again)
	}

	// A frame longer than the relay accepts ends the connection rather than
	// allocating it.
	huge := make([]byte, 8)
	binary.BigEndian.PutUint32(huge[0:4], tapPluginConn)
	binary.BigEndian.PutUint32(huge[4:8], tapMaxFrameSize+1)
	if _, err := runtime.Write(huge); err != nil {
		t.Fatal(err)
	}
	if n, err := plugin.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after an oversized frame the plugin's side read %d bytes, %v; want EOF", n, err)
	}
}

func TestWaitDecisions(t *testing.T) {
	line := func(id string, extra string) string {
		return `{"time":"2025-01-01T00:00:00Z","namespace":"bench","pod":"p-` + id + `","container":"app","container_id":"` + id +
			`","profile_type":"Unconfined","latency_us":123` + extra + "}\n"
	}
	good := `,"rules":["runtime-default-for-unconfined","floor"],"changed":true`
	dir := t.TempDir()
	write := func(name, content string) *harness.Plugin {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return &harness.Plugin{DecisionLog: p}
	}
	// The plugin moved halfway: two logs, plus the log of one that never
	// wrote anything (no file yet).
	p1 := write("one.log", line("c1", good)+`{"event":"started","container_id":"c1","pid":42}`+"\n")
	p2 := write("two.log", line("c2", good))
	p3 := &harness.Plugin{DecisionLog: filepath.Join(dir, "never-written.log")}
	got, err := waitDecisions(context.Background(), []*harness.Plugin{p1, p2, p3}, []string{"c1", "c2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["c1"].Latency() != 123*time.Microsecond || got["c2"].Pod != "p-c2" {
		t.Fatalf("decisions %+v", got)
	}
	if want := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); !got["c1"].Time.Equal(want) {
		t.Errorf("time %v, want %v", got["c1"].Time, want)
	}

	for _, c := range []struct{ name, extra string }{
		{"decision failed", good + `,"error":"boom"`},
		{"not changed", `,"rules":["runtime-default-for-unconfined"],"changed":false`},
		{"exempt", `,"rules":["runtime-default-for-unconfined"],"changed":true,"exempt":true`},
		{"other rule", `,"rules":["floor"],"changed":true`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := write(c.name+".log", line("c9", c.extra))
			if _, err := waitDecisions(context.Background(), []*harness.Plugin{p}, []string{"c9"}); err == nil || !strings.Contains(err.Error(), "c9") {
				t.Fatalf("got %v; want an error naming container c9", err)
			}
		})
	}
	t.Run("bad line", func(t *testing.T) {
		p := write("bad.log", line("c1", good)+"{\"container_id\":\n")
		if _, err := waitDecisions(context.Background(), []*harness.Plugin{p}, []string{"c1"}); err == nil {
			t.Fatal("a malformed decision log must be an error")
		}
	})
	t.Run("missing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := waitDecisions(ctx, []*harness.Plugin{p1}, []string{"c1", "c7"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v; want it to keep waiting for c7 until the context ends", err)
		}
	})
}
