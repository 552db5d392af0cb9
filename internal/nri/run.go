package nri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
)

// Default reconnect backoff: quick enough to be back before the first pod
// after a containerd restart (containerd is ready in ~0.2 s), capped so a
// node without containerd is not hammered.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// RunOptions says how to reach the runtime.
type RunOptions struct {
	// Socket is the NRI socket; api.DefaultSocketPath when empty.
	Socket string
	// Name and Idx register the plugin. When the runtime started the
	// plugin itself (NRI_PLUGIN_NAME / NRI_PLUGIN_IDX are set), the
	// runtime's values win, since they are what it expects to hear back.
	Name string
	Idx  string
	// Backoff bounds for reconnecting; the defaults when zero.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// Run connects to the runtime and serves it until ctx is cancelled. When the
// runtime closes the connection (a containerd restart) or cannot be reached,
// Run reconnects with a capped exponential backoff: the stub's own Run
// returns on a lost connection, and a plugin that quietly went away would
// leave every later container unfiltered.
//
// Run returns nil when ctx is cancelled, an ErrConfig error for a
// configuration it cannot run with, and, for a plugin started by the runtime
// itself on a pre-connected socket (NRI_PLUGIN_SOCKET), nil once that
// connection closes: such a socket cannot be dialled again, and the runtime
// starts a fresh plugin process when it comes back.
func (p *Plugin) Run(ctx context.Context, o RunOptions) error {
	opts, name, err := stubOptions(o)
	if err != nil {
		return err
	}
	minB, maxB := o.MinBackoff, o.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB < minB {
		maxB = max(DefaultMaxBackoff, minB)
	}
	preconnected := os.Getenv(api.PluginSocketEnvVar) != ""
	logger := p.logger.WithFields(log.Fields{"plugin": name, "socket": o.socketOrDefault()})
	if preconnected {
		logger = p.logger.WithFields(log.Fields{"plugin": name, "socket": "fd " + os.Getenv(api.PluginSocketEnvVar)})
	}

	p.self.Store(&name)

	backoff := minB
	for attempt := 1; ; attempt++ {
		s, err := stub.New(p.stubPlugin(), opts...)
		if err != nil {
			return fmt.Errorf("%w: creating the NRI stub: %w", ErrConfig, err)
		}
		p.mu.RLock()
		before := p.configured
		p.mu.RUnlock()

		logger.WithField("attempt", attempt).Info("connecting to the runtime")
		err = s.Run(ctx)
		p.metrics.Connected(false)

		p.mu.RLock()
		connected := p.configured != before
		p.mu.RUnlock()

		if ctx.Err() != nil {
			logger.Info("stopped")
			return nil
		}
		if errors.Is(err, ErrConfig) {
			return err
		}
		if preconnected {
			if !connected {
				return fmt.Errorf("serving the runtime on its pre-connected socket: %w", err)
			}
			logger.WithError(err).Info("the runtime closed the connection it started this plugin with; exiting so that it can start a fresh one")
			return nil
		}
		if connected {
			// The connection worked: the next failure starts the
			// backoff from scratch.
			backoff, attempt = minB, 0
		}
		logger.WithError(err).WithField("retry_in", backoff.String()).Warn("runtime connection lost or unavailable, reconnecting")

		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			logger.Info("stopped")
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
}

// withoutValidation is the plugin as the stub sees it when validation is
// disabled. The stub subscribes to an event when the plugin has the method;
// a method of the same name with another signature shadows the promoted
// one, so the stub finds no validator and subscribes to everything else.
type withoutValidation struct{ *Plugin }

// ValidateContainerAdjustment is never called; it only hides the real one.
func (withoutValidation) ValidateContainerAdjustment() {}

func (p *Plugin) stubPlugin() any {
	if p.validating {
		return p
	}
	return withoutValidation{p}
}

func (o RunOptions) socketOrDefault() string {
	if o.Socket == "" {
		return api.DefaultSocketPath
	}
	return o.Socket
}

// stubOptions validates name and index up front, so that a typo is a
// configuration error at start rather than a registration failure retried
// forever.
func stubOptions(o RunOptions) ([]stub.Option, string, error) {
	name, idx := o.Name, o.Idx
	var opts []stub.Option
	if env := os.Getenv(api.PluginNameEnvVar); env != "" {
		name = env
	} else {
		opts = append(opts, stub.WithPluginName(name))
	}
	if env := os.Getenv(api.PluginIdxEnvVar); env != "" {
		// stub.New reads it too and refuses a second index.
		idx = env
	} else {
		opts = append(opts, stub.WithPluginIdx(idx))
	}
	if err := api.CheckPluginName(name); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := api.CheckPluginIndex(idx); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrConfig, err)
	}
	opts = append(opts, stub.WithSocketPath(o.socketOrDefault()))
	return opts, idx + "-" + name, nil
}
