// Package runc finds out what the node's runc can do with a seccomp
// section, so that a policy asking for something runc would refuse is rejected
// when it is loaded instead of failing every container it applies to.
package runc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// ErrNoSeccompFlags is wrapped when the runc found cannot apply seccomp filter
// flags (SECCOMP_FILTER_FLAG_LOG and friends): runc before 1.2 rejects any
// flag with "seccomp flags are not yet supported by runc".
var ErrNoSeccompFlags = errors.New("runc cannot apply seccomp flags (runc >= 1.2 is needed)")

// Bounds of the `runc --version` probe. It runs on every policy load, the
// daemon's reloads included, so a runc that hangs or floods must cost a
// bounded time and memory, not stall the reload.
const (
	// ProbeTimeout bounds the whole probe, runc's start included.
	ProbeTimeout = 5 * time.Second
	// probeWaitDelay is how long we wait for stdout to close once runc has
	// exited: a wrapper script may leave a child holding the pipe open, and
	// without a WaitDelay Wait would block until that child exits.
	probeWaitDelay = 500 * time.Millisecond
	// MaxVersionOutput is the most of `runc --version` we read; the version
	// is on the first line and the real output is a few hundred bytes.
	MaxVersionOutput = 64 << 10
)

// ErrNoAnswer is returned when runc --version did not finish before the
// context's deadline (the probe's own timeout by default).
var ErrNoAnswer = errors.New("no answer in time")

// errTooMuchOutput stops the copy from runc's pipe; runc then gets EPIPE.
var errTooMuchOutput = fmt.Errorf("more than %d bytes of output", MaxVersionOutput)

// boundedBuffer keeps up to max bytes and fails the write that would exceed
// them, so that os/exec stops reading and closes the pipe.
type boundedBuffer struct {
	buf      []byte
	max      int
	overflow bool // runc then usually dies of SIGPIPE, which Wait reports instead
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		b.overflow = true
		return 0, errTooMuchOutput
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

var versionRE = regexp.MustCompile(`(?m)^runc version (\d+)\.(\d+)\.(\d+)`)

// ParseVersion reads the first line of `runc --version`.
func ParseVersion(out string) (major, minor, patch int, err error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("unrecognised `runc --version` output %q", firstLine(out))
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	patch, _ = strconv.Atoi(m[3])
	return major, minor, patch, nil
}

// Version runs `path --version` (path looked up on PATH when it has no slash)
// within ProbeTimeout (or ctx's deadline, if sooner) and returns its combined output, at most
// MaxVersionOutput bytes.
func Version(ctx context.Context, path string) (string, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	out := &boundedBuffer{max: MaxVersionOutput}
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that a timeout kills what a wrapper script
	// started too, not only the script.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = probeWaitDelay
	err := cmd.Run()
	switch {
	case out.overflow:
		return "", fmt.Errorf("cannot run %q --version: %w", path, errTooMuchOutput)
	case ctx.Err() != nil:
		return "", fmt.Errorf("cannot run %q --version: %w (gave up after %v)", path, ErrNoAnswer, time.Since(start).Round(100*time.Millisecond))
	case errors.Is(err, exec.ErrWaitDelay):
		// runc exited successfully but something it started still holds
		// its stdout: what it printed is complete.
		return string(out.buf), nil
	case err != nil:
		return "", fmt.Errorf("cannot run %q --version: %w", path, err)
	}
	return string(out.buf), nil
}

// SeccompFlags returns nil when the runc at path (looked up on PATH when it has
// no slash) applies seccomp flags, or an error wrapping ErrNoSeccompFlags that
// says which runc and version was found, or why none could be asked.
func SeccompFlags(path string) error {
	out, err := Version(context.Background(), path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSeccompFlags, err)
	}
	major, minor, patch, err := ParseVersion(out)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoSeccompFlags, path, err)
	}
	if major < 1 || (major == 1 && minor < 2) {
		return fmt.Errorf("%w: %s is runc %d.%d.%d", ErrNoSeccompFlags, path, major, minor, patch)
	}
	return nil
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
