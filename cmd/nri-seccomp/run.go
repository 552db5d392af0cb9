package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	runtimemetrics "runtime/metrics"
	"sync"
	"syscall"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
)

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) int {
	flags := newFlagSet("run", "Connect to containerd's NRI socket and decide the seccomp profile of every\ncontainer it creates. Reconnects when containerd restarts; SIGTERM or\nSIGINT stop it. SIGHUP, or a change to the policy files, reloads the\npolicy: a policy that does not load completely is refused and the one in\nforce stays.", stderr)
	var (
		socket      = flags.String("socket", api.DefaultSocketPath, "NRI socket to connect to")
		name        = flags.String("name", "seccomp", "plugin name to register with")
		idx         = flags.String("idx", "10", "plugin index (two digits; lower runs first)")
		policyPath  = flags.String("policy", defaultPolicy, "policy file, or directory of *.yaml files")
		logFormat   = &oneOf{value: "text", allowed: []string{"text", "json"}}
		logLevel    = flags.String("log-level", "info", "log level: trace, debug, info, warn, error")
		decisionLog = flags.String("decision-log", "", "also append one JSON line per decision to this file")
		node        = flags.String("node", os.Getenv("NODE_NAME"), "node name recorded in the decision log (default $NODE_NAME, else the host name)")
		metricsAddr = flags.String("metrics-addr", "", "serve /metrics, /healthz and /readyz on this `host:port` (off when empty)")
		validate    = flags.Bool("validate", true, "also validate every container's final adjustment (rejects seccomp set by other plugins, and closes containerd's fail-open windows after a plugin crash or timeout)")
		watch       = flags.Bool("watch-policy", true, "reload the policy when its files change (SIGHUP always reloads)")
	)
	flags.Var(logFormat, "log-format", "log `format`: text or json")
	auditing := addAuditFlags(flags)   // run_audit.go
	scanning := addPostureFlags(flags) // run_posture.go
	events := addEventFlags(flags)     // run_events.go
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	if *policyPath == boundedio.Stdin {
		fmt.Fprintln(stderr, "nri-seccomp run: --policy -: the daemon rereads its policy on every change and SIGHUP; give a file or directory")
		return exitUsage
	}
	policyGiven := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "policy" {
			policyGiven = true
		}
	})

	applyMemoryLimit()

	if err := log.SetFormat(log.OutputFormat(logFormat.value)); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp run: --log-format: %v\n", err)
		return exitUsage
	}
	if err := log.SetLevel(*logLevel); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp run: --log-level: %v\n", err)
		return exitUsage
	}
	if *node == "" {
		*node, _ = os.Hostname()
	}
	logger := log.L.WithField("node", *node)

	opts := nri.Options{Logger: logger, Node: *node, Loader: loadDecider, DisableValidation: !*validate,
		OnPolicy: func() {
			logger.WithField("memory_limit", sizeMemoryLimit()).Debug("memory limit sized to the policy in force")
		}}
	if code := scanning.options(&opts, stderr); code >= 0 {
		return code
	}
	if *metricsAddr != "" {
		opts.Metrics = metrics.New()
	}
	eng, err := loadEngine(*policyPath)
	switch {
	case err == nil:
		opts.Decider = eng
		opts.PolicyPath = *policyPath
		logger.WithFields(log.Fields{"policy": *policyPath, "revision": eng.Revision(), "memory_limit": sizeMemoryLimit()}).Info("policy loaded")
	case preinstalled() && !policyGiven && errors.Is(err, fs.ErrNotExist):
		// containerd started us with no flags; the policy may be named by
		// the plugin's configuration (conf.d), which arrives later.
		logger.WithField("policy", *policyPath).Warn("no policy at the default path; waiting for the runtime configuration to name one, refusing containers until then")
		opts.PolicyFromRuntime = true
	default:
		fmt.Fprintf(stderr, "nri-seccomp: refusing to start: the policy is invalid:\n%v\n", err)
		return exitFail
	}

	if *decisionLog != "" {
		dl, err := decisionlog.Open(*decisionLog)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp: refusing to start: %v: %v\n", nri.ErrConfig, err)
			return exitFail
		}
		defer dl.Close()
		opts.DecisionLog = dl
	}

	if code := events.setup(&opts, logger, opts.Metrics, *node, stderr); code >= 0 {
		return code
	}
	p, err := nri.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp: refusing to start: %v\n", err)
		return exitFail
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: helpers are done before exit
	defer cancel()

	if opts.Metrics != nil {
		// Listen now, so that a taken port stops the start.
		ln, err := metrics.Listen(*metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp: refusing to start: --metrics-addr: %v\n", err)
			return exitFail
		}
		logger.WithField("addr", ln.Addr().String()).Info("serving metrics, /healthz and /readyz")
		wg.Go(func() {
			if err := opts.Metrics.Serve(ctx, ln); err != nil {
				logger.WithError(err).Error("metrics server stopped")
			}
		})
	}
	events.start(ctx, &wg)
	// The audit pipeline (run_audit.go) needs the plugin before it runs.
	if code := auditing.start(ctx, p, logger, opts.Metrics, *node, stderr); code >= 0 {
		return code
	}
	defer auditing.stop()
	scanning.start(ctx, &wg, logger, opts.Metrics, *decisionLog)
	if *watch {
		wg.Go(func() {
			if err := p.WatchPolicy(ctx, 0); err != nil {
				logger.WithError(err).Error("cannot watch the policy files; reload with SIGHUP")
			}
		})
	}

	sigC := make(chan os.Signal, 1)
	signal.Notify(sigC, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigC)
	wg.Go(func() { handleSignals(ctx, logger, sigC, cancel, p) })

	err = p.Run(ctx, nri.RunOptions{Socket: *socket, Name: *name, Idx: *idx})
	if err != nil {
		logger.WithError(err).Error("stopped")
		return exitFail
	}
	return exitOK
}

// handleSignals stops the daemon on SIGTERM or SIGINT and reloads the policy
// on SIGHUP, until ctx ends.
func handleSignals(ctx context.Context, logger *log.Entry, sigC <-chan os.Signal, cancel func(), p interface {
	Reload(string) (bool, error)
}) {
	for {
		select {
		case s := <-sigC:
			if s == syscall.SIGHUP {
				// Reload logs and counts its own errors.
				_, _ = p.Reload("SIGHUP")
				continue
			}
			logger.WithField("signal", s).Info("shutting down")
			cancel()
			return
		case <-ctx.Done():
			return
		}
	}
}

// preinstalled reports whether containerd started this process as a
// pre-installed plugin.
func preinstalled() bool { return os.Getenv(api.PluginSocketEnvVar) != "" }

// The daemon's soft memory limit for the Go runtime, when GOMEMLIMIT is not
// set. Without one the collector lets the heap grow to twice the live data
// between collections (GOGC=100): with a 1000-rule policy that peaked above
// 40 MiB resident. A fixed limit low enough for that policy would make the
// collector run without pause for a policy ten times larger, whose live
// heap alone is near it; so the limit follows the policy in force: its live
// heap plus memoryLimitHeadroom (caches, posture book, one creation's
// messages, garbage), at least memoryLimitFloor (docs/benchmarks.md,
// section 6). It is soft: the heap may grow past it rather than fail.
// GOMEMLIMIT (a value, or "off") overrides it.
const (
	memoryLimitFloor    = 24 << 20
	memoryLimitHeadroom = 16 << 20
)

// applyMemoryLimit sets memoryLimitFloor unless the environment sets a
// limit; sizeMemoryLimit raises it once a policy is loaded.
func applyMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimitFloor)
	}
}

// sizeMemoryLimit runs whenever another policy comes into force, off the
// creation path. It collects the garbage of loading it and returns the
// freed memory to the OS (parsing a 1000-rule policy leaves several MiB,
// which would otherwise stay resident), then, unless GOMEMLIMIT is set,
// sets the soft limit from the live heap. It returns the limit in force.
func sizeMemoryLimit() int64 {
	debug.FreeOSMemory()
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return debug.SetMemoryLimit(-1)
	}
	limit := memoryLimitFor(liveHeap())
	debug.SetMemoryLimit(limit)
	return limit
}

// memoryLimitFor is the soft limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(memoryLimitFloor, int64(min(live, 1<<50))+memoryLimitHeadroom)
}

// liveHeap is the heap the last collection found live.
func liveHeap() uint64 {
	s := []runtimemetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtimemetrics.Read(s)
	if s[0].Value.Kind() != runtimemetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
