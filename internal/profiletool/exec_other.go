//go:build !linux

package profiletool

import (
	"context"
	"errors"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestOptions configure RunTest (Linux only).
type TestOptions struct {
	Self   []string
	Log    bool
	Native specs.Arch
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

var errNotLinux = errors.New("profile test needs Linux (seccomp)")

// RunTest needs Linux.
func RunTest(context.Context, *specs.LinuxSeccomp, []string, TestOptions) (*TestReport, error) {
	return nil, errNotLinux
}

// ChildMain needs Linux.
func ChildMain(_ []string, stderr io.Writer) int {
	fmt.Fprintln(stderr, errNotLinux)
	return 126
}
