package harness

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
)

// AuditRecord is one kernel seccomp audit record (type=1326, AUDIT_SECCOMP).
type AuditRecord struct {
	Time    time.Time
	Pid     int // host PID: records carry no container id
	Comm    string
	Exe     string
	Arch    string // hex AUDIT_ARCH_*, e.g. c000003e (x86_64), 40000003 (i386)
	Syscall int
	Code    string // seccomp action, e.g. 0x7ffc0000 (SECCOMP_RET_LOG)
	Line    string
}

// SeccompRetLog is the code of a record written by SCMP_ACT_LOG.
const SeccompRetLog = "0x7ffc0000"

var (
	auditStamp = regexp.MustCompile(`audit\((\d+)\.(\d+):\d+\)`)
	auditField = regexp.MustCompile(`(\w+)=("[^"]*"|\S+)`)
)

// AuditdRunning reports whether a userspace auditd receives the kernel's
// audit records; then they go to its log and not to the kernel log.
func AuditdRunning() bool {
	_, ok := auditdLog()
	return ok
}

// auditdLog finds a running auditd and its log file, the same way the
// daemon's audit source does.
func auditdLog() (string, bool) { return source.AuditdLog("/proc") }

// SeccompAuditRecords returns the seccomp audit records stamped at or after
// since, from auditd (ausearch) when one runs, else from the kernel log.
func SeccompAuditRecords(ctx context.Context, since time.Time) ([]AuditRecord, error) {
	var out []byte
	var err error
	if logFile, ok := auditdLog(); ok {
		out, err = exec.CommandContext(ctx, "ausearch", "-if", logFile, "-m", "SECCOMP", "--format", "raw").Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			err = nil // ausearch exits 1 on "<no matches>"
		}
	} else {
		out, err = exec.CommandContext(ctx, "dmesg").Output()
	}
	if err != nil {
		return nil, err
	}
	var recs []AuditRecord
	for _, line := range bytes.Split(out, []byte("\n")) {
		l := string(line)
		if !strings.Contains(l, "type=1326") && !strings.Contains(l, "type=SECCOMP") {
			continue
		}
		r, ok := parseAudit(l)
		if ok && !r.Time.Before(since.Truncate(time.Second)) {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

func parseAudit(l string) (AuditRecord, bool) {
	// auditd's ENRICHED format appends interpreted fields after a 0x1d.
	l, _, _ = strings.Cut(l, "\x1d")
	m := auditStamp.FindStringSubmatch(l)
	if m == nil {
		return AuditRecord{}, false
	}
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	ms, _ := strconv.ParseInt(m[2], 10, 64)
	r := AuditRecord{Time: time.Unix(sec, ms*int64(time.Millisecond)), Line: l}
	for _, f := range auditField.FindAllStringSubmatch(l, -1) {
		v := strings.Trim(f[2], `"`)
		switch f[1] {
		case "pid":
			r.Pid, _ = strconv.Atoi(v)
		case "comm":
			r.Comm = v
		case "exe":
			r.Exe = v
		case "arch":
			r.Arch = v
		case "syscall":
			r.Syscall, _ = strconv.Atoi(v)
		case "code":
			r.Code = v
		}
	}
	return r, true
}
