package profile

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var killP = Verdict{Level: LevelKillProcess}

// A middle range stricter than the fallback and too wide to list: it and the
// side with fewer ranges take the strictest verdict among them (a prefix or
// suffix can be written); the difference is reported value by value.
func TestWidenStricterMiddle(t *testing.T) {
	exact := partition{segs: []seg{{0, 9, Allow}, {10, 200, killP}, {201, maxU, Allow}}}
	w := exact
	w.segs = slices.Clone(exact.segs)
	w.widen(Allow)
	if want := []seg{{0, 9, Allow}, {10, maxU, killP}}; !slices.Equal(w.segs, want) {
		t.Fatalf("widened to %v, want %v", w.segs, want)
	}
	sc, ok := w.syscall(Allow)
	if !ok || len(sc.Rules) != 1 || sc.Rules[0].Conds[0] != (Cond{Op: specs.OpGreaterEqual, Value: 10}) {
		t.Fatalf("written as %+v (%v)", sc, ok)
	}
	ws := diff("personality", exact, w)
	if len(ws) != 1 || ws[0].String() != "personality: calls with arg0 in {0xc9-0xffffffffffffffff} get SCMP_ACT_KILL_PROCESS; the exact result is SCMP_ACT_ALLOW (refused, though the exact result lets them run)" {
		t.Fatalf("notes %v", ws)
	}
}

// A middle range looser than the fallback takes the fallback.
func TestWidenLooserMiddle(t *testing.T) {
	exact := partition{segs: []seg{{0, 9, Allow}, {10, 200, EPERM}, {201, 300, Allow}, {301, maxU, EPERM}}}
	w := exact
	w.segs = slices.Clone(exact.segs)
	w.widen(EPERM)
	if want := []seg{{0, 9, Allow}, {10, maxU, EPERM}}; !slices.Equal(w.segs, want) {
		t.Fatalf("widened to %v, want %v", w.segs, want)
	}
}

func TestWriteShapes(t *testing.T) {
	for _, c := range []struct {
		name string
		p    partition
		fb   Verdict
		want []CondRule
	}{
		{"one value refused amid allowed: !=", partition{segs: []seg{{0, 39, Allow}, {40, 40, EPERM}, {41, maxU, Allow}}}, EPERM,
			[]CondRule{{Conds: []Cond{{Op: specs.OpNotEqual, Value: 40}}, Verdict: Allow}}},
		{"prefix, point, listed middle, suffix", partition{idx: 1, segs: []seg{{0, 3, Allow}, {4, 4, EPERM}, {5, 6, Allow}, {7, 0xffffffff, EPERM}, {1 << 32, maxU, Log}}}, EPERM,
			[]CondRule{
				{Conds: []Cond{{Index: 1, Op: specs.OpLessEqual, Value: 3}}, Verdict: Allow},
				{Conds: []Cond{{Index: 1, Op: specs.OpEqualTo, Value: 5}}, Verdict: Allow},
				{Conds: []Cond{{Index: 1, Op: specs.OpEqualTo, Value: 6}}, Verdict: Allow},
				{Conds: []Cond{{Index: 1, Op: specs.OpGreaterThan, Value: 0xffffffff}}, Verdict: Log},
			}},
		{"masked classes", partition{masked: true, mask: 0x7e020000, segs: []seg{{0, 0, Allow}}, other: EPERM, hasOther: true}, EPERM,
			[]CondRule{{Conds: []Cond{{Op: specs.OpMaskedEqual, Value: 0x7e020000}}, Verdict: Allow}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, failed := c.p.write(c.fb)
			if len(failed) > 0 || !slices.EqualFunc(got, c.want, func(a, b CondRule) bool { return a.Verdict == b.Verdict && slices.Equal(a.Conds, b.Conds) }) {
				t.Fatalf("write = %+v (failed %v), want %+v", got, failed, c.want)
			}
		})
	}
	// Unnamed classes needing a verdict other than the fallback cannot be
	// written.
	p := partition{masked: true, mask: 3, segs: []seg{{1, 1, Allow}}, other: EPERM, hasOther: true}
	if _, failed := p.write(Allow); len(failed) == 0 {
		t.Fatal("masked partition with other != fallback written")
	}
}
