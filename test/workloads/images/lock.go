package images

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// ErrLock is wrapped by every problem found in a lock file, so callers can
// tell a bad lock from a failed download.
var ErrLock = errors.New("invalid lock file")

// MaxLockSize bounds the lock file: a few hundred lines of about 120 bytes.
const MaxLockSize = 1 << 20

// Pin is one package of one image, at the exact version and with the SHA256
// the Debian archive's signed Packages index gave when the lock was written.
type Pin struct {
	Image   string
	Package string
	Version string
	SHA256  string
}

// Line is the pin as the lock file writes it.
func (p Pin) Line() string {
	return p.Image + " " + p.Package + " " + p.Version + " " + p.SHA256
}

// What Debian allows in names and versions (Debian Policy 5.6.1, 5.6.12),
// and image names as test/workloads spells them.
var (
	imageRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	packageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	versionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseLock reads a lock file: one pin per line, "image package version
// sha256", blank lines and lines starting with # ignored. Every problem is
// reported, as name:line: message, and the lock is used only when there is
// none: a pin with a typo must not silently build another image.
func ParseLock(name string, r io.Reader) ([]Pin, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLockSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxLockSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrLock, name, MaxLockSize)
	}
	var (
		pins []Pin
		errs []error
		seen = map[[2]string]int{}
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), MaxLockSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := parsePin(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s:%d: %v", ErrLock, name, n, err))
			continue
		}
		key := [2]string{p.Image, p.Package}
		if first, ok := seen[key]; ok {
			errs = append(errs, fmt.Errorf("%w: %s:%d: %s %s pinned twice (first at line %d)", ErrLock, name, n, p.Image, p.Package, first))
			continue
		}
		seen[key] = n
		pins = append(pins, p)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %s: %v", ErrLock, name, err))
	}
	if len(errs) == 0 && len(pins) == 0 {
		errs = append(errs, fmt.Errorf("%w: %s: no pins", ErrLock, name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return pins, nil
}

func parsePin(line string) (Pin, error) {
	f := strings.Fields(line)
	if len(f) != 4 {
		return Pin{}, fmt.Errorf("want 4 fields (image package version sha256), got %d", len(f))
	}
	p := Pin{Image: f[0], Package: f[1], Version: f[2], SHA256: f[3]}
	switch {
	case !imageRE.MatchString(p.Image):
		return Pin{}, fmt.Errorf("image %q: want lower-case letters, digits and '-'", p.Image)
	case !packageRE.MatchString(p.Package):
		return Pin{}, fmt.Errorf("package %q is not a Debian package name", p.Package)
	case !versionRE.MatchString(p.Version):
		return Pin{}, fmt.Errorf("version %q of %s is not a Debian version", p.Version, p.Package)
	case !sha256RE.MatchString(p.SHA256):
		return Pin{}, fmt.Errorf("sha256 %q of %s: want 64 lower-case hex digits", p.SHA256, p.Package)
	}
	return p, nil
}

// FormatLock writes pins sorted by image and package under header (each
// line of it prefixed with "# ").
func FormatLock(header string, pins []Pin) []byte {
	pins = append([]Pin(nil), pins...)
	sort.Slice(pins, func(i, j int) bool {
		if pins[i].Image != pins[j].Image {
			return pins[i].Image < pins[j].Image
		}
		return pins[i].Package < pins[j].Package
	})
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	for _, p := range pins {
		b.WriteString(p.Line() + "\n")
	}
	return b.Bytes()
}

// PinsOf returns the pins of one image, in lock order.
func PinsOf(pins []Pin, image string) []Pin {
	var out []Pin
	for _, p := range pins {
		if p.Image == image {
			out = append(out, p)
		}
	}
	return out
}
