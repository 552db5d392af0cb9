package profile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/policies"
)

// FuzzParseProfile feeds the one profile reader arbitrary bytes, OCI and
// Docker format alike (seeds in testdata/fuzz/FuzzParseProfile and the
// built-in profiles; `go test` runs them, `go test -fuzz` explores). The
// reader must never panic; whatever it refuses it refuses with problems;
// whatever it accepts validates, and reads back the same once written out as
// OCI JSON, so nothing accepted depends on how it happened to be spelt.
func FuzzParseProfile(f *testing.F) {
	for _, name := range policies.ProfileNames() {
		b, _ := policies.Profile(name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := profile.Parse(data)
		if err != nil {
			var ve *profile.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("refused without problems: %T %v", err, err)
			}
			if !errors.Is(err, profile.ErrInvalidProfile) {
				t.Fatalf("error does not wrap ErrInvalidProfile: %v", err)
			}
			return
		}
		if err := profile.Validate(s); err != nil {
			t.Fatalf("accepted but invalid: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := profile.Parse(out)
		if err != nil {
			t.Fatalf("accepted %q, but not its OCI form %s: %v", data, out, err)
		}
		out2, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the profile:\n%s\n%s", out, out2)
		}
	})
}

// The seed corpus says what it holds: "bad-" seeds are refused, the others
// accepted, so the round trip is exercised on real profiles of both formats.
func TestFuzzSeedsAsNamed(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParseProfile")
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// The file is "go test fuzz v1\n[]byte(QUOTED)\n".
		lines := strings.SplitN(string(b), "\n", 3)
		q := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		data, err := strconv.Unquote(q)
		if err != nil {
			t.Fatalf("%s: %v", de.Name(), err)
		}
		_, err = profile.Parse([]byte(data))
		if bad := strings.HasPrefix(de.Name(), "bad-"); bad != (err != nil) {
			t.Errorf("%s: error %v", de.Name(), err)
		}
	}
}
