package profile

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestTypeOf(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	for _, tc := range []struct {
		s        *specs.LinuxSeccomp
		reported Type
		want     Type
	}{
		{nil, TypeNone, TypeUnconfined},
		{nil, TypeRuntimeDefault, TypeUnconfined}, // NRI's zero value, no section: none
		{nil, TypeLocalhost, TypeUnconfined},
		{s, TypeNone, TypeUnconfined},
		{s, TypeUnconfined, TypeUnconfined},
		{s, TypeRuntimeDefault, TypeRuntimeDefault},
		{s, TypeLocalhost, TypeLocalhost},
	} {
		if got := TypeOf(tc.s, tc.reported); got != tc.want {
			t.Errorf("TypeOf(%v, %q) = %q, want %q", tc.s != nil, tc.reported, got, tc.want)
		}
	}
	if got := TypeNames(); len(got) != 3 || got[0] != "Unconfined" || got[1] != "RuntimeDefault" || got[2] != "Localhost" {
		t.Errorf("TypeNames() = %v", got)
	}
}
