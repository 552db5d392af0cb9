//go:build cgo && linux

package profile_test

import (
	"testing"

	"github.com/nri-seccomp/nri-seccomp/pkg/profile"
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
