package harness

import (
	"testing"
	"time"
)

func TestParseAudit(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       AuditRecord
	}{
		{
			name: "kernel log",
			line: `[ 1278.943209] audit: type=1326 audit(1795725487.336:5): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=7414 comm="syscall-probe" exe="/bin/syscall-probe" sig=0 arch=c000003e syscall=83 compat=0 ip=0x408b0e code=0x7ffc0000`,
			want: AuditRecord{Time: time.Unix(1795725487, 336e6), Pid: 7414, Comm: "syscall-probe", Exe: "/bin/syscall-probe", Arch: "c000003e", Syscall: 83, Code: "0x7ffc0000"},
		},
		{
			name: "auditd enriched",
			line: "type=SECCOMP msg=audit(1795725498.012:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=7762 comm=\"syscall-probe\" exe=\"/bin/syscall-probe\" sig=0 arch=40000003 syscall=39 compat=1 ip=0x408b0e code=0x7ffc0000\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" ARCH=i386 SYSCALL=mkdir",
			want: AuditRecord{Time: time.Unix(1795725498, 12e6), Pid: 7762, Comm: "syscall-probe", Exe: "/bin/syscall-probe", Arch: "40000003", Syscall: 39, Code: "0x7ffc0000"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseAudit(tc.line)
			if !ok {
				t.Fatal("not parsed")
			}
			got.Line = ""
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, ok := parseAudit("audit: type=1326 with no stamp"); ok {
		t.Fatal("a line without audit(...) stamp parsed")
	}
}
