// Command genruntimedefault writes policies/profiles/runtime-default.json:
// the seccomp profile containerd 2.4.2's CRI plugin gives a container whose
// pod asks for RuntimeDefault, computed by containerd's own code rather than
// copied by hand.
//
// CRI builds the container spec from oci.GenerateSpecWithPlatform, whose
// default capabilities come from defaultUnixCaps() in
// containerd v2.4.2 pkg/oci/spec.go (populateDefaultUnixSpec), then applies
// contrib/seccomp.WithDefaultProfile (internal/cri/sputil/seccomp_linux.go),
// which calls DefaultProfile on that spec. This program does the same, with
// no capabilities added or dropped, so the result is what a plain pod gets.
//
// DefaultProfile depends on the machine it runs on, and this program refuses
// to run where the result would differ from what nri-seccomp ships:
//   - runtime.GOARCH selects the architectures and the arch-specific
//     syscalls; the committed file is the amd64 one (x86_64, x86, x32);
//   - the running kernel's version is checked: process_vm_readv,
//     process_vm_writev and ptrace are allowed only on kernel >= 4.8.
//
// Usage (see the go:generate line in policies/policies.go):
//
//	go -C hack/genruntimedefault run . -o ../../policies/profiles/runtime-default.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/kernelversion"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
)

func main() {
	out := flag.String("o", "runtime-default.json", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genruntimedefault:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("must run on amd64 (GOARCH=%s): containerd picks architectures and arch-specific syscalls from the running binary's GOARCH", runtime.GOARCH)
	}
	ok, err := kernelversion.GreaterEqualThan(kernelversion.KernelVersion{Kernel: 4, Major: 8})
	if err != nil {
		return fmt.Errorf("reading the kernel version: %w", err)
	}
	if !ok {
		return errors.New("kernel older than 4.8: containerd would leave ptrace and process_vm_* out of the profile")
	}

	// GenerateSpec wants a namespace, as every containerd call does; CRI
	// uses k8s.io. It does not change the profile.
	ctx := namespaces.WithNamespace(context.Background(), "k8s.io")
	spec, err := oci.GenerateSpecWithPlatform(ctx, nil, "linux/amd64",
		&containers.Container{ID: "runtime-default"}, seccomp.WithDefaultProfile())
	if err != nil {
		return fmt.Errorf("generating the default spec: %w", err)
	}
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return errors.New("containerd produced no seccomp profile")
	}
	b, err := json.MarshalIndent(spec.Linux.Seccomp, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the profile: %w", err)
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}
