package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri/convert"
	"github.com/nri-seccomp/nri-seccomp/internal/policy"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/seccompbpf"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// ---- section 3: pod start ----

// Over every six rounds each setup must run first, second and third
// equally often, or a drift of the machine would favour one of them.
func TestStartOrdersBalanced(t *testing.T) {
	if len(startOrders) != 6 {
		t.Fatalf("%d orders, want the 6 permutations", len(startOrders))
	}
	var pos [3][3]int // [setup][position]
	seen := map[[3]int]bool{}
	for _, o := range startOrders {
		if seen[o] {
			t.Errorf("order %v twice", o)
		}
		seen[o] = true
		s := slices.Sorted(slices.Values(o[:]))
		if !slices.Equal(s, []int{0, 1, 2}) {
			t.Fatalf("order %v is not a permutation of the three setups", o)
		}
		for p, setup := range o {
			pos[setup][p]++
		}
	}
	for s := range pos {
		for p := range pos[s] {
			if pos[s][p] != 2 {
				t.Errorf("setup %d runs at position %d %d times in six rounds, want 2", s, p, pos[s][p])
			}
		}
	}
	// The indexes the result code uses name the setups it thinks they do.
	if !startSetups[setupPlugin].plugin || startSetups[setupRuntimeDefault].plugin || startSetups[setupUnconfined].plugin {
		t.Error("only setupPlugin may run on the containerd with the plugin")
	}
	if startSetups[setupRuntimeDefault].seccomp != harness.SeccompRuntimeDefault ||
		startSetups[setupUnconfined].seccomp != harness.SeccompUnconfined || startSetups[setupPlugin].seccomp != harness.SeccompUnconfined {
		t.Error("setups ask for the wrong profile types")
	}
}

func TestCheckStartCalls(t *testing.T) {
	one := func(ops ...string) nriLatency {
		l := nriLatency{}
		for _, op := range ops {
			l[op] = &nriOp{Count: 1, Sum: 0.001}
		}
		return l
	}
	if err := checkStartCalls(one(startTimedOps...)); err != nil {
		t.Fatalf("one call of each: %v", err)
	}
	if err := checkStartCalls(one(append([]string{"RemoveContainer"}, startTimedOps...)...)); err != nil {
		t.Fatalf("an extra operation that is not timed: %v", err)
	}
	twice := one(startTimedOps...)
	twice["CreateContainer"].Count = 2
	for name, l := range map[string]nriLatency{
		"no calls":           {},
		"validation missing": one("CreateContainer", "PostStartContainer"),
		"two creations":      twice,
	} {
		if err := checkStartCalls(l); err == nil {
			t.Errorf("%s: checkStartCalls passed", name)
		}
	}
}

func TestSeccompCanonical(t *testing.T) {
	parse := func(s string) map[string]any {
		t.Helper()
		var sj seccompJSON
		if err := json.Unmarshal([]byte(s), &sj); err != nil {
			t.Fatal(err)
		}
		return sj.canonical()
	}
	// containerd's grouping and nri-seccomp's (sorted, one rule per action)
	// of the same filter.
	a := parse(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
		"syscalls":[{"names":["read","write","personality"],"action":"SCMP_ACT_ALLOW"},
		{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
		{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`)
	b := parse(`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X32","SCMP_ARCH_X86","SCMP_ARCH_X86_64"],
		"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
		{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
		{"names":["personality","read"],"action":"SCMP_ACT_ALLOW"},{"names":["write"],"action":"SCMP_ACT_ALLOW"}]}`)
	if !equalJSON(t, a, b) {
		t.Fatalf("the same filter grouped differently:\n%v\n%v", a, b)
	}
	if got := a["syscall personality"].([]string); len(got) != 2 {
		t.Errorf("personality's two rules: %q", got)
	}
	for name, other := range map[string]string{
		"errno of a rule": `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
			"syscalls":[{"names":["read","write","personality"],"action":"SCMP_ACT_ALLOW"},
			{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
			{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}`,
		"default errno unset": `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
			"syscalls":[{"names":["read","write","personality"],"action":"SCMP_ACT_ALLOW"},
			{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
			{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`,
		"a call missing": `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
			"syscalls":[{"names":["read","personality"],"action":"SCMP_ACT_ALLOW"},
			{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
			{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`,
		"an architecture missing": `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],
			"syscalls":[{"names":["read","write","personality"],"action":"SCMP_ACT_ALLOW"},
			{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
			{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`,
	} {
		if equalJSON(t, a, parse(other)) {
			t.Errorf("%s: canonical forms equal", name)
		}
	}
}

func equalJSON(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// startInput is rounds of identical samples per setup, the plugin's start
// longer than RuntimeDefault's by extra in its create step, and the time
// containerd waited on the plugin per start.
func startInput(rounds int, rdStart []time.Duration, extra time.Duration, waited []time.Duration) ([][]startSample, []nriLatency, []benchDecision) {
	samples := make([][]startSample, len(startSetups))
	for r := range rounds {
		start := rdStart[r%len(rdStart)]
		rd := startSample{pod: 100 * time.Millisecond, create: 200 * time.Millisecond, start: start}
		samples[setupRuntimeDefault] = append(samples[setupRuntimeDefault], rd)
		un := rd
		un.create -= 10 * time.Millisecond
		samples[setupUnconfined] = append(samples[setupUnconfined], un)
		pl := rd
		pl.create += extra
		samples[setupPlugin] = append(samples[setupPlugin], pl)
	}
	var waits []nriLatency
	var decisions []benchDecision
	for _, w := range waited {
		s := w.Seconds()
		waits = append(waits, nriLatency{
			"CreateContainer":             {Count: 1, Sum: s / 2},
			"ValidateContainerAdjustment": {Count: 1, Sum: s / 4},
			"PostStartContainer":          {Count: 1, Sum: s / 4},
			"RemoveContainer":             {Count: 1, Sum: 10}, // not part of a start
		})
		decisions = append(decisions, benchDecision{LatencyMicros: 80})
	}
	return samples, waits, decisions
}

func TestStartResultTargets(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	steady := []time.Duration{700 * ms}
	noisy := []time.Duration{600 * ms, 800 * ms}
	// One slow start: the mean is over 1%, the median (the rule) is not.
	waited := []time.Duration{5 * ms, 5 * ms, 5 * ms, 5 * ms, 5 * ms, 60 * ms}
	for _, c := range []struct {
		name                     string
		rdStart                  []time.Duration
		extra                    time.Duration
		waited                   []time.Duration
		overhead, wait           string
		overheadMet, waitMet     bool
		overheadLacks, waitLacks string
	}{
		{name: "1% over, no noise", rdStart: steady, extra: 10 * ms, waited: waited,
			overhead: "+10.0 ms = +1.0% of 1000.0 ms (95% interval +1.0% … +1.0%)", overheadLacks: "contains 0",
			wait: "p50 5.0 ms per pod = 0.50% of 1000.0 ms (mean 14.2 ms = 1.42%, max 60.0 ms)", waitMet: true},
		{name: "0.5% over", rdStart: steady, extra: 5 * ms, waited: waited,
			overhead: "+5.0 ms = +0.5% of 1000.0 ms", overheadMet: true, overheadLacks: "contains 0",
			wait: "0.50%", waitMet: true},
		{name: "1.5% over, within the noise", rdStart: noisy, extra: 15 * ms, waited: waited,
			overhead: "+15.0 ms = +1.5% of 1000.0 ms", overheadMet: true,
			wait: "0.50%", waitMet: true},
		{name: "the wait alone is over 1%", rdStart: steady, extra: 0, waited: []time.Duration{12 * ms, 12 * ms, 11 * ms},
			overhead: "+0.0 ms = +0.0%", overheadMet: true,
			wait: "p50 12.0 ms per pod = 1.20% of 1000.0 ms", waitMet: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rounds := 6
			samples, waits, decisions := startInput(rounds, c.rdStart, c.extra, c.waited)
			res := startResult(rounds, samples, waits, decisions, nil, 20*ms)
			if len(res.Targets) != 2 {
				t.Fatalf("%d targets", len(res.Targets))
			}
			o, w := res.Targets[0], res.Targets[1]
			if !strings.Contains(o.Measured, c.overhead) || o.Met != c.overheadMet {
				t.Errorf("overhead target: %q met=%v; want it to contain %q, met=%v", o.Measured, o.Met, c.overhead, c.overheadMet)
			}
			if c.overheadLacks != "" && strings.Contains(o.Measured, c.overheadLacks) {
				t.Errorf("overhead target %q must not say %q", o.Measured, c.overheadLacks)
			}
			if c.overheadLacks == "" && !strings.Contains(o.Measured, "contains 0") {
				t.Errorf("overhead target %q: its interval contains 0 and must say so", o.Measured)
			}
			if !strings.Contains(w.Measured, c.wait) || w.Met != c.waitMet {
				t.Errorf("wait target: %q met=%v; want it to contain %q, met=%v", w.Measured, w.Met, c.wait, c.waitMet)
			}
		})
	}
	samples, waits, decisions := startInput(3, []time.Duration{700 * ms}, 0, []time.Duration{ms, ms, ms})
	res := startResult(3, samples, waits, decisions, []string{"the filter differs in syscall mkdir"}, 20*ms)
	if !strings.Contains(strings.Join(res.Notes, "\n"), "Caveat: the filter differs in syscall mkdir.") {
		t.Error("a filter difference must be reported as a caveat")
	}
}

func TestMeanDuration(t *testing.T) {
	if got := meanDuration([]time.Duration{1, 2, 6}); got != 3 {
		t.Errorf("mean of 1,2,6 = %v", got)
	}
	if meanDuration(nil) != 0 {
		t.Error("mean of nothing")
	}
}

// ---- section 8: concurrency ----

// utHist is containerd's histogram of the observations (seconds), in
// Prometheus' default buckets.
func utHist(obs ...float64) *nriOp {
	bounds := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}
	o := &nriOp{Count: float64(len(obs))}
	for _, b := range bounds {
		n := 0.0
		for _, x := range obs {
			if x <= b {
				n++
			}
		}
		o.Buckets = append(o.Buckets, nriBucket{LE: b, N: n})
	}
	for _, x := range obs {
		o.Sum += x
	}
	return o
}

func TestWorstBound(t *testing.T) {
	w := nriLatency{
		"CreateContainer":             utHist(0.001, 0.003, 0.03),
		"ValidateContainerAdjustment": utHist(0.001, 0.2),
		"RemoveContainer":             utHist(3), // not one of the creation's calls
	}
	if got := worstBound(w); got != 0.25 {
		t.Errorf("worstBound = %v, want 0.25 (the validation call in (0.1, 0.25])", got)
	}
	delete(w, "ValidateContainerAdjustment")
	if got := worstBound(w); got != 0.05 {
		t.Errorf("without validation: worstBound = %v, want 0.05", got)
	}
	w["CreateContainer"] = utHist(12)
	if got := worstBound(w); !math.IsInf(got, 1) {
		t.Errorf("a call past 10 s: worstBound = %v, want +Inf", got)
	}
}

func TestConcurrencyResultTarget(t *testing.T) {
	ms := time.Millisecond
	burstOf := func(wall time.Duration, each time.Duration) burst {
		b := burst{wall: wall}
		for i := range concurrentCreations {
			b.each = append(b.each, each+time.Duration(i)*ms)
		}
		return b
	}
	with := []burst{burstOf(400*ms, 100*ms), burstOf(420*ms, 110*ms)}
	without := []burst{burstOf(300*ms, 80*ms), burstOf(310*ms, 90*ms)}
	calls := func(worst time.Duration) []time.Duration {
		out := []time.Duration{worst}
		for i := 1; i < concurrentCreations; i++ {
			out = append(out, time.Duration(i)*ms)
		}
		return out
	}
	seconds := func(ds []time.Duration) []float64 {
		var out []float64
		for _, d := range ds {
			out = append(out, d.Seconds())
		}
		return out
	}
	var own []time.Duration
	for range concurrentCreations {
		own = append(own, 50*time.Microsecond)
	}
	for _, c := range []struct {
		name                string
		tappedWorst         time.Duration
		containerdWorst     float64 // seconds
		met                 bool
		measured, ctrdBound string
	}{
		{"well under 10%", 150 * ms, 0.16, true, "150.0 ms of 2s = 7.50%", "≤ 250.0 ms"},
		{"the relay's worst over 10%", 250 * ms, 0.26, false, "250.0 ms of 2s = 12.50%", "≤ 500.0 ms"},
		// The relay misses nothing containerd times, but should the two
		// disagree, containerd's histogram placing the slowest call entirely
		// above the limit fails the target too.
		{"containerd's worst surely over 10%", 150 * ms, 0.3, false, "150.0 ms of 2s = 7.50%", "≤ 500.0 ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tapped := map[string][]time.Duration{
				"CreateContainer":             calls(c.tappedWorst),
				"ValidateContainerAdjustment": calls(2 * ms),
			}
			waited := nriLatency{
				"CreateContainer":             utHist(append(seconds(calls(ms))[1:], c.containerdWorst)...),
				"ValidateContainerAdjustment": utHist(seconds(calls(2 * ms))...),
			}
			res, err := concurrencyResult(3, 2*time.Second, with, without, waited, tapped, own)
			if err != nil {
				t.Fatal(err)
			}
			tg := res.Targets[0]
			if tg.Met != c.met || !strings.Contains(tg.Measured, c.measured) || !strings.Contains(tg.Measured, "(containerd: "+c.ctrdBound+")") {
				t.Errorf("target %q met=%v; want met=%v with %q and containerd %q", tg.Measured, tg.Met, c.met, c.measured, c.ctrdBound)
			}
			if got := res.Tables[0].Rows[2][1]; got != Ratio(410, 305) {
				t.Errorf("with/without wall ratio %q, want %q (medians 410 and 305 ms)", got, Ratio(410, 305))
			}
		})
	}
}

// ---- section 4: syscalls ----

const (
	utAllow = seccompbpf.RetAllow
	utErrno = seccompbpf.RetErrno | 1
	utKill  = seccompbpf.RetKillProcess
	utX8664 = 0xc000003e
	utI386  = 0x40000003
)

// utData is struct seccomp_data as sysRunBPF takes it.
func utData(nr, arch uint32, args ...uint64) [16]uint32 {
	var d [16]uint32
	d[0], d[1], d[2], d[3] = nr, arch, 0x401000, 0
	for i, a := range args {
		d[4+2*i], d[5+2*i] = uint32(a), uint32(a>>32)
	}
	return d
}

func utAssemble(t *testing.T, ins ...bpf.Instruction) []bpf.RawInstruction {
	t.Helper()
	raw, err := bpf.Assemble(ins)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The programs the interpreter is checked on: a syscall-number switch, an
// architecture check with a mask and an unconditional jump, an argument
// check, and the X register, scratch memory and every ALU operation.
func utPrograms(t *testing.T) map[string][]bpf.RawInstruction {
	return map[string][]bpf.RawInstruction{
		"number": utAssemble(t,
			bpf.LoadAbsolute{Off: 0, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 39, SkipFalse: 1},
			bpf.RetConstant{Val: utAllow},
			bpf.RetConstant{Val: utErrno}),
		"arch": utAssemble(t,
			bpf.LoadAbsolute{Off: 4, Size: 4},                             // 0
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: utX8664, SkipTrue: 5}, // 1 → 7
			bpf.LoadAbsolute{Off: 0, Size: 4},                             // 2
			bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x40000000},          // 3
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 1},          // 4 → 6
			bpf.RetConstant{Val: utErrno},                                 // 5
			bpf.Jump{Skip: 1},                                             // 6 → 8
			bpf.RetConstant{Val: utKill},                                  // 7
			bpf.RetConstant{Val: utAllow}),                                // 8
		"argument": utAssemble(t,
			bpf.LoadAbsolute{Off: 0, Size: 4},                      // 0
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 135, SkipTrue: 1}, // 1 → 3
			bpf.RetConstant{Val: utAllow},                          // 2
			bpf.LoadAbsolute{Off: 16, Size: 4},                     // 3: args[0], low word
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 8, SkipFalse: 1},  // 4 → 6
			bpf.RetConstant{Val: utAllow},                          // 5
			bpf.RetConstant{Val: utErrno}),                         // 6
		"conditions": utAssemble(t,
			bpf.LoadAbsolute{Off: 16, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x80000000, SkipTrue: 5},
			bpf.JumpIf{Cond: bpf.JumpLessThan, Val: 10, SkipTrue: 3},
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: 20000, SkipTrue: 3},
			bpf.JumpIf{Cond: bpf.JumpLessOrEqual, Val: 12345, SkipTrue: 3},
			bpf.RetConstant{Val: 1},
			bpf.RetConstant{Val: 2},
			bpf.RetConstant{Val: 3},
			bpf.RetConstant{Val: 4}),
		"registers": utAssemble(t,
			bpf.LoadAbsolute{Off: 0, Size: 4},
			bpf.StoreScratch{Src: bpf.RegA, N: 3},
			bpf.LoadConstant{Dst: bpf.RegX, Val: 7},
			bpf.ALUOpX{Op: bpf.ALUOpAdd},
			bpf.TAX{},
			bpf.LoadScratch{Dst: bpf.RegA, N: 3},
			bpf.ALUOpConstant{Op: bpf.ALUOpMul, Val: 3},
			bpf.JumpIfX{Cond: bpf.JumpGreaterThan, SkipTrue: 1},
			bpf.RetA{},
			bpf.TXA{},
			bpf.RetA{}),
		"alu constants": utAssemble(t,
			bpf.LoadAbsolute{Off: 16, Size: 4},
			bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 5},
			bpf.ALUOpConstant{Op: bpf.ALUOpSub, Val: 2},
			bpf.ALUOpConstant{Op: bpf.ALUOpMul, Val: 3},
			bpf.ALUOpConstant{Op: bpf.ALUOpDiv, Val: 2},
			bpf.ALUOpConstant{Op: bpf.ALUOpOr, Val: 0x100},
			bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xfff},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 3},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: 1000},
			bpf.ALUOpConstant{Op: bpf.ALUOpXor, Val: 0x55},
			bpf.RetA{}),
		"alu x": utAssemble(t,
			bpf.LoadAbsolute{Off: 24, Size: 4}, // args[1]
			bpf.TAX{},
			bpf.LoadAbsolute{Off: 16, Size: 4}, // args[0]
			bpf.ALUOpX{Op: bpf.ALUOpXor},
			bpf.ALUOpX{Op: bpf.ALUOpSub},
			bpf.ALUOpX{Op: bpf.ALUOpOr},
			bpf.ALUOpX{Op: bpf.ALUOpShiftRight},
			bpf.ALUOpX{Op: bpf.ALUOpMod}, // by zero when args[1] is 0: the program returns 0
			bpf.ALUOpX{Op: bpf.ALUOpDiv},
			bpf.JumpIfX{Cond: bpf.JumpEqual, SkipTrue: 1},
			bpf.RetA{},
			bpf.LoadExtension{Num: bpf.ExtLen},
			bpf.RetA{}),
	}
}

// sysRunBPF must return what golang.org/x/net/bpf's VM returns for every
// program and input.
func TestSysRunBPFMatchesTheVM(t *testing.T) {
	var inputs [][16]uint32
	for _, nr := range []uint32{0, 39, 135, 0x40000001, 500} {
		for _, arch := range []uint32{utX8664, utI386} {
			for _, a0 := range []uint64{0, 8, 9, 12345, 54321, 0xffffffff} {
				for _, a1 := range []uint64{0, 3, 0x80000001} {
					inputs = append(inputs, utData(nr, arch, a0, a1))
				}
			}
		}
	}
	for name, prog := range utPrograms(t) {
		vm, err := bpf.NewVM(mustDisassemble(t, prog))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, d := range inputs {
			var b [64]byte
			for i, w := range d {
				binary.BigEndian.PutUint32(b[4*i:], w)
			}
			want, err := vm.Run(b[:])
			if err != nil {
				t.Fatalf("%s: VM: %v", name, err)
			}
			got, steps, _, err := sysRunBPF(prog, d)
			if err != nil || got != uint32(want) || steps < 1 || steps > len(prog) {
				t.Fatalf("%s on nr %#x arch %#x args %#x %#x: sysRunBPF = %#x after %d steps, %v; the VM returns %#x",
					name, d[0], d[1], d[4], d[6], got, steps, err, uint32(want))
			}
		}
	}
}

func mustDisassemble(t *testing.T, raw []bpf.RawInstruction) []bpf.Instruction {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("program does not disassemble")
	}
	return ins
}

// The step count and the action-cache verdict follow the path taken.
func TestSysRunBPFStepsAndCache(t *testing.T) {
	progs := utPrograms(t)
	for _, c := range []struct {
		prog      string
		data      [16]uint32
		ret       uint32
		steps     int
		cacheable bool
	}{
		{"number", utData(39, utX8664), utAllow, 3, true},
		{"number", utData(40, utX8664), utErrno, 3, true},
		{"arch", utData(39, utX8664), utAllow, 7, true},
		{"arch", utData(39, utI386), utKill, 3, true},
		{"arch", utData(0x40000001, utX8664), utErrno, 6, true},
		// The argument is loaded only on personality's path.
		{"argument", utData(39, utX8664, 8), utAllow, 3, true},
		{"argument", utData(135, utX8664, 8), utAllow, 5, false},
		{"argument", utData(135, utX8664, 0xffffffff), utErrno, 5, false},
		// 3nr against nr+7: returns 3nr, or nr+7 when 3nr is greater.
		{"registers", utData(2, utX8664), 6, 9, false},
		{"registers", utData(3, utX8664), 9, 9, false},
		{"registers", utData(4, utX8664), 11, 10, false},
	} {
		ret, steps, cacheable, err := sysRunBPF(progs[c.prog], c.data)
		if err != nil || ret != c.ret || steps != c.steps || cacheable != c.cacheable {
			t.Errorf("%s, nr %d, arg %#x: ret %#x, %d steps, cacheable %v, %v; want %#x, %d, %v",
				c.prog, c.data[0], c.data[4], ret, steps, cacheable, err, c.ret, c.steps, c.cacheable)
		}
	}
	// Instructions golang.org/x/net/bpf cannot assemble: RET X and NEG.
	raw := []bpf.RawInstruction{{Op: 0x01, K: 77}, {Op: 0x0e}} // LDX IMM 77; RET X
	if ret, steps, cacheable, err := sysRunBPF(raw, utData(0, utX8664)); err != nil || ret != 77 || steps != 2 || cacheable {
		t.Errorf("RET X: %d, %d, %v, %v", ret, steps, cacheable, err)
	}
	raw = []bpf.RawInstruction{{Op: 0x00, K: 5}, {Op: 0x84}, {Op: 0x16}} // LD IMM 5; NEG; RET A
	if ret, _, _, err := sysRunBPF(raw, utData(0, utX8664)); err != nil || ret != uint32(0xfffffffb) {
		t.Errorf("NEG of 5: %#x, %v", ret, err)
	}
	// RET A is not a constant return: the cache cannot answer.
	raw = []bpf.RawInstruction{{Op: 0x20, K: 0}, {Op: 0x16}}
	if _, _, cacheable, err := sysRunBPF(raw, utData(0x7fff0000, utX8664)); err != nil || cacheable {
		t.Errorf("RET A: cacheable %v, %v", cacheable, err)
	}
}

func TestSysRunBPFErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		prog []bpf.RawInstruction
		want string
	}{
		{"unaligned load", []bpf.RawInstruction{{Op: 0x20, K: 2}, {Op: 0x06, K: utAllow}}, "offset 2"},
		{"load past seccomp_data", []bpf.RawInstruction{{Op: 0x20, K: 64}, {Op: 0x06, K: utAllow}}, "offset 64"},
		{"half-word load", []bpf.RawInstruction{{Op: 0x28, K: 0}, {Op: 0x06, K: utAllow}}, "unknown load"},
		{"unknown jump", []bpf.RawInstruction{{Op: 0x55, K: 0}, {Op: 0x06, K: utAllow}}, "unknown jump"},
		{"unknown alu", []bpf.RawInstruction{{Op: 0xb4, K: 0}, {Op: 0x06, K: utAllow}}, "unknown alu"},
		{"no return", []bpf.RawInstruction{{Op: 0x20, K: 0}}, "ran off the end"},
		{"jump past the end", []bpf.RawInstruction{{Op: 0x15, K: 1, Jt: 0, Jf: 0}}, "ran off the end"},
		{"empty", nil, "ran off the end"},
	} {
		if _, _, _, err := sysRunBPF(c.prog, utData(0, utX8664)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

// On containerd's RuntimeDefault as libseccomp compiles it, the
// interpreter agrees with the VM for every syscall number, and the two
// calls section 4 times behave as its captions say.
func TestSysTraceRuntimeDefault(t *testing.T) {
	t.Parallel()
	b, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := seccompbpf.Compile(b["runtime-default"])
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []struct {
		a     specs.Arch
		token uint32
	}{{specs.ArchX86_64, utX8664}, {specs.ArchX86, utI386}} {
		for nr := range 460 {
			args := [6]uint64{0xffffffff, 1, 2, 3, 4, 5}
			want, err := prog.Run(arch.a, nr, args)
			if err != nil {
				t.Fatal(err)
			}
			got, _, _, err := sysRunBPF(prog.Raw, utData(uint32(nr), arch.token, args[:]...))
			if err != nil || got != want {
				t.Fatalf("%s nr %d: sysRunBPF %#x, %v; VM %#x", arch.a, nr, got, err, want)
			}
		}
	}
	g, err := sysTrace(prog, "getpid")
	if err != nil {
		t.Fatal(err)
	}
	p, err := sysTrace(prog, "personality")
	if err != nil {
		t.Fatal(err)
	}
	if !g.cacheable || p.cacheable {
		t.Errorf("cacheable: getpid %v, personality(0xffffffff) %v; want true and false", g.cacheable, p.cacheable)
	}
	if g.steps < 3 || p.steps <= 3 || p.steps > prog.Len() || g.steps > prog.Len() {
		t.Errorf("steps: getpid %d, personality %d of %d", g.steps, p.steps, prog.Len())
	}
	if _, err := sysTrace(prog, "no_such_call"); err == nil {
		t.Error("an unknown syscall name must be an error")
	}
	// A filter that refuses the call cannot time it.
	deny, err := seccompbpf.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActErrno}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sysTrace(deny, "getpid"); err == nil || !strings.Contains(err.Error(), "not ALLOW") {
		t.Errorf("a refused call: %v", err)
	}
	if _, err := sysTrace(deny, "personality"); err != nil {
		t.Errorf("an allowed call under an allow-default filter: %v", err)
	}
}

func TestSysQuantile(t *testing.T) {
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 3}, {0.5, 5}, {0.75, 8}, {1, 10}} {
		if got := sysQuantile(xs, c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	if xs[0] != 10 {
		t.Error("sysQuantile reordered its input")
	}
	if !math.IsNaN(sysQuantile(nil, 0.5)) {
		t.Error("no samples: NaN, not a number")
	}
}

// ---- sections 2 and 6: NRI helpers ----

func TestProcStatusMemory(t *testing.T) {
	rss, hwm, err := procStatusMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// In bytes: a Go test binary has more than a MiB resident, and its
	// status says so in kB.
	if rss < 1<<20 || hwm < rss || rss%1024 != 0 {
		t.Errorf("VmRSS %d, VmHWM %d bytes", rss, hwm)
	}
	if _, _, err := procStatusMemory(1 << 30); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a pid that does not exist: %v", err)
	}
	// A process that has exited but not been waited for has a status without
	// any Vm lines.
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait() //nolint:errcheck // only reaping it
	statPath := fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(statPath)
		if err != nil {
			t.Fatal(err)
		}
		if _, after, _ := strings.Cut(string(b), ") "); strings.HasPrefix(after, "Z") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/bin/true did not exit")
		}
	}
	if _, _, err := procStatusMemory(cmd.Process.Pid); err == nil || !strings.Contains(err.Error(), "VmRSS") {
		t.Errorf("a zombie's status: %v; want an error naming VmRSS", err)
	}
	if _, _, err := procStatusRSSSplit(cmd.Process.Pid); err == nil || !strings.Contains(err.Error(), "RssAnon") {
		t.Errorf("a zombie's status: %v; want an error naming RssAnon", err)
	}
}

// VmRSS divides into anonymous and file pages (and shared memory, none in a
// Go test binary worth a MiB): the two parts add up to about the whole.
func TestProcStatusRSSSplit(t *testing.T) {
	anon, file, err := procStatusRSSSplit(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	rss, _, err := procStatusMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if anon <= 0 || file <= 0 || anon%1024 != 0 || file%1024 != 0 {
		t.Fatalf("RssAnon %d, RssFile %d bytes", anon, file)
	}
	// Read at two moments: allow the heap to move a little in between.
	if d := rss - anon - file; d < -1<<20 || d > 1<<20 {
		t.Errorf("VmRSS %d is not RssAnon %d + RssFile %d", rss, anon, file)
	}
}

func TestGoMemStats(t *testing.T) {
	const good = `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 4.358144e+06
go_gc_duration_seconds{quantile="0.5"} 0.0001
go_memstats_heap_inuse_bytes_total 7
# TYPE go_memstats_sys_bytes gauge
go_memstats_sys_bytes 1.2933136e+07
`
	for _, c := range []struct {
		name, body string
		status     int
		heap, sys  int64
		wantErr    string
	}{
		{name: "prometheus client output", body: good, heap: 4358144, sys: 12933136},
		{name: "sys missing", body: "go_memstats_heap_inuse_bytes 4\n", wantErr: "go_memstats_sys_bytes"},
		{name: "malformed value", body: "go_memstats_heap_inuse_bytes 4\ngo_memstats_sys_bytes 12MB\n", wantErr: "go_memstats_sys_bytes"},
		{name: "empty", body: "", wantErr: "go_memstats"},
		{name: "server error", body: "internal error\n", status: http.StatusInternalServerError, wantErr: "/metrics"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/metrics" {
					http.NotFound(w, r)
					return
				}
				if c.status != 0 {
					w.WriteHeader(c.status)
				}
				fmt.Fprint(w, c.body)
			}))
			defer srv.Close()
			log := filepath.Join(t.TempDir(), "plugin.log")
			lines := "starting\n" + `{"level":"info","msg":"serving metrics"}` + "\n" +
				`{"level":"info","msg":"serving metrics","addr":"` + strings.TrimPrefix(srv.URL, "http://") + `"}` + "\n"
			if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &pluginProc{name: "nri-seccomp", logPath: log}
			heap, sys, err := p.goMemStats(t.Context())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %d, %d, %v; want an error containing %q", heap, sys, err, c.wantErr)
				}
				return
			}
			if err != nil || heap != c.heap || sys != c.sys {
				t.Fatalf("got %d, %d, %v; want %d, %d", heap, sys, err, c.heap, c.sys)
			}
		})
	}
	noAddr := filepath.Join(t.TempDir(), "plugin.log")
	if err := os.WriteFile(noAddr, []byte(`{"msg":"serving metrics"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (&pluginProc{name: "x", logPath: noAddr}).metricsURL(); err == nil {
		t.Error("a log without the metrics address must be an error")
	}
	if _, err := (&pluginProc{name: "x", logPath: filepath.Join(t.TempDir(), "none")}).metricsURL(); err == nil {
		t.Error("a missing log must be an error")
	}
}

func TestPluginEnv(t *testing.T) {
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", stubKindEnv, stubSocketEnv, stubAnswersEnv} {
		t.Setenv(k, "x")
	}
	t.Setenv("GOGCX", "kept")
	env := pluginEnv([]string{"GOMEMLIMIT=32MiB", "A=1"})
	for _, kv := range env[:len(env)-2] {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", stubKindEnv, stubSocketEnv, stubAnswersEnv:
			t.Errorf("%s passed on to the plugin", kv)
		}
	}
	if !slices.Equal(env[len(env)-2:], []string{"GOMEMLIMIT=32MiB", "A=1"}) {
		t.Errorf("extra variables must come last, as given: %q", env[len(env)-2:])
	}
	if !slices.Contains(env, "GOGCX=kept") || !slices.Contains(env, "PATH="+os.Getenv("PATH")) {
		t.Error("other variables must be kept")
	}
}

func TestNRIHexID(t *testing.T) {
	a := nriHexID("container", "1/uid/app")
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("id %q is not 64 hex digits", a)
	}
	if nriHexID("container", "1/uid/app") != a {
		t.Error("not stable")
	}
	seen := map[string]bool{}
	for _, parts := range [][]string{{"container", "1/uid/app"}, {"container", "2/uid/app"}, {"sandbox", "1/uid/app"},
		{"1/uid/app", "container"}, {}} {
		id := nriHexID(parts...)
		if seen[id] {
			t.Errorf("%q collides", parts)
		}
		seen[id] = true
	}
}

// The requests the bench sends look to nri-seccomp as meant: the profile
// type and policy it decides on, the image its rules match, fresh ids.
func TestNRIRequests(t *testing.T) {
	rd, err := runtimeDefaultNRI()
	if err != nil {
		t.Fatal(err)
	}
	pod := nriPod(nriPodSpec{Namespace: "shop", Name: "web-1", UID: "0123456789abcdef0123456789abcdef", Labels: map[string]string{"app": "web"}}, 7)
	for _, c := range []struct {
		profile api.SecurityProfile_ProfileType
		policy  *api.LinuxSeccomp
		want    profile.Type
	}{{api.SecurityProfile_RUNTIME_DEFAULT, rd, profile.TypeRuntimeDefault}, {api.SecurityProfile_UNCONFINED, nil, profile.TypeUnconfined}} {
		ctr := nriContainer(pod, "app", "registry.example.com/shop/web:1.4.2", 7, c.profile, c.policy)
		if ctr.GetPodSandboxId() != pod.GetId() || !strings.HasPrefix(ctr.GetLinux().GetCgroupsPath(), pod.GetLinux().GetCgroupParent()+"/") {
			t.Error("container not tied to its pod")
		}
		in := convert.InputFromNRI(pod, ctr)
		if in.ProfileType != c.want || (in.Current != nil) != (c.policy != nil) {
			t.Errorf("%v container: the plugin sees profile type %q, current %v", c.profile, in.ProfileType, in.Current != nil)
		}
		if in.Image != "registry.example.com/shop/web:1.4.2" || in.Namespace != "shop" || in.Labels["app"] != "web" || in.Container != "app" {
			t.Errorf("the plugin sees %+v", in)
		}
	}
	if len(rd.GetSyscalls()) == 0 || rd.GetDefaultAction() == "" {
		t.Error("runtime-default as NRI carries it is empty")
	}
}

func TestLogTail(t *testing.T) {
	p := &pluginProc{logPath: filepath.Join(t.TempDir(), "log")}
	if err := os.WriteFile(p.logPath, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := p.logTail(2); got != "c\nd" {
		t.Errorf("logTail(2) = %q", got)
	}
	if got := p.logTail(10); got != "a\nb\nc\nd" {
		t.Errorf("logTail(10) = %q", got)
	}
}

// ---- section 6: memory ----

func TestMemoryPolicy(t *testing.T) {
	t.Parallel()
	// The section's policy has the 1000 rules it reports.
	if n := strings.Count(memoryPolicy(memTeams), "\n- name: "); n != 1000 {
		t.Fatalf("%d rules, want 1000", n)
	}
	// 100 teams have every variant of a team rule (every 5th, 7th, 9th,
	// 11th, 13th, 50th, and the whole deny pool); parsing all 997 takes
	// most of a second under the race detector.
	const teams = 100
	b, err := engine.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(memoryPolicy(teams)), "memory-policy.yaml", policy.Options{Builtins: b})
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Rules) != teams+3 {
		t.Fatalf("%d rules, want %d", len(pol.Rules), teams+3)
	}
	names := map[string]*policy.Rule{}
	count := map[policy.Action]int{}
	for _, r := range pol.Rules {
		if names[r.Name] != nil {
			t.Errorf("rule %s twice", r.Name)
		}
		names[r.Name] = r
		count[r.Action]++
	}
	if pol.Rules[0].Name != "node-agents" || pol.Rules[teams+1].Name != "runtime-default-for-unconfined" || pol.Rules[teams+2].Name != "floor" {
		t.Error("the shipped rules must come first and last")
	}
	// Every 50th team is exempt (49 and 99, and node-agents); every 9th
	// team an inject of hardened unless exempt (0, 9, ..., 90: 11, and
	// runtime-default-for-unconfined); the rest tighten (and floor).
	if count[policy.ActionExempt] != 2+1 || count[policy.ActionInject] != 11+1 || count[policy.ActionTighten] != teams+3-3-12 {
		t.Errorf("rules by action: %v", count)
	}
	for _, c := range []struct {
		name    string
		action  policy.Action
		mode    policy.Mode
		profile string
		deny    int
	}{
		{"team-0", policy.ActionInject, policy.ModeEnforce, "hardened", 1},
		{"team-5", policy.ActionTighten, policy.ModeEnforce, "hardened", 3},
		{"team-7", policy.ActionTighten, policy.ModeAudit, "", 2},
		{"team-49", policy.ActionExempt, "", "", 0},
	} {
		r := names[c.name]
		if r == nil {
			t.Fatalf("no rule %s", c.name)
		}
		mode := r.Mode
		if c.action == policy.ActionExempt {
			mode = ""
		}
		if r.Action != c.action || mode != c.mode || r.Profile != c.profile || len(r.Deny) != c.deny {
			t.Errorf("%s: %s %s profile %q, %d denied; want %s %s %q, %d", c.name, r.Action, r.Mode, r.Profile, len(r.Deny), c.action, c.mode, c.profile, c.deny)
		}
	}
}

func TestMemWorkloadDeterministic(t *testing.T) {
	t.Parallel()
	rd, err := runtimeDefaultNRI()
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	a, b := newMemWorkload(rd), newMemWorkload(rd)
	ids := map[string]bool{}
	pods := map[*api.PodSandbox]bool{}
	unconfined, kubeSystem, misc := 0, 0, 0
	for i := range n {
		x, y := a.next(), b.next()
		if x.pod.GetId() != y.pod.GetId() || x.pod.GetName() != y.pod.GetName() || x.ctr.GetId() != y.ctr.GetId() ||
			x.ctr.GetName() != y.ctr.GetName() || x.ctr.GetLinux().GetSeccompProfile().GetProfileType() != y.ctr.GetLinux().GetSeccompProfile().GetProfileType() ||
			(x.want == nil) != (y.want == nil) || (x.want != nil && *x.want != *y.want) {
			t.Fatalf("request %d differs between two workloads", i)
		}
		if ids[x.ctr.GetId()] {
			t.Fatalf("container id %s twice", x.ctr.GetId())
		}
		ids[x.ctr.GetId()] = true
		pods[x.pod] = true
		if x.ctr.GetLinux().GetSeccompPolicy() == nil {
			unconfined++
			if x.ctr.GetLinux().GetSeccompProfile().GetProfileType() != api.SecurityProfile_UNCONFINED {
				t.Fatal("a container without a policy must say Unconfined")
			}
		}
		switch ns := x.pod.GetNamespace(); {
		case ns == "kube-system":
			kubeSystem++
			if x.want == nil || *x.want {
				t.Fatal("kube-system is exempt: want must be false")
			}
		case strings.HasPrefix(ns, "misc-"):
			misc++
			if x.want == nil || !*x.want {
				t.Fatal("a namespace no team names gets the floor: want must be true")
			}
		default:
			if x.want != nil {
				t.Fatalf("team namespace %s: the answer depends on the team's rule", ns)
			}
		}
	}
	if a.pods() != b.pods() || a.pods() != len(pods) {
		t.Errorf("pods: %d and %d generated, %d distinct objects", a.pods(), b.pods(), len(pods))
	}
	// What the section's notes say of the workload.
	frac := func(k int) float64 { return float64(k) / n }
	if f := frac(unconfined); f < 0.25 || f > 0.35 {
		t.Errorf("%.2f of the containers without seccomp, the notes say 30%%", f)
	}
	if f := float64(a.pods()) / n; f < 0.65 || f > 0.75 {
		t.Errorf("%.2f of the requests are new pods, the generator aims at 70%%", f)
	}
	if f := frac(kubeSystem); f < 0.01 || f > 0.05 {
		t.Errorf("%.3f in kube-system, the notes say ~3%%", f)
	}
	if f := frac(misc); f < 0.03 || f > 0.07 {
		t.Errorf("%.3f in misc namespaces, the notes say ~5%%", f)
	}
}

// Where the workload claims to know the answer (kube-system exempt,
// namespaces no team names get the floor), the engine agrees, on a policy
// of the same shape with fewer teams.
func TestMemWorkloadWants(t *testing.T) {
	t.Parallel()
	rd, err := runtimeDefaultNRI()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(memoryPolicy(20)), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Load(path, engine.Options{Native: specs.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	w := newMemWorkload(rd)
	checked := map[bool]int{}
	for range 1000 {
		c := w.next()
		if c.want == nil {
			continue
		}
		d, err := e.Decide(convert.InputFromNRI(c.pod, c.ctr))
		if err != nil {
			t.Fatal(err)
		}
		if d.Changed != *c.want {
			t.Fatalf("%s/%s %s: engine changed=%v, workload wants %v", c.pod.GetNamespace(), c.pod.GetName(), c.ctr.GetName(), d.Changed, *c.want)
		}
		checked[*c.want]++
	}
	if checked[true] == 0 || checked[false] == 0 {
		t.Fatalf("checked %v: both kinds must occur", checked)
	}
}

// ---- section 5: filter size ----

func TestAllowedCallsAndRefusals(t *testing.T) {
	errno := uint(38)
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "write", "getpid"}, Action: specs.ActAllow},
		{Names: []string{"read"}, Action: specs.ActAllow},
		{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
		{Names: []string{"mkdir", "chmod"}, Action: specs.ActErrno},
		{Names: []string{"io_uring_setup"}, Action: specs.ActErrno, ErrnoRet: &errno},
		{Names: []string{"kexec_load"}, Action: specs.ActKillProcess},
	}}
	if got := allowedCalls(s); got != 4 {
		t.Errorf("allowedCalls = %d, want 4 (read, write, getpid, personality for some arguments)", got)
	}
	if got := allowedCalls(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: s.Syscalls}); got != -1 {
		t.Errorf("allow by default: %d, want -1", got)
	}
	if got := allowedCalls(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno}); got != 0 {
		t.Errorf("no rules: %d", got)
	}
	ref := explicitRefusals(s)
	want := []string{"chmod", "io_uring_setup", "kexec_load", "mkdir"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range ref {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("explicitRefusals = %q, want %q", got, want)
	}
	base := map[string]bool{"mkdir": true, "kexec_load": true}
	if got := newRefusals(s, base); !slices.Equal(got, []string{"chmod", "io_uring_setup"}) {
		t.Errorf("newRefusals = %q", got)
	}
	if got := newRefusals(s, ref); len(got) != 0 {
		t.Errorf("against itself: %q", got)
	}
}

// A rewrite of the report keeps what follows KeptMarker (the churn soak's
// figures), and nothing when there is no marker or no file.
func TestKeptTail(t *testing.T) {
	dir := t.TempDir()
	with := filepath.Join(dir, "with.md")
	if err := os.WriteFile(with, []byte("# Benchmarks\nold generated\n\n"+KeptMarker+"\n\n## Churn soak\nfigures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	without := filepath.Join(dir, "without.md")
	if err := os.WriteFile(without, []byte("# Benchmarks\nold generated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := keptTail(with), "\n"+KeptMarker+"\n\n## Churn soak\nfigures\n"; got != want {
		t.Errorf("with the marker: %q, want %q", got, want)
	}
	for _, p := range []string{without, filepath.Join(dir, "missing.md")} {
		if got := keptTail(p); got != "" {
			t.Errorf("%s: %q, want nothing", p, got)
		}
	}
}

// The probe's lines are read one per call, in order; a missing line, a
// line for another call, an error or a line without timing fail.
func TestSysParseLoops(t *testing.T) {
	line := func(call string, extra string) string {
		return fmt.Sprintf(`{"loop":%q,"ret":0,"iterations":10,"ns_per_op":[5,4],"min_ns":4,"seccomp":"2","seccomp_filters":"1"%s}`, call, extra)
	}
	ok := line("getpid", "") + "\n" + line("socket", `,"ret":-1,"kernel_errno":"EINVAL"`) + "\n"
	ls, err := sysParseLoops(ok, []string{"getpid", "socket"})
	if err != nil || len(ls) != 2 || ls[1].KernelErrno != "EINVAL" || ls[0].MinNs != 4 {
		t.Fatalf("got %+v, %v", ls, err)
	}
	for name, c := range map[string]struct {
		out  string
		want string
	}{
		"missing line": {line("getpid", ""), "1 lines, want 2"},
		"wrong call":   {line("getpid", "") + "\n" + line("clone", ""), `answered for "clone"`},
		"error":        {line("getpid", "") + "\n" + `{"error":"boom"}`, "boom"},
		"no timing":    {line("getpid", "") + "\n" + `{"loop":"socket","ns_per_op":[],"min_ns":0}`, "no timing"},
		"not json":     {line("getpid", "") + "\nnope", "line \"nope\""},
	} {
		if _, err := sysParseLoops(c.out, []string{"getpid", "socket"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

// The report puts both runcs side by side and judges the targets per runc.
func TestSysReportTwoRuncs(t *testing.T) {
	rts := sysRuntimes()
	samples := map[string]map[string][]float64{}
	var cts []*sysContainer
	for i, rt := range rts {
		for _, cfg := range sysConfigs {
			sc := &sysContainer{sysConfig: cfg, rt: rt}
			cts = append(cts, sc)
			samples[sc.id()] = map[string][]float64{}
			for _, call := range sysCalls {
				v := 100.0
				if cfg.key != sysNone && call != "getpid" {
					v = 150 - 20*float64(i) // runc 1.2 faster for checked calls
				}
				if cfg.key == sysHardened && call == "clone" && rt.key == "1.2.8" {
					v *= 1.2 // one profile slower under one runc
				}
				samples[sc.id()][call] = []float64{v, v}
			}
		}
	}
	res, err := sysReport(&Env{}, cts, samples, 2, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != 1+len(sysCalls) {
		t.Fatalf("%d tables, want the configurations and one per call", len(res.Tables))
	}
	clone := res.Tables[len(res.Tables)-1]
	if got := clone.Header[len(clone.Header)-1]; got != "runc 1.2.8 vs runc 1.1.5" {
		t.Errorf("last column %q", got)
	}
	for _, row := range clone.Rows {
		if row[0] == "hardened (nri-seccomp)" && (row[6] != "1.20x" || row[len(row)-1] != "1.04x") {
			t.Errorf("hardened clone row %v: want 1.20x RuntimeDefault under 1.2.8, 1.04x of itself under 1.1.5", row)
		}
	}
	if res.Targets[0].Met || !res.Targets[1].Met {
		t.Errorf("targets %+v: the slower profile must fail the first, getpid meets the second", res.Targets)
	}
	if !strings.Contains(res.Summary, "Under runc 1.2.8, from no filter") || !strings.Contains(res.Summary, "personality 0.87x") {
		t.Errorf("summary: %s", res.Summary)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "Missed: runc 1.2.8, hardened, clone measured 1.20x") }) {
		t.Errorf("notes do not explain the miss: %v", res.Notes)
	}
}

// The section's policy loads with the profile it writes beside it, and its
// x86_64-only rule injects runtime-default with that one architecture.
func TestSysPolicy(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	path, err := sysPolicy(&Env{Root: root, Work: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Load(path, engine.Options{Native: specs.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range sysConfigs {
		in := engine.Input{Namespace: cfg.namespace, Pod: "bench", Container: string(cfg.key), ProfileType: profile.Type(cfg.seccomp)}
		if cfg.seccomp == harness.SeccompRuntimeDefault {
			b, _ := engine.Builtins()
			in.Current = b["runtime-default"]
		}
		d, err := e.Decide(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Rules) != 1 || d.Rules[0].Name != cfg.rule || d.Changed != cfg.changed {
			t.Errorf("%s: rules %v changed %v, want [%s] changed %v", cfg.key, d.Rules, d.Changed, cfg.rule, cfg.changed)
		}
		if cfg.key == sysRD64 && !slices.Equal(d.Seccomp.Architectures, []specs.Arch{specs.ArchX86_64}) {
			t.Errorf("x86_64 only: architectures %v", d.Seccomp.Architectures)
		}
	}
}

// The CPU reading counts utime and stime after the command name, whatever
// the name holds, and refuses a line it cannot read.
func TestParseStatCPU(t *testing.T) {
	line := "4242 (nri-seccomp (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 100 0 0\n"
	got, err := parseStatCPU(line)
	if err != nil || got != 2870*time.Millisecond {
		t.Fatalf("parseStatCPU = %v, %v; want 2.87s", got, err)
	}
	for _, bad := range []string{"4242 nri-seccomp S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 500 0 0 0 -5 37 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Errorf("own process: %v", err)
	}
}
