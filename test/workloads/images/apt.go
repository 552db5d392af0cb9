package images

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotPinned means the archive no longer offers a pinned version (Debian
// keeps only the newest version of a package in a suite): the lock needs
// regenerating, which changes the images, so it is never done silently.
var ErrNotPinned = errors.New("pinned package version not available")

// Sources are the Debian 12 suites the images come from: the machine's own
// mirror, with the archive's signing keys. A private apt configuration
// (lists, cache, an empty dpkg status) keeps the host's apt setup, its
// other repositories and its installed packages out of the resolution.
const Sources = `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
`

// apt runs apt-get and apt-cache against the private configuration under dir.
type apt struct{ dir string }

func newApt(dir string) (*apt, error) {
	for _, d := range []string{"lists/partial", "cache/archives/partial", "etc", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "sources.list"), []byte(Sources), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return nil, err
	}
	return &apt{dir: dir}, nil
}

func (a *apt) options() []string {
	d := a.dir
	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(d, "etc", "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(d, "empty"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(d, "empty", "none"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(d, "empty"),
		"-o", "Dir::State::Lists=" + filepath.Join(d, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(d, "status"),
		"-o", "Dir::Cache=" + filepath.Join(d, "cache"),
		"-o", "APT::Architecture=amd64",
		"-o", "APT::Architectures::=amd64",
		"-o", "Acquire::Languages=none",
		// Root downloads into a root-owned cache; the _apt sandbox user
		// could not write there.
		"-o", "APT::Sandbox::User=root",
	}
}

func (a *apt) run(ctx context.Context, workdir, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, append(a.options(), args...)...)
	cmd.Dir = workdir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// update fetches the package lists when there are none yet, or when force.
func (a *apt) update(ctx context.Context, force bool) error {
	if !force {
		if m, _ := filepath.Glob(filepath.Join(a.dir, "lists", "*_Packages*")); len(m) > 0 {
			return nil
		}
	}
	_, err := a.run(ctx, a.dir, "apt-get", "update")
	return err
}

// resolve returns the packages (name and version) apt would install for
// roots on an empty system, without recommends: the dependency closure.
func (a *apt) resolve(ctx context.Context, roots []string) ([][2]string, error) {
	out, err := a.run(ctx, a.dir, "apt-get", append([]string{"install", "-s", "--no-install-recommends"}, roots...)...)
	if err != nil {
		return nil, err
	}
	var pkgs [][2]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "Inst" || !strings.HasPrefix(f[2], "(") {
			continue
		}
		pkgs = append(pkgs, [2]string{f[1], strings.TrimPrefix(f[2], "(")})
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("apt resolved nothing for %s:\n%s", strings.Join(roots, " "), out)
	}
	return pkgs, nil
}

// sha256s returns the SHA256 the archive's Packages index gives for each
// package=version, in one apt-cache call (one call per package takes
// minutes for a few hundred).
func (a *apt) sha256s(ctx context.Context, pkgs [][2]string) (map[[2]string]string, error) {
	args := []string{"show"}
	for _, p := range pkgs {
		args = append(args, p[0]+"="+p[1])
	}
	out, err := a.run(ctx, a.dir, "apt-cache", args...)
	if err != nil {
		return nil, err
	}
	sums := map[[2]string]string{}
	var name, version string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case l == "":
			name, version = "", ""
		case strings.HasPrefix(l, "Package: "):
			name = strings.TrimSpace(strings.TrimPrefix(l, "Package: "))
		case strings.HasPrefix(l, "Version: "):
			version = strings.TrimSpace(strings.TrimPrefix(l, "Version: "))
		case strings.HasPrefix(l, "SHA256: "):
			sums[[2]string{name, version}] = strings.TrimSpace(strings.TrimPrefix(l, "SHA256: "))
		}
	}
	for _, p := range pkgs {
		if sums[p] == "" {
			return nil, fmt.Errorf("apt-cache show %s=%s: no SHA256", p[0], p[1])
		}
	}
	return sums, nil
}

// download fetches the exact versions into dir (apt checks them against
// the signed index; the caller checks them against the lock).
func (a *apt) download(ctx context.Context, dir string, pins []Pin) error {
	args := []string{"download"}
	for _, p := range pins {
		args = append(args, p.Package+"="+p.Version)
	}
	if _, err := a.run(ctx, dir, "apt-get", args...); err != nil {
		var names []string
		for _, p := range pins {
			names = append(names, p.Package+"="+p.Version)
		}
		return fmt.Errorf("%w: %s (regenerate the lock: go run ./test/workloads -relock): %v", ErrNotPinned, strings.Join(names, " "), err)
	}
	return nil
}
