// Command workloads runs real applications (nginx, redis, PostgreSQL, a
// Python web app, a Node.js server, a JVM program), built here from Debian
// 12's packages, under every seccomp treatment nri-seccomp offers, through a
// real containerd with the plugin, and writes docs/compatibility.md:
// `make workloads` (root; about half an hour on 2 cores), `make
// workloads-smoke` (CI's subset).
//
//	go run ./test/workloads -relock          # re-resolve and rewrite images.lock
//	go run ./test/workloads -images          # build (or find cached) images only
//	go run ./test/workloads -bin bin/nri-seccomp -out docs/compatibility.md
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
	"github.com/nri-seccomp/nri-seccomp/test/workloads/images"
)

const lockHeader = `Debian 12 packages of the workload images (test/workloads), one line per
package of each image: image package version sha256 (of the .deb, from the
archive's signed index). The builder downloads exactly these versions and
checks the hashes. Regenerate (changes the images): go run ./test/workloads -relock`

func main() {
	var (
		relock    = flag.Bool("relock", false, "resolve each image's packages against the archive today and rewrite the lock file")
		onlyImgs  = flag.Bool("images", false, "build the images (or find them cached) and stop")
		lockPath  = flag.String("lock", "", "lock file (default test/workloads/images.lock)")
		cache     = flag.String("cache", images.DefaultCache, "cache directory for debs, root filesystems and archives")
		bin       = flag.String("bin", "", "the nri-seccomp binary (make build)")
		out       = flag.String("out", "", "write the Markdown report here")
		jsonOut   = flag.String("json", "", "also write the raw results as JSON here")
		smoke     = flag.Bool("smoke", false, "CI subset: redis and python, under hardened and their recorded profile")
		workloads = flag.String("workloads", "", "comma-separated workloads (default all)")
		cells     = flag.String("profiles", "", "comma-separated treatments (default all)")
		keepDir   = flag.String("keep", "", "copy the audit events and recorded profiles of the run into this directory")
		render    = flag.String("render", "", "re-render the report from a -json file of an earlier run (no containerd)")
		host      = flag.Bool("host", false, "development aid: run the exercises on the host, no containerd, no filter")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, options{
		relock: *relock, imagesOnly: *onlyImgs, lock: *lockPath, cache: *cache, bin: *bin,
		out: *out, json: *jsonOut, host: *host, render: *render, keep: *keepDir, smoke: *smoke, workloads: split(*workloads), cells: split(*cells),
	}); err != nil {
		fmt.Fprintf(os.Stderr, "workloads: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	relock, imagesOnly, smoke bool
	host                      bool
	lock, cache, bin, out     string
	json, render, keep        string
	workloads, cells          []string
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[workloads %s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) error {
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if o.lock == "" {
		o.lock = filepath.Join(root, "test", "workloads", "images.lock")
	}
	if o.render != "" {
		return rerender(o)
	}
	if o.relock {
		b, err := images.NewBuilder(o.cache, nil, logf)
		if err != nil {
			return err
		}
		pins, err := b.Relock(ctx, images.Defs())
		if err != nil {
			return err
		}
		logf("writing %s: %d pins", o.lock, len(pins))
		return os.WriteFile(o.lock, images.FormatLock(lockHeader, pins), 0o644)
	}
	built, took, err := buildImages(ctx, o)
	if err != nil {
		return err
	}
	if o.imagesOnly {
		for _, b := range built {
			logf("%s: %s (%s)", b.Name, b.Ref, b.Archive)
		}
		logf("images ready in %s", took.Round(100*time.Millisecond))
		return nil
	}
	if o.host {
		return hostRun(ctx, o, built)
	}
	return matrix(ctx, o, root, built, took)
}

// buildImages reads the lock and builds every image, timing the whole.
func buildImages(ctx context.Context, o options) (map[string]images.Built, time.Duration, error) {
	data, err := boundedio.ReadFile(o.lock, images.MaxLockSize)
	if err != nil {
		return nil, 0, err
	}
	pins, err := images.ParseLock(o.lock, bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	b, err := images.NewBuilder(o.cache, pins, logf)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	built := map[string]images.Built{}
	for _, d := range images.Defs() {
		if d.RootfsOnly || !wanted(o, d.Name) {
			continue
		}
		bi, err := b.Build(ctx, d)
		if err != nil {
			return nil, 0, err
		}
		built[d.Name] = bi
	}
	return built, time.Since(start), nil
}
