package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// ProbePath is where the busybox image carries syscall-probe.
const ProbePath = "/bin/syscall-probe"

// ProbeResult is the JSON line syscall-probe prints.
type ProbeResult struct {
	Syscall string `json:"syscall"`
	Arch    string `json:"arch"`
	Nr      int    `json:"nr"`
	Ret     int64  `json:"ret"`
	Errno   string `json:"errno"`
	Error   string `json:"error"`
}

// NoIA32Error is the probe's error on a kernel with IA-32 emulation off
// (test/e2e/probe.ErrNoIA32): int $0x80 faults before seccomp runs, so there
// is no 32-bit entry to make a call through, or to filter.
const NoIA32Error = "ia32 emulation is off in this kernel: int $0x80 faults"

// NoIA32 reports whether the probe found the 32-bit entry missing.
func (r ProbeResult) NoIA32() bool { return r.Error == NoIA32Error }

// HostIA32 runs the probe binary on the host (the kernel containers share)
// and reports whether the 32-bit entry (int $0x80) exists.
func HostIA32(ctx context.Context, probe string) (bool, error) {
	out, err := exec.CommandContext(ctx, probe, "i386", "getpid").Output()
	if err != nil {
		return false, fmt.Errorf("%s i386 getpid: %w", probe, err)
	}
	r, err := ParseProbe(string(out))
	if err != nil {
		return false, err
	}
	if r.NoIA32() {
		return false, nil
	}
	if r.Errno != "" || r.Ret <= 0 {
		return false, fmt.Errorf("%s i386 getpid: %s", probe, r)
	}
	return true, nil
}

// Refused reports whether the call failed with errno.
func (r ProbeResult) Refused(errno string) bool { return r.Errno == errno }

// String is a one-line description for test messages.
func (r ProbeResult) String() string {
	if r.Errno == "" {
		return fmt.Sprintf("%s(%s nr %d) = %d", r.Syscall, r.Arch, r.Nr, r.Ret)
	}
	return fmt.Sprintf("%s(%s nr %d) failed: %s", r.Syscall, r.Arch, r.Nr, r.Errno)
}

// ParseProbe finds the probe's JSON line in output (the last line that
// parses), so log prefixes or blank lines around it do not matter.
func ParseProbe(output string) (ProbeResult, error) {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var r ProbeResult
		if err := json.Unmarshal([]byte(l), &r); err == nil && (r.Syscall != "" || r.Error != "") {
			if r.Error != "" && !r.NoIA32() {
				return r, fmt.Errorf("syscall-probe usage error: %s", r.Error)
			}
			return r, nil
		}
	}
	return ProbeResult{}, fmt.Errorf("no syscall-probe JSON line in output %q", output)
}
