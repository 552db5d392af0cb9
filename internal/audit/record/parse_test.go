package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// parseFile parses every line of a captured log, returning the records and
// how many lines were skipped as not seccomp.
func parseFile(t *testing.T, path string) ([]Record, int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	skipped := 0
	for _, line := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
		r, err := Parse(line)
		switch {
		case errors.Is(err, ErrNotSeccomp):
			skipped++
		case err != nil:
			t.Fatalf("%s: %q: %v", path, line, err)
		default:
			recs = append(recs, r)
		}
	}
	return recs, skipped
}

// The testdata files are real records captured on this kind of machine: the
// kernel log (dmesg and /dev/kmsg) while no auditd ran, and auditd 3.0.9's
// log in its ENRICHED and RAW formats, from the e2e probe in containers and
// from a libseccomp program (testdata/gen.c) making an x86_64, an x32 and an
// i386 call, a logged refusal and a kill.
func TestParseCapturedGolden(t *testing.T) {
	for _, tc := range []struct {
		file          string
		records, skip int
	}{
		{"dmesg.txt", 8, 0},
		{"kmsg.txt", 7, 0},
		{"auditd-enriched.log", 8, 9},
		{"auditd-raw.log", 5, 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			recs, skipped := parseFile(t, filepath.Join("..", "testdata", tc.file))
			if len(recs) != tc.records || skipped != tc.skip {
				t.Fatalf("got %d records, %d skipped; want %d, %d", len(recs), skipped, tc.records, tc.skip)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			for _, r := range recs {
				if err := enc.Encode(r); err != nil {
					t.Fatal(err)
				}
			}
			golden := filepath.Join("..", "testdata", tc.file+".golden.jsonl")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("decoded records differ from %s (run with -update after checking):\n%s", golden, buf.String())
			}
		})
	}
}

func TestParseDecodesArchitecturesAndActions(t *testing.T) {
	recs, _ := parseFile(t, "../testdata/auditd-enriched.log")
	type key struct{ arch, name, action, comm, exe string }
	got := map[key]Record{}
	for _, r := range recs {
		got[key{r.Arch, r.SyscallName, r.Action, r.Comm, r.Exe}] = r
	}
	for _, want := range []key{
		{"SCMP_ARCH_X86_64", "mkdir", "SCMP_ACT_LOG", "gen", "/tmp/audit-capture/gen"},
		{"SCMP_ARCH_X32", "mkdir", "SCMP_ACT_LOG", "gen", "/tmp/audit-capture/gen"},
		{"SCMP_ARCH_X86", "getpid", "SCMP_ACT_LOG", "gen", "/tmp/audit-capture/gen"},
		// A path with a space: the kernel writes comm and exe in hex.
		{"SCMP_ARCH_X86_64", "mkdir", "SCMP_ACT_LOG", "g en", "/tmp/audit-capture/g en"},
		// SECCOMP_FILTER_FLAG_LOG makes refusals logged too.
		{"SCMP_ARCH_X86_64", "rmdir", "SCMP_ACT_ERRNO", "gen2", "/tmp/audit-capture/gen2"},
		{"SCMP_ARCH_X86_64", "keyctl", "SCMP_ACT_KILL_PROCESS", "gen2", "/tmp/audit-capture/gen2"},
	} {
		r, ok := got[want]
		if !ok {
			t.Errorf("no record decoded as %+v; got %v", want, got)
			continue
		}
		if refused := want.action != "SCMP_ACT_LOG"; r.Refused() != refused {
			t.Errorf("%+v: Refused() = %v", want, r.Refused())
		}
	}
	kill := got[key{"SCMP_ARCH_X86_64", "keyctl", "SCMP_ACT_KILL_PROCESS", "gen2", "/tmp/audit-capture/gen2"}]
	if kill.Sig != 31 || kill.PID != 27913 || kill.Serial != 114 {
		t.Errorf("kill record: sig %d pid %d serial %d, want 31 27913 114", kill.Sig, kill.PID, kill.Serial)
	}
	if want := time.Date(2026, 11, 26, 21, 2, 34, 476e6, time.UTC); !kill.Time.Equal(want) {
		t.Errorf("kill record time %v, want %v", kill.Time, want)
	}
	x32 := got[key{"SCMP_ARCH_X32", "mkdir", "SCMP_ACT_LOG", "gen", "/tmp/audit-capture/gen"}]
	if x32.Syscall != 0x40000000|83 || x32.AuditArch != 0xc000003e {
		t.Errorf("x32 record: nr %#x arch %#x", x32.Syscall, x32.AuditArch)
	}
}

func TestParseForms(t *testing.T) {
	const body = `audit(1795726941.372:103): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=unconfined pid=27544 comm="gen" exe="/tmp/gen" sig=0 arch=c000003e syscall=83 compat=0 ip=0x7f0136e2ff37 code=0x7ffc0000`
	for _, line := range []string{
		"audit: type=1326 " + body,
		"[ 2732.976524] audit: type=1326 " + body,
		"[2732.976524] audit: type=1326 " + body,
		"5,399,2732976524,-;audit: type=1326 " + body,
		"5,399,2732976524,c,more;audit: type=1326 " + body + "\n",
		"type=SECCOMP msg=" + body,
		"type=1326 msg=" + body,
		"node=worker-1 type=SECCOMP msg=" + body,
		"type=SECCOMP msg=" + body + "\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" ARCH=x86_64 SYSCALL=unknown-syscall(-1)",
		"type=SECCOMP msg=" + body + "\r\n",
	} {
		r, err := Parse([]byte(line))
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if r.PID != 27544 || r.SyscallName != "mkdir" || r.Action != "SCMP_ACT_LOG" || r.Subj != "unconfined" || r.Exe != "/tmp/gen" || r.IP != 0x7f0136e2ff37 {
			t.Errorf("%q: decoded %+v", line, r)
		}
	}
}

func TestParseOlderKernelWithoutCompat(t *testing.T) {
	// Kernels before 4.14 write no compat= field; ip= and code= follow sig=.
	r, err := Parse([]byte(`audit: type=1326 audit(1500000000.000:1): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1 comm="a" exe="/a" sig=31 arch=40000003 syscall=20 ip=0x1 code=0x0`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch != "SCMP_ARCH_X86" || r.SyscallName != "getpid" || r.Action != "SCMP_ACT_KILL_THREAD" {
		t.Fatalf("decoded %+v", r)
	}
}

func TestParseUnknownArchAndSyscall(t *testing.T) {
	// AUDIT_ARCH_PPC64LE is not in internal/syscalls; 999 is no x86_64 syscall.
	r, err := Parse([]byte(`audit: type=1326 audit(1.000:1): pid=1 comm="a" exe="/a" sig=0 arch=c0000015 syscall=5 code=0x7ffc0000`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch != "" || r.SyscallName != "" || r.SyscallLabel() != "arch-c0000015#5" {
		t.Fatalf("decoded %+v label %q", r, r.SyscallLabel())
	}
	r, err = Parse([]byte(`audit: type=1326 audit(1.000:1): pid=1 comm="a" exe="/a" sig=0 arch=c000003e syscall=999 code=0x7fc00000`))
	if err != nil {
		t.Fatal(err)
	}
	if r.SyscallLabel() != "SCMP_ARCH_X86_64#999" || r.Action != "SCMP_ACT_NOTIFY" {
		t.Fatalf("decoded %+v", r)
	}
	if got := ActionName(0x12340000); got != "0x12340000" {
		t.Fatalf("ActionName(unknown) = %q", got)
	}
}

func TestParseSkipsOtherLines(t *testing.T) {
	for _, line := range []string{
		"",
		"\n",
		"5,342,1326823,-;random: crng reseeded due to virtual machine fork",
		" SUBSYSTEM=acpi",
		"[ 1.0] audit: type=1400 audit(1.000:1): apparmor=\"DENIED\"",
		"type=SYSCALL msg=audit(1795726946.240:106): arch=c000003e syscall=44 success=yes",
		"type=ANOM_ABEND msg=audit(1795726954.476:115): pid=27913 sig=31 res=1",
		"node=x",
		"5,1,2",
		"[ 12.3",
		"audit: type=13260 audit(1.000:1): pid=1",
	} {
		if _, err := Parse([]byte(line)); !errors.Is(err, ErrNotSeccomp) {
			t.Errorf("%q: err = %v, want ErrNotSeccomp", line, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	const ok = `pid=1 comm="a" exe="/a" sig=0 arch=c000003e syscall=83 code=0x7ffc0000`
	for _, tc := range []struct{ line, want string }{
		{"audit: type=1326 ", "no audit(...) stamp"},
		{"audit: type=1326 audit(1.000:1 " + ok, "unterminated audit(...) stamp"},
		{"audit: type=1326 audit(1:1): " + ok, `audit stamp "1:1"`},
		{"audit: type=1326 audit(1.5:1): " + ok, `audit stamp "1.5:1"`},
		{"audit: type=1326 audit(x.000:1): " + ok, `audit stamp "x.000:1"`},
		{"audit: type=1326 audit(-1.000:1): " + ok, `audit stamp "-1.000:1"`},
		{"audit: type=1326 audit(1.000:y): " + ok, `audit stamp "1.000:y"`},
		{"audit: type=1326 audit(1.000:1): pid=1 arch=c000003e", "missing field(s): syscall code"},
		{"audit: type=1326 audit(1.000:1): sig=0", "missing field(s): pid arch syscall code"},
		{"audit: type=1326 audit(1.000:1): pid=x " + ok, `pid="x": not a base-10 number`},
		{"audit: type=1326 audit(1.000:1): " + ok + " pid=-3", `pid="-3"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " arch=zz", `arch="zz": not a base-16 number`},
		{"audit: type=1326 audit(1.000:1): " + ok + " arch=1c000003e", `arch="1c000003e"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " syscall=99999999999", `syscall="99999999999"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " code=0x", `code=""`},
		{"audit: type=1326 audit(1.000:1): " + ok + " ip=0xq", `ip="q"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " uid=4294967296", `uid="4294967296"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " sig=", `sig=""`},
		{"audit: type=1326 audit(1.000:1): " + ok + ` comm="unterminated`, `field "comm": unterminated quote`},
		{"audit: type=1326 audit(1.000:1): " + ok + " exe=2F7", `exe="2F7": neither quoted nor hex`},
		{"audit: type=1326 audit(1.000:1): " + ok + " comm=/bin/x", `comm="/bin/x": neither quoted nor hex`},
		{"audit: type=1326 audit(1.000:1): " + ok + " junk", `field without a value near "junk"`},
		{"audit: type=1326 audit(1.000:1): " + ok + " =x", `field without a value near "=x"`},
	} {
		_, err := Parse([]byte(tc.line))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant ErrMalformed containing %q", tc.line, err, tc.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, f := range []string{"dmesg.txt", "kmsg.txt", "auditd-enriched.log", "auditd-raw.log"} {
		recs, _ := parseFile(t, filepath.Join("..", "testdata", f))
		for _, r := range recs {
			back, err := Parse([]byte(KernelLine(r)))
			if err != nil || back != r {
				t.Errorf("%s: round trip of %+v: %+v, %v", f, r, back, err)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"dmesg.txt", "kmsg.txt", "auditd-enriched.log", "auditd-raw.log"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := Parse(line)
		if err != nil {
			if !errors.Is(err, ErrNotSeccomp) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither ErrNotSeccomp nor ErrMalformed", err)
			}
			return
		}
		// What parses must survive the kernel's own rendering: every
		// field the parser kept is one the kernel could have written.
		if strings.ContainsAny(r.Subj, " \"") {
			return // subj is not hex-encoded by the kernel
		}
		back, err := Parse([]byte(KernelLine(r)))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", KernelLine(r), err)
		}
		if back != r {
			t.Fatalf("round trip differs:\n%+v\n%+v", r, back)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	line := []byte(`type=SECCOMP msg=audit(1795726947.184:107): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=27735 comm="gen" exe="/tmp/audit-capture/gen" sig=0 arch=c000003e syscall=83 compat=0 ip=0x7fc3a1594f37 code=0x7ffc0000` + "\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" ARCH=x86_64 SYSCALL=unknown-syscall(-1)")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := Parse(line); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
