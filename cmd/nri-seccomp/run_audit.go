package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/log"

	"github.com/nri-seccomp/nri-seccomp/internal/audit/live"
	"github.com/nri-seccomp/nri-seccomp/internal/audit/source"
	"github.com/nri-seccomp/nri-seccomp/internal/containers"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
	"github.com/nri-seccomp/nri-seccomp/internal/procevents"
)

// auditRun holds `run --audit` flags and, once started, the pipeline.
type auditRun struct {
	enabled *bool
	source  *string
	events  *string
	window  *time.Duration
	burst   *int
	follow  *bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
	file   *os.File
}

// addAuditFlags adds the audit flags to run's flag set.
func addAuditFlags(fs *flag.FlagSet) *auditRun {
	return &auditRun{
		enabled: fs.Bool("audit", false, "read the kernel's seccomp audit records and report them per pod (events in the log, counters in the metrics)"),
		source:  fs.String("audit-source", "auto", "where records are read: auto (auditd's log when an auditd runs, else the kernel log), kmsg, or a log file to follow"),
		events:  fs.String("audit-events", "", "also append each audit event as a JSON line to this `file` (input for audit report and record)"),
		window:  fs.Duration("audit-window", 10*time.Second, "rate-limit window: the first record of a container+syscall+action is logged, the rest summed up at the end of the window"),
		burst:   fs.Int("audit-burst", 200, "records logged one by one per window, all containers together; the rest go into summaries"),
		follow:  fs.Bool("audit-follow-processes", true, "follow process creation (the kernel's process-events connector; needs CAP_NET_ADMIN, the host's network and PID namespaces) so that short-lived processes are attributed; false: from /proc only"),
	}
}

// start wires the registry into the plugin and starts the pipeline. It
// returns -1 to go on, or an exit code. Call stop when the daemon ends.
func (a *auditRun) start(ctx context.Context, p *nri.Plugin, logger *log.Entry, m *metrics.Metrics, node string, stderr io.Writer) int {
	if !*a.enabled {
		return -1
	}
	if *a.source == "" {
		fmt.Fprintln(stderr, "nri-seccomp run: --audit-source: empty")
		return exitUsage
	}
	if *a.window <= 0 || *a.burst <= 0 {
		fmt.Fprintln(stderr, "nri-seccomp run: --audit-window and --audit-burst must be positive")
		return exitUsage
	}
	var events io.Writer
	if *a.events != "" {
		f, err := os.OpenFile(*a.events, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp: refusing to start: --audit-events: %v\n", err)
			return exitFail
		}
		a.file, events = f, f
	}
	var (
		counters live.Counters
		prom     *live.PromCounters
	)
	if promReg := m.Registry(); promReg != nil {
		c, err := live.NewPromCounters(promReg)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp: refusing to start: %v\n", err)
			return exitFail
		}
		counters, prom = c, c
	}
	src := source.Choose(*a.source, auditWarn(logger, prom))

	ctrs := containers.New()
	if prom != nil {
		// A container's series go when the registry forgets it.
		ctrs.OnForget(func(c containers.Container) { prom.Forget(c.Namespace, c.Pod, c.Name) })
	}
	p.SetRegistry(ctrs)
	pipe := live.NewPipeline(live.PipelineOptions{
		Attributor: ctrs, Counters: counters, Window: *a.window, Burst: *a.burst, Node: node,
		Emit: func(ev live.Event) { live.Emit(logger, events, ev) },
	})
	ctx, a.cancel = context.WithCancel(ctx)
	a.followProcesses(ctx, ctrs, logger, prom)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		logger.WithField("source", src.String()).Info("reading seccomp audit records")
		if err := pipe.Run(ctx, src); err != nil {
			// The plugin keeps enforcing; only the reporting stopped.
			logger.WithError(err).Error("seccomp audit records: stopped reading")
		}
	}()
	return -1
}

// followProcesses feeds the registry's process table from the kernel's
// process-events connector, so that a process's container is known from its
// fork and a record read after it exited is still attributed. Without the
// connector (no CAP_NET_ADMIN, no CONFIG_PROC_EVENTS) the daemon warns and
// attributes from /proc only. Either way a ticker expires what the registry
// keeps for its grace periods (removed containers, exited processes).
func (a *auditRun) followProcesses(ctx context.Context, ctrs *containers.Registry, logger *log.Entry, prom *live.PromCounters) {
	feed := &procFeed{ctrs: ctrs, prom: prom}
	var (
		l   *procevents.Listener
		err = errors.New("off (--audit-follow-processes=false)")
	)
	if *a.follow {
		l, err = procevents.Listen()
	}
	if err != nil {
		logger.WithError(err).Warn("seccomp audit: not following process creation (needs CAP_NET_ADMIN and a kernel with CONFIG_PROC_EVENTS); " +
			"records of short-lived processes are attributed from /proc only, and most come out unknown")
	} else {
		ctrs.FollowProcesses()
		if prom != nil {
			if err := prom.ObserveProcesses(ctrs.Processes); err != nil {
				logger.WithError(err).Warn("seccomp audit: process table metrics")
			}
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer l.Close()
			logger.Info("seccomp audit: following process creation (process-events connector)")
			if err := l.Run(ctx, feed); err != nil {
				logger.WithError(err).Error("seccomp audit: process events: stopped reading; attributing from /proc only")
			}
		}()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if !feed.selfCheck(ctx, startSelf, 5*time.Second) && ctx.Err() == nil {
				logger.Warn("seccomp audit: subscribed to process events but none arrived for a process started to check: " +
					"the kernel ignores subscribers outside the host's PID namespace (run with hostPID); attributing from /proc only")
			}
		}()
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(expireEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// After a loss, a sweep of /proc marks the processes
				// whose exit was missed; at most once per tick.
				if feed.lost.Swap(false) {
					ctrs.ProcEventsLost()
				}
				ctrs.Expire()
			}
		}
	}()
}

// expireEvery is how often the registry drops what outlived its grace.
const expireEvery = 10 * time.Second

// procFeed hands the connector's events to the registry.
type procFeed struct {
	ctrs   *containers.Registry
	prom   *live.PromCounters
	lost   atomic.Bool
	events atomic.Int64
}

// selfCheck starts a process (start) and reports whether any process event
// arrived within limit: a subscription from outside the host's PID
// namespace is accepted by the kernel and silently never served.
func (f *procFeed) selfCheck(ctx context.Context, start func(context.Context) error, limit time.Duration) bool {
	before := f.events.Load()
	if err := start(ctx); err != nil {
		return true // cannot tell; say nothing
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for f.events.Load() == before {
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
			return false
		case <-tick.C:
		}
	}
	return true
}

// startSelf runs this binary's `version`: a short-lived process whose fork,
// exec and exit the connector reports.
func startSelf(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "version")
	cmd.WaitDelay = time.Second
	return cmd.Run()
}

func (f *procFeed) Event(ev procevents.Event) {
	f.events.Add(1)
	switch ev.Kind {
	case procevents.Fork:
		f.ctrs.Forked(ev.Parent, ev.PID)
	case procevents.Exec:
		f.ctrs.Execed(ev.PID)
	case procevents.Exit:
		f.ctrs.Exited(ev.PID)
	}
}

func (f *procFeed) Lost() {
	f.lost.Store(true)
	if f.prom != nil {
		f.prom.ProcessEventsLost()
	}
}

// auditWarn reports each line a followed file (auditd's log found by auto,
// or one named) skips for being over its limit: a warning naming the file
// and offset, and the lines-skipped counter when there are metrics. Without
// this the line, and any record in it, would be gone without a trace.
func auditWarn(logger *log.Entry, prom *live.PromCounters) func(source.Warning) {
	return func(w source.Warning) {
		// A fresh entry per warning: the shared logger is not modified.
		logger.WithField("file", printable.String(w.File)).Warn("seccomp audit source: " + w.Msg)
		if prom != nil {
			prom.SkippedLine()
		}
	}
}

// stop ends the pipeline and closes the events file.
func (a *auditRun) stop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.file != nil {
		a.file.Close()
	}
}
