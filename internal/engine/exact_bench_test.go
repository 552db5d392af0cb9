package engine

import (
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// exactPolicy tightens a RuntimeDefault container with a profile that refuses
// only socket(AF_PACKET) and personality(PER_LINUX32), then rolls out a deny
// list in audit mode: both the intersection and the audit transform meet
// argument conditions on both sides (socket, personality).
const exactPolicy = `apiVersion: nri-seccomp.io/v1alpha1
kind: SeccompPolicy
profiles:
  no-packet:
    inline:
      defaultAction: SCMP_ACT_ALLOW
      syscalls:
      - names: [socket]
        action: SCMP_ACT_ERRNO
        args: [{index: 0, value: 17, op: SCMP_CMP_EQ}]
      - names: [personality]
        action: SCMP_ACT_ERRNO
        args: [{index: 0, value: 8, op: SCMP_CMP_EQ}]
rules:
- name: no-packet
  match: {}
  action: tighten
  profile: no-packet
- name: trial
  match: {}
  action: tighten
  profile: no-packet
  deny: [mkdir]
  mode: audit
`

// BenchmarkDecideExact measures an uncached decision whose rules meet
// argument conditions on both sides (the exact intersection and audit path).
func BenchmarkDecideExact(b *testing.B) {
	e := newEngineOpts(b, exactPolicy, Options{Native: specs.ArchX86_64, CacheSize: -1})
	in := Input{Namespace: "prod", Pod: "web-1", Container: "app", ProfileType: profile.TypeRuntimeDefault, Current: runtimeDefault(b)}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := e.Decide(in); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}
