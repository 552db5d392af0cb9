// Package runcinfo finds out what the node's runc can do with a seccomp
// section, so that a policy asking for something runc would refuse is rejected
// when it is loaded instead of failing every container it applies to.
package runcinfo

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// ErrNoSeccompFlags is wrapped when the runc found cannot apply seccomp filter
// flags (SECCOMP_FILTER_FLAG_LOG and friends): runc before 1.2 rejects any
// flag with "seccomp flags are not yet supported by runc".
var ErrNoSeccompFlags = errors.New("runc cannot apply seccomp flags (runc >= 1.2 is needed)")

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

// SeccompFlags returns nil when the runc at path (looked up on PATH when it has
// no slash) applies seccomp flags, or an error wrapping ErrNoSeccompFlags that
// says which runc and version was found, or why none could be asked.
func SeccompFlags(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: cannot run %q --version: %v", ErrNoSeccompFlags, path, err)
	}
	major, minor, patch, err := ParseVersion(string(out))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoSeccompFlags, path, err)
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
