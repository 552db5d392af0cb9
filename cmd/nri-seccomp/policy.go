package main

import (
	"os"

	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
)

// loadEngine loads a policy the way the daemon uses it; check and explain
// use the same function so that a dry run cannot drift from the daemon.
func loadEngine(path string) (*engine.Engine, error) {
	return engine.Load(path, engine.Options{SeccompFlags: runc.SeccompFlags(runcPath())})
}

// runcPath is the runc whose abilities a policy is checked against: the one
// containerd runs (NRI_SECCOMP_RUNC when the runtime's BinaryName is not the
// runc on PATH).
func runcPath() string {
	if p := os.Getenv("NRI_SECCOMP_RUNC"); p != "" {
		return p
	}
	return "runc"
}

// loadDecider is the plugin's loader for a policy named by the runtime.
func loadDecider(path string) (nri.Decider, error) {
	return loadEngine(path)
}
