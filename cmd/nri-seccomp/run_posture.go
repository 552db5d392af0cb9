package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/containerd/log"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/posture"
	"github.com/nri-seccomp/nri-seccomp/internal/printable"
)

// postureRun holds `run`'s posture flags: the periodic scan of every
// container on the node (docs/posture.md), exported as gauges and logged.
type postureRun struct {
	interval *time.Duration
	socket   *string
	proc     *string
	book     *posture.Book
}

func addPostureFlags(fs *flag.FlagSet) *postureRun {
	return &postureRun{
		interval: fs.Duration("posture-interval", 30*time.Second, "scan every container on the node this often (gauges nri_seccomp_containers{state}, a log line per new unfiltered container); 0 turns it off"),
		socket:   fs.String("posture-containerd-socket", defaultContainerdSocket, "containerd's API `socket` for the posture scan (images, pods, containers outside CRI); empty to not ask"),
		proc:     fs.String("posture-proc", "/proc", "procfs `mount` the posture scan reads"),
	}
}

// options sets the plugin's decision hook; call before nri.New. It
// returns an exit code, or -1 to go on.
func (r *postureRun) options(opts *nri.Options, stderr io.Writer) int {
	if *r.interval < 0 {
		fmt.Fprintln(stderr, "nri-seccomp run: --posture-interval: negative")
		return exitUsage
	}
	if *r.interval == 0 {
		return -1
	}
	r.book = posture.NewBook()
	opts.OnDecision = func(rec decisionlog.Entry) {
		if rec.Error != "" {
			return // refused: the container never runs
		}
		r.book.Note(rec.ContainerID, posture.Decision{Rules: rec.Rules, Mode: rec.Mode, Exempt: rec.Exempt,
			Revision: rec.PolicyRevision, Digest: rec.Digest,
			Namespace: rec.Namespace, Pod: rec.Pod, Container: rec.Container}, rec.Time)
	}
	return -1
}

// start runs the scans in wg until ctx ends. decisionLog, when set, seeds the
// book first: containers decided before this daemon started are then not
// counted as filtered otherwise.
func (r *postureRun) start(ctx context.Context, wg *sync.WaitGroup, logger *log.Entry, m *metrics.Metrics, decisionLog string) {
	if r.book == nil {
		return
	}
	mon := &posture.Monitor{
		Proc: *r.proc, Book: r.book, Gauges: m, Interval: *r.interval, Now: time.Now,
		NewProblem: func(c posture.Container) {
			logger.WithFields(log.Fields{
				"container_id": printable.String(c.ID), "containerd_namespace": printable.String(c.ContainerdNamespace),
				"pod": printable.String(c.PodNamespace) + "/" + printable.String(c.Pod), "container": printable.String(c.Name),
				"image": printable.String(c.Image), "reach": c.Reach, "class": c.Class,
				"processes": c.Processes, "unfiltered_processes": c.Unfiltered,
				"policy_revision": printable.String(c.Revision), "filter": c.Filter,
			}).Warn("posture: " + c.Problem)
		},
		ContainerdFailed: func(err error) {
			if err == nil {
				logger.Info("posture: containerd answers again")
				return
			}
			logger.WithError(err).Warn("posture: cannot ask containerd; scanning without its view (containers outside CRI cannot be told apart)")
		},
		ScanFailed: func(err error) { logger.WithError(err).Error("posture: scan failed") },
	}
	if *r.socket != "" {
		socket := *r.socket
		mon.Containerd = func(ctx context.Context) (map[string]posture.Meta, []string, error) {
			return askContainerd(ctx, socket, 5*time.Second)
		}
	}
	wg.Go(func() {
		if decisionLog != "" {
			r.seed(decisionLog, logger)
		}
		logger.WithField("interval", r.interval.String()).Info("posture: scanning every container on the node")
		mon.Run(ctx)
	})
}

// seed reads the decision log once, through the reader the command uses.
func (r *postureRun) seed(name string, logger *log.Entry) {
	if _, err := os.Stat(name); err != nil {
		return // a new log: nothing decided before
	}
	decisions, _, err := readDecisions(name, io.Discard)
	if err != nil {
		logger.WithError(err).Warn("posture: cannot read the decision log; containers decided before this start count as filtered otherwise")
		return
	}
	// Noted at the zero time: the first scan prunes those not running.
	for id, d := range decisions {
		r.book.Note(id, d, time.Time{})
	}
}
