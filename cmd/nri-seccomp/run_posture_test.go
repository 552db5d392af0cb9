package main

import (
	"flag"
	"io"
	"reflect"
	"testing"

	"github.com/nri-seccomp/nri-seccomp/internal/decisionlog"
	"github.com/nri-seccomp/nri-seccomp/internal/nri"
	"github.com/nri-seccomp/nri-seccomp/internal/posture"
)

// The daemon's decision hook carries what the decision log carries: the
// rules, the policy revision and the digest of the section answered; a
// refused creation is no decision.
func TestPostureDecisionHook(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	r := addPostureFlags(fs)
	var opts nri.Options
	if code := r.options(&opts, io.Discard); code != -1 || opts.OnDecision == nil {
		t.Fatalf("options: code %d, hook set %v", code, opts.OnDecision != nil)
	}
	opts.OnDecision(decisionlog.Entry{ContainerID: "c1", Namespace: "team", Pod: "web", Container: "app",
		Rules: []string{"team-default"}, Mode: "enforce", Digest: "sha256:aa", PolicyRevision: "sha256:5d18"})
	opts.OnDecision(decisionlog.Entry{ContainerID: "c2", Error: "no profile"})
	want := map[string]posture.Decision{"c1": {Rules: []string{"team-default"}, Mode: "enforce",
		Revision: "sha256:5d18", Digest: "sha256:aa", Namespace: "team", Pod: "web", Container: "app"}}
	if got := r.book.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("book %+v, want %+v", got, want)
	}
}
