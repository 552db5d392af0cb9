package posture

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var (
	idA = strings.Repeat("a", 64) // ctr run, cgroup v1 hybrid, unfiltered, two processes
	idB = strings.Repeat("b", 64) // CRI, cgroup v2 systemd, filtered
	idC = strings.Repeat("c", 64) // CRI, cgroup v1 cgroupfs, filtered; PID 501 vanished
	idD = strings.Repeat("d", 64) // CRI sandbox, unfiltered
	idE = strings.Repeat("e", 64) // status without a Seccomp line: unreadable
	idF = strings.Repeat("f", 64) // nested in a kind node's container
)

func TestScanProc(t *testing.T) {
	s, err := ScanProc("testdata/proc", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Scan{
		Containers: map[string][]Process{
			idA: {{PID: 100, Seccomp: 0, Filters: 0}, {PID: 101, Seccomp: 0, Filters: 0}},
			idB: {{PID: 200, Seccomp: 2, Filters: 1}},
			idC: {{PID: 300, Seccomp: 2, Filters: 1}, {PID: 301, Seccomp: 2, Filters: 2}},
			idD: {{PID: 400, Seccomp: 0, Filters: 0}},
			idF: {{PID: 700, Seccomp: 2, Filters: 3}},
		},
		HostProcesses: 2, // PID 1; 800 (ctr run my-box, unknown without containerd)
		Vanished:      2, // 500: no cgroup; 501: cgroup, then no status
		Unreadable:    1, // 600
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("ScanProc:\n got %+v\nwant %+v", s, want)
	}
}

func TestScanProcMissingRoot(t *testing.T) {
	_, err := ScanProc(filepath.Join(t.TempDir(), "nope"), nil)
	if !errors.Is(err, ErrProc) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrProc wrapping ENOENT", err)
	}
}

func TestContainerID(t *testing.T) {
	tests := []struct {
		name, cgroup, want string
	}{
		{"host v1 hybrid", "12:memory:/\n1:name=systemd:/init.scope\n0::/init.scope\n", ""},
		{"host v2", "0::/system.slice/containerd.service\n", ""},
		{"ctr v1", "12:memory:/default/" + idA + "\n0::/\n", idA},
		{"cri cgroupfs v2", "0::/kubepods/besteffort/pod0d1e2f3a-4b5c/" + idB + "\n", idB},
		{"cri systemd v2", "0::/kubepods.slice/x.slice/cri-containerd-" + idB + ".scope\n", idB},
		{"docker systemd", "0::/system.slice/docker-" + idC + ".scope\n", idC},
		{"podman", "0::/machine.slice/libpod-" + idC + ".scope/container\n", idC},
		{"nested: innermost", "0::/system.slice/docker-" + idA + ".scope/kubelet.slice/cri-containerd-" + idB + ".scope\n", idB},
		{"majority of lines", "12:memory:/k8s.io/" + idC + "\n11:pids:/k8s.io/" + idC + "\n1:name=systemd:/docker/" + idD + "\n", idC},
		{"tie: first", "12:memory:/k8s.io/" + idC + "\n11:pids:/k8s.io/" + idD + "\n", idC},
		{"63 digits", "0::/k8s.io/" + idA[:63] + "\n", ""},
		{"65 digits", "0::/k8s.io/" + idA + "a\n", ""},
		{"uppercase", "0::/k8s.io/" + strings.ToUpper(idA) + "\n", ""},
		{"no newline", "0::/k8s.io/" + idA, idA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerID([]byte(tt.cgroup)); got != tt.want {
				t.Errorf("ContainerID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name, status string
		want         Process
		err          string
	}{
		{"filter", "Name:\tsh\nSeccomp:\t2\nSeccomp_filters:\t3\n", Process{Seccomp: 2, Filters: 3}, ""},
		{"none", "Seccomp:\t0\nSeccomp_filters:\t0\n", Process{Seccomp: 0, Filters: 0}, ""},
		{"old kernel: no filters line", "Seccomp:\t2\n", Process{Seccomp: 2, Filters: -1}, ""},
		{"no seccomp line", "Name:\tsh\n", Process{}, "no Seccomp: line"},
		{"bad value", "Seccomp:\tx\n", Process{}, `field Seccomp: bad value "x"`},
		{"negative", "Seccomp:\t0\nSeccomp_filters:\t-1\n", Process{}, `field Seccomp_filters: bad value "-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.status))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// A container whose id is not 64 hex digits (ctr run NAME) is found only
// when containerd names it; otherwise its process counts as the host's.
func TestScanProcKnownIDs(t *testing.T) {
	tests := []struct {
		name  string
		known map[string]bool
		want  []Process
		host  int
	}{
		{"unknown", nil, nil, 2},
		{"known", map[string]bool{"my-box": true}, []Process{{PID: 800, Seccomp: 0, Filters: 0}}, 1},
		{"other id", map[string]bool{"e2e": true}, nil, 2}, // only the last element of a path
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ScanProc("testdata/proc", tt.known)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Containers["my-box"], tt.want) || s.HostProcesses != tt.host {
				t.Errorf("my-box %+v, host %d; want %+v, %d", s.Containers["my-box"], s.HostProcesses, tt.want, tt.host)
			}
		})
	}
}

// The real kernel's status format parses, and the real /proc walks.
func TestRealProc(t *testing.T) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseStatus(b)
	if err != nil || p.Seccomp < SeccompDisabled || p.Seccomp > SeccompFilter {
		t.Fatalf("parseStatus(/proc/self/status) = %+v, %v", p, err)
	}
	s, err := ScanProc("/proc", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := s.HostProcesses
	for _, procs := range s.Containers {
		n += len(procs)
	}
	if n == 0 || s.Truncated {
		t.Fatalf("real /proc: %d processes, truncated %v", n, s.Truncated)
	}
}
