//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

// images are built once per test binary run and imported into each test's
// own containerd.
var images harness.ImageArchives

func TestMain(m *testing.M) {
	if path := os.Getenv(rawRmdirEnv); path != "" {
		os.Exit(rawRmdir(path)) // a child of TestAuditdRules
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e tests need root (containerd, runc, mounts, cgroups)")
		return 1
	}
	if _, err := harness.FindTools(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e tools missing:\n%v\n", err)
		return 1
	}
	if err := harness.CleanStale(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "warning: cleaning up after earlier runs: %v\n", err)
	}
	dir, err := os.MkdirTemp("", "e2e-images-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := harness.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	images, err = harness.BuildImages(ctx, root, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "build e2e images: %v\n", err)
		return 1
	}
	fmt.Printf("e2e images built in %s: %s, %s\n", time.Since(start).Round(time.Millisecond),
		filepath.Base(images.Busybox), filepath.Base(images.Pause))
	if hostIA32, err = harness.HostIA32(ctx, filepath.Join(dir, "syscall-probe")); err != nil {
		fmt.Fprintf(os.Stderr, "checking the kernel's 32-bit entry: %v\n", err)
		return 1
	}
	if !hostIA32 {
		fmt.Println("e2e: this kernel has IA-32 emulation off (int $0x80 faults): checks through the i386 entry cannot run and are listed at the end")
	}
	code := m.Run()
	if len(notRun.checks) > 0 {
		fmt.Printf("e2e: NOT RUN on this kernel (IA-32 emulation off, no 32-bit entry to filter): %d i386 checks\n", len(notRun.checks))
		for _, c := range notRun.checks {
			fmt.Printf("  NOT RUN %s\n", c)
		}
	}
	return code
}
