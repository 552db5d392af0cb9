package record

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// KernelLine renders r the way the kernel does (audit_seccomp), hex-encoding
// comm and exe when the kernel would.
func KernelLine(r Record) string {
	enc := func(s string) string {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c < 0x21 || c > 0x7e {
				return strings.ToUpper(hex.EncodeToString([]byte(s)))
			}
		}
		return `"` + s + `"`
	}
	subj := ""
	if r.Subj != "" {
		subj = "subj=" + r.Subj + " "
	}
	compat := 0
	if r.Compat {
		compat = 1
	}
	return fmt.Sprintf("audit: type=1326 audit(%d.%03d:%d): auid=%d uid=%d gid=%d ses=%d %spid=%d comm=%s exe=%s sig=%d arch=%x syscall=%d compat=%d ip=0x%x code=0x%x",
		r.Time.Unix(), r.Time.Nanosecond()/int(time.Millisecond), r.Serial, r.AUID, r.UID, r.GID, r.Ses, subj, r.PID,
		enc(r.Comm), enc(r.Exe), r.Sig, r.AuditArch, r.Syscall, compat, r.IP, r.Code)
}
