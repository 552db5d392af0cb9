package main

import (
	"github.com/nri-seccomp/nri-seccomp/pkg/engine"
	"github.com/nri-seccomp/nri-seccomp/pkg/plugin"
)

// loadEngine loads a policy the way the daemon uses it; check and explain
// use the same function so that a dry run cannot drift from the daemon.
func loadEngine(path string) (*engine.Engine, error) {
	return engine.Load(path, engine.Options{})
}

// loadDecider is the plugin's loader for a policy named by the runtime.
func loadDecider(path string) (plugin.Decider, error) {
	return loadEngine(path)
}
