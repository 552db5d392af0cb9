package harness

import (
	"encoding/json"
	"fmt"
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
			if r.Error != "" {
				return r, fmt.Errorf("syscall-probe usage error: %s", r.Error)
			}
			return r, nil
		}
	}
	return ProbeResult{}, fmt.Errorf("no syscall-probe JSON line in output %q", output)
}
