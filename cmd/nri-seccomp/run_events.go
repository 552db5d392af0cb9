package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/log"

	"github.com/nri-seccomp/nri-seccomp/internal/kubeevents"
	"github.com/nri-seccomp/nri-seccomp/internal/metrics"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
)

// eventsRun holds `run --kube-events` flags and, once set up, the sink.
type eventsRun struct {
	enabled   *bool
	apiServer *string
	sink      *kubeevents.Sink
}

// addEventFlags adds the Kubernetes Events flags to run's flag set.
func addEventFlags(fs *flag.FlagSet) *eventsRun {
	return &eventsRun{
		enabled:   fs.Bool("kube-events", false, "post a Kubernetes Event on each pod whose container's seccomp the plugin set or changed (needs create and patch on events; docs/events.md)"),
		apiServer: fs.String("kube-api-server", "", "API server for --kube-events, `https://host:port` (default: the in-cluster KUBERNETES_SERVICE_HOST/PORT); the service-account token and CA are used either way"),
	}
}

// setup builds the sink and gives it to the plugin's options. It returns -1
// to go on, or an exit code.
func (e *eventsRun) setup(opts *nri.Options, logger *log.Entry, m *metrics.Metrics, node string, stderr io.Writer) int {
	if !*e.enabled {
		if *e.apiServer != "" {
			fmt.Fprintln(stderr, "nri-seccomp run: --kube-api-server needs --kube-events")
			return exitUsage
		}
		return -1
	}
	server, err := kubeevents.InCluster(*e.apiServer)
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp: refusing to start: --kube-events: %v\n", err)
		return exitFail
	}
	o := kubeevents.Options{Server: server, Node: node, Logger: logger}
	if reg := m.Registry(); reg != nil {
		o.Registerer = reg
	}
	if e.sink, err = kubeevents.New(o); err != nil {
		fmt.Fprintf(stderr, "nri-seccomp: refusing to start: --kube-events: %v\n", err)
		return exitFail
	}
	opts.Events = e.sink
	logger.WithField("api_server", server.URL).Info("posting seccomp decisions as Kubernetes Events")
	return -1
}

// start runs the sink until ctx ends.
func (e *eventsRun) start(ctx context.Context, wg *sync.WaitGroup) {
	if e.sink != nil {
		wg.Go(func() { e.sink.Run(ctx) })
	}
}
