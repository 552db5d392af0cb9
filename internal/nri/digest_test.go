package nri

import (
	"context"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/testutil"
)

// The decision log's digest is of the section the container runs with, the
// one containerd writes into its spec, so that posture finds it as-decided:
// a default errno other than EPERM, which NRI drops on the way, must not
// make the two differ. A section NRI passes on whole keeps the engine's
// digest.
func TestRecordDigestIsOfTheWrittenSection(t *testing.T) {
	enosys := denyProfile("bpf")
	enosys.DefaultAction, enosys.DefaultErrnoRet = specs.ActErrno, uintp(38)
	eperm := denyProfile("bpf")
	eperm.DefaultAction = specs.ActErrno // runc's EPERM: what enosys becomes
	explicit := denyProfile("bpf")
	explicit.DefaultAction, explicit.DefaultErrnoRet = specs.ActErrno, uintp(1)
	for _, tc := range []struct {
		name string
		s    *specs.LinuxSeccomp
		want string
	}{
		{"errno rules only: the engine's digest", denyProfile("mkdir"), profile.Digest(denyProfile("mkdir"))},
		{"default ENOSYS: the digest of the EPERM section", enosys, profile.Digest(eperm)},
		{"default EPERM written out: the digest without it", explicit, profile.Digest(eperm)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _, dlog := newTestPlugin(t, func(engine.Input) (*engine.Decision, error) {
				return &engine.Decision{Rules: []engine.RuleResult{{Name: "r"}}, Mode: "enforce", Changed: true,
					Seccomp: tc.s, Digest: profile.Digest(tc.s)}, nil
			})
			adj, _, err := p.CreateContainer(context.Background(), testPod("prod", "web"), testContainer("app"))
			if err != nil {
				t.Fatal(err)
			}
			written := profile.Digest(runtimeWrites(adj.GetLinux().GetSeccompPolicy()))
			recs := testutil.JSONLines(t, dlog.String())
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			if got := recs[0]["digest"]; got != tc.want || got != written {
				t.Errorf("record digest %v; want %s, the digest of the section containerd writes %s", got, tc.want, written)
			}
		})
	}
}
