// Command pause is the e2e harness's pod sandbox image: it sleeps until
// SIGTERM or SIGINT and exits 0. No registry is reachable from the test
// machine, so the harness builds this instead of pulling registry.k8s.io/pause.
// It runs as PID 1 of the sandbox, where signals without a handler are
// ignored, hence the explicit handler.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
