// Package posture reports the seccomp posture of a node from the kernel's
// view: every running container process found in /proc, whatever created
// it, joined with what containerd and the plugin's decision log say about
// its container. The plugin itself only sees containers that NRI shows it
// (those created through CRI); this is how the others are found.
package posture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// ErrProc marks a /proc tree that cannot be read at all (as opposed to a
// process that exited while it was read, which is skipped).
var ErrProc = errors.New("cannot read the process table")

// MaxProcesses bounds the walk of /proc: a node with more processes than
// this is reported as truncated rather than read without end.
const MaxProcesses = 1 << 17

// maxProcFile bounds one read of /proc/PID/{cgroup,status}; both are a few
// KiB even on a host with many cgroup hierarchies.
const maxProcFile = 64 << 10

// Seccomp modes as /proc/PID/status prints them (Seccomp: N).
const (
	SeccompDisabled = 0
	SeccompStrict   = 1
	SeccompFilter   = 2
)

// Process is one process of a container, as the kernel reports it.
type Process struct {
	PID int `json:"pid"`
	// Seccomp is the mode: 0 none, 1 strict, 2 filter.
	Seccomp int `json:"seccomp"`
	// Filters is Seccomp_filters (kernel >= 5.9), -1 when absent.
	Filters int `json:"filters"`
}

// Filtered reports whether seccomp restricts the process.
func (p Process) Filtered() bool { return p.Seccomp != SeccompDisabled }

// Scan is the kernel's view: processes grouped by container id.
type Scan struct {
	// Containers maps a 64-hex container id to its processes, by PID.
	Containers map[string][]Process
	// HostProcesses counts processes in no container's cgroup.
	HostProcesses int
	// Vanished counts PIDs that exited while they were read.
	Vanished int
	// Unreadable counts processes whose status could not be read for a
	// reason other than exiting (permission: run as root).
	Unreadable int
	// Truncated is set when the walk stopped at MaxProcesses.
	Truncated bool
}

// ScanProc walks the procfs mounted at root ("/proc" outside tests). A PID
// that vanishes between the directory listing and the reads is counted, not
// an error: processes come and go while the walk runs.
//
// known holds container ids a runtime reported (containerd's, any
// namespace), or is nil. It finds containers whose id is not 64 hex digits:
// `ctr run NAME` puts the container in cgroup /<namespace>/NAME, which no
// pattern can tell from any other cgroup, so such a container is found only
// when the runtime names it.
func ScanProc(root string, known map[string]bool) (Scan, error) {
	s := Scan{Containers: map[string][]Process{}}
	pids, truncated, err := listPIDs(root)
	if err != nil {
		return s, err
	}
	s.Truncated = truncated
	for _, pid := range pids {
		id, p, err := readProcess(root, pid, known)
		switch {
		case vanished(err):
			s.Vanished++
		case err != nil:
			s.Unreadable++
		case id == "":
			s.HostProcesses++
		default:
			s.Containers[id] = append(s.Containers[id], p)
		}
	}
	return s, nil
}

// listPIDs returns the numeric entries of root, sorted, at most MaxProcesses.
func listPIDs(root string) (pids []int, truncated bool, err error) {
	d, err := os.Open(root)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrProc, err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			pid, convErr := strconv.Atoi(n)
			if convErr != nil || pid <= 0 {
				continue // self, sys, meminfo...
			}
			if len(pids) == MaxProcesses {
				truncated = true
				break
			}
			pids = append(pids, pid)
		}
		if errors.Is(err, io.EOF) || truncated {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %w", ErrProc, root, err)
		}
	}
	sort.Ints(pids)
	return pids, truncated, nil
}

// vanished reports whether err means the process exited while it was read:
// its directory is gone (ENOENT) or the kernel refuses reads of a dead
// task's files (ESRCH).
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// readProcess reads the container id (empty for a host process) and the
// seccomp state of pid.
func readProcess(root string, pid int, known map[string]bool) (string, Process, error) {
	dir := filepath.Join(root, strconv.Itoa(pid))
	cg, err := readBounded(filepath.Join(dir, "cgroup"))
	if err != nil {
		return "", Process{}, err
	}
	id := ContainerID(cg)
	if id == "" {
		id = knownID(cg, known)
	}
	if id == "" {
		return "", Process{}, nil // no need to read the status of host processes
	}
	st, err := readBounded(filepath.Join(dir, "status"))
	if err != nil {
		return "", Process{}, err
	}
	p, err := parseStatus(st)
	if err != nil {
		return "", Process{}, fmt.Errorf("%s: %w", filepath.Join(dir, "status"), err)
	}
	p.PID = pid
	return id, p, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxProcFile))
}

// errNoSeccompLine: a kernel without CONFIG_SECCOMP prints no Seccomp line.
var errNoSeccompLine = errors.New("no Seccomp: line")

// parseStatus reads the Seccomp and Seccomp_filters lines of
// /proc/PID/status.
func parseStatus(b []byte) (Process, error) {
	p := Process{Seccomp: -1, Filters: -1}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int
		switch string(key) {
		case "Seccomp":
			dst = &p.Seccomp
		case "Seccomp_filters":
			dst = &p.Filters
		default:
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if err != nil || n < 0 {
			return p, fmt.Errorf("field %s: bad value %q", key, bytes.TrimSpace(val))
		}
		*dst = n
	}
	if p.Seccomp < 0 {
		return p, errNoSeccompLine
	}
	return p, nil
}

// ContainerID returns the container id in the contents of /proc/PID/cgroup,
// or "" for a process in no container. Runtimes name a container's cgroup
// after its 64-hex id: cgroupfs ".../k8s.io/<id>" or "/default/<id>" (ctr),
// systemd "cri-containerd-<id>.scope", "docker-<id>.scope",
// "libpod-<id>.scope"; on cgroup v1 one line per hierarchy, on v2 the one
// "0::" line, on a hybrid both. The last id on a line is the innermost
// container (a kind node's containers nest in its own). Lines can disagree
// (a v1 hierarchy the runtime does not manage stays at "/"): the id named
// on the most lines wins, the first one seen on a tie.
func ContainerID(cgroup []byte) string {
	counts := map[string]int{}
	var order []string
	for line := range bytes.SplitSeq(cgroup, []byte("\n")) {
		id := lastHexID(line)
		if id == "" {
			continue
		}
		if counts[id] == 0 {
			order = append(order, id)
		}
		counts[id]++
	}
	best := ""
	for _, id := range order {
		if counts[id] > counts[best] {
			best = id
		}
	}
	return best
}

// knownID returns the first known id that is the last element of a cgroup
// path in cgroup ("12:memory:/default/NAME"), or "".
func knownID(cgroup []byte, known map[string]bool) string {
	if len(known) == 0 {
		return ""
	}
	for line := range bytes.SplitSeq(cgroup, []byte("\n")) {
		i := bytes.LastIndexByte(line, '/')
		if i < 0 {
			continue
		}
		if last := string(line[i+1:]); known[last] {
			return last
		}
	}
	return ""
}

// lastHexID returns the last run of exactly 64 lowercase hex digits in b.
func lastHexID(b []byte) string {
	last := ""
	run := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] >= 'a' && b[i] <= 'f') {
			run++
			continue
		}
		if run == 64 {
			last = string(b[i-64 : i])
		}
		run = 0
	}
	return last
}
