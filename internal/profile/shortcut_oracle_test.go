//go:build cgo && linux

package profile_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// Intersect answers "a itself" without building the intersection when b
// changes nothing (unchangedBy). Over generated profiles and deny lists,
// whenever it takes that shortcut, the general path builds the same model
// with no notes; and the shortcut is taken often enough to be tested.
func TestIntersectShortcutIsExact(t *testing.T) {
	r := seed(t)
	taken := 0
	check := func(a, b *profile.Profile) {
		t.Helper()
		if !profile.UnchangedBy(a, b) {
			return
		}
		taken++
		got, notes, err := profile.IntersectGeneral(a, b)
		if err != nil || len(notes) > 0 || !profile.Equal(got, a) {
			t.Fatalf("shortcut taken, but the general path gives %+v (notes %v, err %v) for a=%+v b=%+v", got, notes, err, a, b)
		}
	}
	for range 3 * iterations {
		a := model(t, genProfile1(r))
		b := model(t, genProfile1(r))
		check(a, b)
		check(b, a)
		check(a, profile.AllowAll())
		var deny []profile.Deny
		for range 1 + r.IntN(3) {
			act, errno := genVerdict(r)
			v, _ := profile.VerdictOf(act, errno)
			deny = append(deny, profile.Deny{Name: genNames[r.IntN(len(genNames))], Verdict: v})
		}
		check(a, profile.DenyList(deny))
	}
	t.Logf("shortcut taken %d times", taken)
	if taken < iterations/2 {
		t.Fatalf("shortcut taken only %d times: the test proves little", taken)
	}
}

// Models are never modified once built: the caches in internal/engine hand the
// same *Profile to every decision, and Intersect returns or shares its
// inputs' entries. Over generated profiles and deny lists, every operation
// of the algebra leaves its inputs equal to freshly built copies.
func TestAlgebraLeavesInputsAlone(t *testing.T) {
	r := seed(t)
	for range iterations {
		sa, sb := genProfile1(r), genProfile1(r)
		var deny []profile.Deny
		for range 1 + r.IntN(3) {
			act, errno := genVerdict(r)
			v, _ := profile.VerdictOf(act, errno)
			deny = append(deny, profile.Deny{Name: genNames[r.IntN(len(genNames))], Verdict: v})
		}
		a, b, d := model(t, sa), model(t, sb), profile.DenyList(deny)
		var withAB *profile.Profile
		for i, pair := range [][2]*profile.Profile{{a, b}, {b, a}, {a, d}, {d, b}, {a, profile.AllowAll()}} {
			with, _, err := profile.IntersectDetail(pair[0], pair[1])
			if err != nil {
				continue // no architecture in common
			}
			res, _ := profile.Audit(pair[0], with)
			res.ToSpec(specs.ArchX86_64)
			with.ToSpec(specs.ArchX86_64)
			profile.Equal(with, res)
			if i == 0 {
				withAB = with
			}
		}
		for name, c := range map[string][2]*profile.Profile{
			"a": {a, model(t, sa)}, "b": {b, model(t, sb)}, "deny list": {d, profile.DenyList(deny)},
		} {
			if !profile.Equal(c[0], c[1]) {
				t.Fatalf("the algebra modified its input %s:\na %s\nb %s\ndeny %v", name, dump(sa), dump(sb), deny)
			}
		}
		if withAB == nil {
			continue
		}
		// And a result stays as it was built while later operations use it.
		again, _, err := profile.IntersectDetail(model(t, sa), model(t, sb))
		if err != nil || !profile.Equal(withAB, again) {
			t.Fatalf("a result was modified after it was built:\na %s\nb %s", dump(sa), dump(sb))
		}
	}
}
