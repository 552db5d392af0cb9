package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultCache is where install.sh puts its binaries unless $E2E_CACHE says otherwise.
const DefaultCache = "/var/cache/nri-seccomp-e2e"

// ErrNotInstalled means a binary the harness needs is missing: run install.sh.
var ErrNotInstalled = errors.New("e2e tool not installed (run test/e2e/install.sh)")

// Tools are the absolute paths of the binaries the harness runs.
type Tools struct {
	Containerd string
	Shim       string // containerd-shim-runc-v2; its directory goes first on PATH
	Ctr        string
	Crictl     string
	Runc       string // Debian's runc 1.1.5 (the default runtime binary)
	Runc12     string // runc 1.2.8 built with libseccomp, for seccomp flags
}

// CacheDir is $E2E_CACHE or DefaultCache.
func CacheDir() string {
	if d := os.Getenv("E2E_CACHE"); d != "" {
		return d
	}
	return DefaultCache
}

// FindTools locates every tool and reports all missing ones at once.
func FindTools() (Tools, error) {
	cache := CacheDir()
	bin := filepath.Join(cache, "bin")
	t := Tools{
		Containerd: filepath.Join(bin, "containerd"),
		Shim:       filepath.Join(bin, "containerd-shim-runc-v2"),
		Ctr:        filepath.Join(bin, "ctr"),
		Crictl:     filepath.Join(bin, "crictl"),
		Runc:       "/usr/sbin/runc",
		Runc12:     filepath.Join(cache, "runc-v1.2.8", "runc"),
	}
	var missing []error
	for _, p := range []string{t.Containerd, t.Shim, t.Ctr, t.Crictl, t.Runc, t.Runc12} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, fmt.Errorf("%w: %s", ErrNotInstalled, p))
		}
	}
	return t, errors.Join(missing...)
}

// ModuleRoot walks up from the working directory to the directory holding
// go.mod, so tests (run in test/e2e) and the CLI (run anywhere in the repo)
// build the probe from the same sources.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
