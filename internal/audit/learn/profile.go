// Package learn is `nri-seccomp record`: a least-privilege profile from
// an audit report of what a workload did, with the runs it rests on
// (Coverage) and syscall families to widen it by.
package learn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/record"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// ErrNoRecords is returned when a report holds nothing for the workload a
// profile is asked for.
var ErrNoRecords = errors.New("no seccomp records for the workload")

// ProfileOptions selects the workload a profile is recorded for: the pod
// named Pod, or every pod of Owner (OwnedBy: replicas, and the pods that
// replaced them), in Namespace.
type ProfileOptions struct {
	Namespace string
	Pod       string
	// Owner selects the pods of a Deployment, ReplicaSet, DaemonSet, Job,
	// CronJob or StatefulSet by the names Kubernetes generates for them.
	Owner string
	// Container: "" takes every container of the pod (one profile for
	// all of them).
	Container string
	// IncludeRefused also allows syscalls that were refused (an enforcing
	// rule's SCMP_ACT_ERRNO, logged with logDenied). Off by default: a
	// refused call is one the workload ran without.
	IncludeRefused bool
	// IncludeUnattributed also uses the records no container was matched
	// to (every one in the input, whatever process made it): only for an
	// input known to hold nothing but the workload. Off by default.
	IncludeUnattributed bool
	// Arch is the architecture family to record for, by its native
	// architecture (SCMP_ARCH_X86_64 for x86_64, x86 and x32;
	// SCMP_ARCH_AARCH64 for aarch64 and arm). "" takes the family the
	// records are from, and is an error when they are from several.
	Arch specs.Arch
	// NoNewPrivs: the recorded containers ran with no_new_privs and the
	// profile is for containers that do too: runc.RuntimeBaseNoNewPrivs is
	// added instead of runc.RuntimeBase. The records must come from such
	// containers, or they hold runc's own calls anyway.
	NoNewPrivs bool
	// Families also allows the siblings of what was seen (Families).
	Families bool
}

// ProfileResult is a recorded profile and how it came about.
type ProfileResult struct {
	Profile *specs.LinuxSeccomp
	// Seen are the syscalls the records showed, sorted; Base those of
	// runc.RuntimeBase (or runc.RuntimeBaseNoNewPrivs) that were not seen.
	Seen, Base []string
	// Widened: what Families added (with ProfileOptions.Families).
	Widened []Widening
	// SeenByArch are the syscalls seen through each ABI of the family.
	SeenByArch map[string][]string
	// Containers are the matched containers ("ns/pod/container",
	// printable) and, with IncludeUnattributed, "unattributed: EXE".
	Containers []string
	// Notes: records that could not be used, and what the profile allows
	// beyond what was seen. printable.String.
	Notes []string
	// Coverage: the pods, runs, time and records the profile rests on,
	// and per container when it last saw a new syscall.
	Coverage Coverage
}

// allowedAction reports whether a record's action shows a call that ran: a
// LOG (audit mode) or ALLOW record. The action the kernel logged decides,
// as in the report.
func allowedAction(action string) bool {
	code, ok := record.ActionCode(action)
	return ok && !record.CodeRefused(code)
}

// BuildProfile returns a least-privilege profile for a workload: it allows
// runc.RuntimeBase and every syscall the workload was seen making (SCMP_ACT_LOG
// records from an audit-mode rule), and refuses the rest with EPERM. Ready
// for a `tighten` rule's profile.
//
// Architectures: one profile is for one architecture family (x86_64 with
// its 32-bit ABIs, or aarch64 with arm), the one the records come from, and
// lists every ABI of it: an ABI left out would make libseccomp kill every
// call through it, which `profile lint` refuses. OCI profiles name
// syscalls, and a name applies to every listed ABI that has it: a syscall
// seen through one ABI of the family is allowed through the others too, and
// a note says which ones that are. Records of another family are left out.
func BuildProfile(rep audit.Report, o ProfileOptions) (ProfileResult, error) {
	var res ProfileResult
	if err := o.checkSelection(); err != nil {
		return res, err
	}
	var (
		groups []audit.ContainerReport
		runs   []*run
	)
	for _, c := range rep.Containers {
		switch {
		case c.Attributed && o.selects(c.Namespace, c.Pod) && (o.Container == "" || c.Container == o.Container):
			res.Containers = append(res.Containers, printable.String(c.Namespace)+"/"+printable.String(c.Pod)+"/"+printable.String(c.Container))
		case !c.Attributed && o.IncludeUnattributed:
			res.Containers = append(res.Containers, "unattributed: "+printable.String(c.Exe))
		default:
			continue
		}
		groups = append(groups, c)
		runs = append(runs, newRun(c))
	}
	slices.Sort(res.Containers)
	res.Containers = slices.Compact(res.Containers)
	if len(res.Containers) == 0 {
		what := o.Namespace + "/" + o.Pod
		if o.Owner != "" {
			what = "pods of " + o.Namespace + "/" + o.Owner
		}
		if o.Container != "" {
			what += " container " + o.Container
		}
		return res, fmt.Errorf("%w: %s (%d records in the input; attributed to: %s)", ErrNoRecords, printable.String(what), rep.Records, attributedList(rep))
	}
	native, err := recordedFamily(groups, o.Arch)
	if err != nil {
		return res, err
	}
	family := profile.ArchFamily(native)

	seen := map[string]bool{}
	byArch := map[string]map[string]bool{}
	for i, c := range groups {
		who := printable.String(c.Container)
		if !c.Attributed {
			who = "unattributed " + printable.String(c.Exe)
		}
		for _, s := range c.Syscalls {
			name := printable.String(s.Syscall)
			switch {
			case !slices.Contains(family, specs.Arch(s.Arch)):
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s was seen through %s, not an ABI of %s; left out", who, name, archLabel(s.Arch), native))
			case !allowedAction(s.Action) && !o.IncludeRefused:
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s was refused (%s, %d times); not allowed (--include-refused to allow it)", who, name, printable.String(s.Action), s.Count))
			case !syscalls.Known(s.Syscall):
				res.Notes = append(res.Notes, fmt.Sprintf("%s: %s is not a syscall name this build knows; left out", who, name))
			default:
				runs[i].use(s.Syscall, s.First)
				seen[s.Syscall] = true
				if byArch[s.Arch] == nil {
					byArch[s.Arch] = map[string]bool{}
				}
				byArch[s.Arch][s.Syscall] = true
			}
		}
	}
	for n := range seen {
		res.Seen = append(res.Seen, n)
	}
	slices.Sort(res.Seen)
	res.Coverage = coverage(runs, len(res.Seen))
	res.SeenByArch = map[string][]string{}
	for a, names := range byArch {
		res.SeenByArch[a] = slices.Sorted(maps.Keys(names))
	}
	names := slices.Clone(res.Seen)
	known := func(n string) bool { _, ok := syscalls.Number(string(native), n); return ok }
	if o.Families {
		res.Widened = familyWidening(Families, seen, known)
		for _, w := range res.Widened {
			names = append(names, w.Added...)
			for _, n := range w.Added {
				seen[n] = true // not added again as base
			}
		}
	}
	base := runc.RuntimeBase
	if o.NoNewPrivs {
		base = runc.RuntimeBaseNoNewPrivs
		res.Notes = append(res.Notes, NoNewPrivsNote)
		if seen["capset"] {
			res.Notes = append(res.Notes, capsetNote)
		}
	}
	for _, n := range base {
		if known(n) && !seen[n] {
			res.Base = append(res.Base, n)
			names = append(names, n)
		}
	}
	slices.Sort(names)
	res.Notes = append(res.Notes, crossABINotes(family, res.SeenByArch)...)
	res.Profile = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: family,
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	res.Coverage.Unattributed, res.Coverage.UnattributedNotAllowed = unattributedDuring(rep, o, res.Coverage, names)
	if _, ok := syscalls.Number(string(native), "clone3"); ok && !seen["clone3"] {
		res.Profile.Syscalls = append(res.Profile.Syscalls, clone3ENOSYS())
		res.Notes = append(res.Notes, clone3Note)
	}
	return res, nil
}

// NoNewPrivsNote is the warning a profile recorded with NoNewPrivs carries.
const NoNewPrivsNote = "for containers with no_new_privs ONLY (allowPrivilegeEscalation: false): the base set is runc's " +
	"no_new_privs one, so under this profile runc fails to start a container without no_new_privs " +
	"(runc 1.2.8: \"unable to apply bounding set: operation not permitted\"); `profile lint` names what it lacks for those"

// capsetNote: with --no-new-privs, a recording that holds capset was most
// likely made without no_new_privs (runc's capset then runs under the
// filter), so it holds runc's calls and the smaller base gains nothing.
const capsetNote = "capset was seen: runc makes it under the filter only for containers WITHOUT no_new_privs, " +
	"so these records are probably not from no_new_privs containers (allowed as seen)"

// unattributedDuring counts the records no container was matched to that
// were made while the selected runs were recorded (a syscall group whose
// first and last record overlap the coverage's span), and names their
// syscalls the profile does not allow. Such records may be the workload's
// own (a process that exited before the daemon could attribute it): the
// profile may miss them, and record says so instead of dropping them
// silently. Nothing to count when IncludeUnattributed used them.
func unattributedDuring(rep audit.Report, o ProfileOptions, cov Coverage, allowed []string) (int, []string) {
	if o.IncludeUnattributed || cov.First.IsZero() {
		return 0, []string{}
	}
	n := 0
	missing := map[string]bool{}
	for _, c := range rep.Containers {
		if c.Attributed {
			continue
		}
		for _, s := range c.Syscalls {
			if s.Last.Before(cov.First) || s.First.After(cov.Last) {
				continue
			}
			n = audit.AddSat(n, s.Count)
			if !slices.Contains(allowed, s.Syscall) {
				missing[printable.String(s.Syscall)] = true
			}
		}
	}
	out := slices.Sorted(maps.Keys(missing))
	if out == nil {
		out = []string{}
	}
	return n, out
}

// clone3Note says why a recorded profile names clone3.
const clone3Note = "clone3 is refused with ENOSYS, not EPERM, so that the C library falls back to clone as it does under runtime-default"

// clone3ENOSYS refuses clone3 the way runtime-default does. glibc (2.34+)
// creates every thread and process with clone3 and falls back to clone only
// on ENOSYS: under runtime-default the workload never gets a clone3 through,
// so a recording never sees it, and the default EPERM would then make every
// pthread_create and fork fail under the recorded profile (tighten keeps the
// recorded errno over runtime-default's). Measured by test/workloads: every
// threaded workload failed under its recorded profile before this rule.
func clone3ENOSYS() specs.LinuxSyscall {
	enosys := uint(unix.ENOSYS)
	return specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys}
}

// ErrArchFamilies is returned when the records span several architecture
// families and none was chosen.
var ErrArchFamilies = errors.New("records from several architecture families")

// recordedFamily returns the native architecture of the family to record
// for: want's, or the one every usable record is from.
func recordedFamily(groups []audit.ContainerReport, want specs.Arch) (specs.Arch, error) {
	if want != "" {
		if n := nativeOf(want); n != want {
			return "", fmt.Errorf("architecture %s: name its family by the native architecture, %s", want, n)
		}
		if !slices.Contains(syscalls.Arches(), string(want)) {
			return "", fmt.Errorf("architecture %s: no syscall table for it in this build (%s)", want, strings.Join(syscalls.Arches(), ", "))
		}
		return want, nil
	}
	counts := map[specs.Arch]int{}
	for _, c := range groups {
		for _, s := range c.Syscalls {
			if !slices.Contains(syscalls.Arches(), s.Arch) {
				continue // an unknown ABI: noted later
			}
			counts[nativeOf(specs.Arch(s.Arch))] += 1
		}
	}
	switch len(counts) {
	case 0:
		return specs.ArchX86_64, nil // nothing usable: the base set alone, for x86_64
	case 1:
		for a := range counts {
			return a, nil
		}
	}
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d syscalls", a, counts[a]))
	}
	return "", fmt.Errorf("%w (%s): record one at a time, choosing the architecture", ErrArchFamilies, strings.Join(parts, ", "))
}

// nativeOf returns the native architecture of a's family: x86 and x32 are
// x86_64's, arm is aarch64's.
func nativeOf(a specs.Arch) specs.Arch {
	for _, n := range []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64} {
		if slices.Contains(profile.ArchFamily(n), a) {
			return n
		}
	}
	return a
}

// crossABINotes says, per ABI of the family, how many syscalls the profile
// allows through it that were only seen through another.
func crossABINotes(family []specs.Arch, byArch map[string][]string) []string {
	var notes []string
	for _, a := range family {
		var extra []string
		for _, other := range family {
			if other == a {
				continue
			}
			for _, n := range byArch[string(other)] {
				if _, ok := syscalls.Number(string(a), n); ok && !slices.Contains(byArch[string(a)], n) && !slices.Contains(extra, n) {
					extra = append(extra, n)
				}
			}
		}
		if len(extra) == 0 {
			continue
		}
		slices.Sort(extra)
		notes = append(notes, fmt.Sprintf("%s: allows %s, seen only through another ABI of the family (an OCI profile names syscalls for all its architectures)",
			archLabel(string(a)), strings.Join(extra, " ")))
	}
	return notes
}

func archLabel(a string) string {
	if a == "" {
		return "an unknown architecture"
	}
	return printable.String(a)
}

func attributedList(rep audit.Report) string {
	var out []string
	for _, c := range rep.Containers {
		if c.Attributed {
			out = append(out, printable.String(c.Namespace)+"/"+printable.String(c.Pod)+"/"+printable.String(c.Container))
		}
	}
	if len(out) == 0 {
		return "no container"
	}
	slices.Sort(out)
	out = slices.Compact(out) // one line per container, not per restart
	if len(out) > 10 {
		out = append(out[:10], "...")
	}
	return strings.Join(out, ", ")
}
