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
	"syscall"

	"github.com/containerd/log"
	"github.com/containerd/nri/pkg/api"

	"github.com/nri-seccomp/nri-seccomp/pkg/plugin"
)

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) int {
	flags := newFlagSet("run", "Connect to containerd's NRI socket and decide the seccomp profile of every\ncontainer it creates. Reconnects when containerd restarts; SIGTERM or\nSIGINT stop it.", stderr)
	var (
		socket      = flags.String("socket", api.DefaultSocketPath, "NRI socket to connect to")
		name        = flags.String("name", "seccomp", "plugin name to register with")
		idx         = flags.String("idx", "10", "plugin index (two digits; lower runs first)")
		policyPath  = flags.String("policy", defaultPolicy, "policy file, or directory of *.yaml files")
		logFormat   = &oneOf{value: "text", allowed: []string{"text", "json"}}
		logLevel    = flags.String("log-level", "info", "log level: trace, debug, info, warn, error")
		decisionLog = flags.String("decision-log", "", "also append one JSON line per decision to this file")
		node        = flags.String("node", os.Getenv("NODE_NAME"), "node name recorded in the decision log (default $NODE_NAME, else the host name)")
	)
	flags.Var(logFormat, "log-format", "log `format`: text or json")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	policyGiven := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "policy" {
			policyGiven = true
		}
	})

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

	opts := plugin.Options{Logger: logger, Node: *node, Loader: loadDecider}
	eng, err := loadEngine(*policyPath)
	switch {
	case err == nil:
		opts.Decider = eng
		logger.WithField("policy", *policyPath).WithField("revision", eng.Revision()).Info("policy loaded")
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
		dl, err := plugin.OpenDecisionLog(*decisionLog)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp: refusing to start: %v\n", err)
			return exitFail
		}
		defer dl.Close()
		opts.DecisionLog = dl
	}

	p, err := plugin.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "nri-seccomp: refusing to start: %v\n", err)
		return exitFail
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigC := make(chan os.Signal, 1)
	signal.Notify(sigC, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigC)
	go func() {
		select {
		case s := <-sigC:
			logger.WithField("signal", s).Info("shutting down")
			cancel()
		case <-ctx.Done():
		}
	}()

	err = p.Run(ctx, plugin.RunOptions{Socket: *socket, Name: *name, Idx: *idx})
	if err != nil {
		logger.WithError(err).Error("stopped")
		return exitFail
	}
	return exitOK
}

// preinstalled reports whether containerd started this process as a
// pre-installed plugin.
func preinstalled() bool { return os.Getenv(api.PluginSocketEnvVar) != "" }
