package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/nri-seccomp/nri-seccomp/internal/audit"
	"github.com/nri-seccomp/nri-seccomp/internal/posture"
)

// defaultContainerdSocket is containerd's own default address.
const defaultContainerdSocket = "/run/containerd/containerd.sock"

const postureSynopsis = `Report the seccomp posture of the node, whatever created its containers.
Every running container process is found in /proc (its cgroup names the
container), with its seccomp state; containerd's API (all namespaces) adds
images, pods and whether the container was created through CRI (the only
containers NRI shows nri-seccomp); the daemon's --decision-log adds what
nri-seccomp decided. Exit 1 when a container runs without seccomp and
neither the policy (exempt) nor being a pod sandbox explains it.`

func cmdPosture(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("posture", postureSynopsis, stderr)
	proc := flags.String("proc", "/proc", "procfs `mount` to read processes from")
	socket := flags.String("containerd-socket", defaultContainerdSocket, "containerd's API `socket`; empty to not ask containerd")
	decisionLog := flags.String("decision-log", "", "the daemon's --decision-log `file` (- for stdin): which containers nri-seccomp decided")
	timeout := flags.Duration("timeout", 10*time.Second, "how long to wait for containerd")
	ev := addEvidenceFlags(flags) // posture_evidence.go
	output := &oneOf{value: "text", allowed: []string{"text", "json", "markdown"}}
	flags.Var(output, "output", "output `format`: text, json, or markdown (a report to file: node, time, policy, refusals, controls)")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	socketSet := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "containerd-socket" {
			socketSet = true
		}
	})
	fail := func(err error) int {
		fmt.Fprintf(stderr, "nri-seccomp posture: %v\n", err)
		return exitUsage
	}
	// Decisions first: a decision log read after the scan could name
	// containers created in between, never the other way round.
	decisions, attr, err := readDecisions(*decisionLog, stderr)
	if err != nil {
		return fail(err)
	}
	evidence, err := ev.read(attr, stderr)
	if err != nil {
		return fail(err)
	}
	in := posture.Input{Decisions: decisions}
	var notes []string
	if *socket != "" {
		meta, warnings, err := askContainerd(ctx, *socket, *timeout)
		switch {
		case err != nil && !socketSet && errors.Is(err, fs.ErrNotExist):
			notes = append(notes, fmt.Sprintf("containerd's default socket %s does not exist", *socket))
		case err != nil:
			return fail(err)
		default:
			in.Meta = meta
			notes = append(notes, warnings...)
		}
	}
	known := make(map[string]bool, len(in.Meta))
	for id := range in.Meta {
		known[id] = true
	}
	in.Scan, err = posture.ScanProc(*proc, known)
	if err != nil {
		return fail(err)
	}
	rep := posture.Build(in)
	rep.Notes = append(rep.Notes, notes...)
	switch output.value {
	case "json":
		err = writeJSON(stdout, posture.File(rep, evidence))
	case "markdown":
		err = posture.File(rep, evidence).WriteMarkdown(stdout)
	default:
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return fail(err)
	}
	if rep.Problems > 0 {
		return exitFail
	}
	return exitOK
}

// askContainerd lists containerd's containers; a socket that does not
// exist is returned as fs.ErrNotExist, before any gRPC, so that the default
// socket may be absent on a node without containerd.
func askContainerd(ctx context.Context, socket string, timeout time.Duration) (map[string]posture.Meta, []string, error) {
	if _, err := os.Stat(socket); err != nil {
		return nil, nil, fmt.Errorf("--containerd-socket: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return posture.Containerd(ctx, socket)
}

// readDecisions reads the decision log through internal/audit's reader, the one
// audit report uses too; nil when no log is given. The attributor
// attributes raw audit records of the evidence's period.
func readDecisions(name string, stderr io.Writer) (map[string]posture.Decision, *audit.DecisionLogAttributor, error) {
	if name == "" {
		return nil, nil, nil
	}
	r := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("--decision-log: %w", err)
		}
		defer f.Close()
		r = f
	}
	d, err := audit.ReadDecisionLog(name, r)
	if err != nil {
		return nil, nil, fmt.Errorf("--decision-log: %w", err)
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	out := map[string]posture.Decision{}
	for id, dec := range d.Decisions() {
		out[id] = posture.Decision{Rules: dec.Rules, Mode: dec.Mode, Exempt: dec.Exempt,
			Revision: dec.PolicyRevision, Digest: dec.Digest,
			Namespace: dec.Namespace, Pod: dec.Pod, Container: dec.Name}
	}
	return out, d, nil
}
