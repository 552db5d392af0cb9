package main

import (
	"errors"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/internal/dryrun"
	"github.com/nri-seccomp/nri-seccomp/internal/engine"
	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/runc"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("explain", `Show the decision the daemon would make for the described container: the
rules that apply (and why the others do not), the mode and the resulting
seccomp section: its default action, architectures, syscalls per action and
every call whose verdict changed from what the container had (text: the first
20; json: the section itself and "summary").
Exit 0 when the daemon would create the container, 1 when the policy or
--profile is invalid or the daemon would refuse the container, 2 on a bad flag
or a file that cannot be read.`, stderr)
	var (
		policyPath  = flags.String("policy", defaultPolicy, "policy `file`, directory of *.yaml files, or - for stdin")
		namespace   = flags.String("namespace", "default", "pod namespace")
		pod         = flags.String("pod", "pod", "pod name")
		labels      = keyValues{}
		annotations = keyValues{}
		container   = flags.String("container", "container", "container name")
		image       = flags.String("image", "", "image reference")
		profileType = &oneOf{allowed: profile.TypeNames()}
		profileFile = flags.String("profile", "", "seccomp profile the container has (OCI or Docker JSON, - for stdin); with\n--profile-type Localhost the profile file, with RuntimeDefault the runtime's default\n(the built-in runtime-default when omitted)")
		output      = outputFlag()
	)
	flags.Var(labels, "label", "pod label `key=value` (repeatable)")
	flags.Var(annotations, "annotation", "pod annotation `key=value` (repeatable)")
	flags.Var(profileType, "profile-type", "seccomp profile `type` Kubernetes asks for: Unconfined, RuntimeDefault\nor Localhost (default Unconfined, or Localhost with --profile)")
	flags.Var(output, "output", "output `format`: text or json")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}

	req := dryrun.ExplainRequest{
		Namespace: *namespace, Pod: *pod, Container: *container, Image: *image,
		Labels: labels, Annotations: annotations,
		ProfileType: profile.Type(profileType.value),
	}
	if *profileFile == "-" && *policyPath == "-" {
		fmt.Fprintln(stderr, "nri-seccomp explain: standard input (-) can be only one of --policy and --profile")
		return exitUsage
	}
	if *profileFile != "" {
		p, err := profile.LoadFile(*profileFile)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp explain: --profile: %v\n", err)
			return ioCode(err)
		}
		req.Profile = p
		if req.ProfileType == profile.TypeNone {
			req.ProfileType = profile.TypeLocalhost
		}
	}
	if req.ProfileType == profile.TypeRuntimeDefault && req.Profile == nil {
		p, err := runtimeDefault()
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp explain: %v\n", err)
			return exitFail
		}
		req.Profile = p
	}

	eng, err := engine.Load(*policyPath, engine.Options{Explain: true, SeccompFlags: runc.SeccompFlags(runcPath())})
	if err != nil {
		return reportLoadError(stderr, "explain", err)
	}
	e, err := dryrun.Explain(eng, req)
	if errors.Is(err, dryrun.ErrUsage) {
		fmt.Fprintf(stderr, "nri-seccomp explain: %v\n", err)
		flags.Usage()
		return exitUsage
	}
	if e != nil {
		write := e.WriteText
		if output.value == "json" {
			write = e.WriteJSON
		}
		if werr := write(stdout); werr != nil {
			fmt.Fprintf(stderr, "nri-seccomp explain: %v\n", werr)
			return exitUsage
		}
	}
	if err != nil {
		// The explanation says why; stderr too, so that the text and
		// JSON outputs follow the same convention.
		fmt.Fprintf(stderr, "nri-seccomp explain: %v\n", err)
		return exitFail
	}
	return exitOK
}

// runtimeDefault is what containerd puts in the spec for RuntimeDefault.
func runtimeDefault() (*specs.LinuxSeccomp, error) {
	builtins, err := engine.Builtins()
	if err != nil {
		return nil, err
	}
	b, ok := builtins["runtime-default"]
	if !ok {
		return nil, errors.New("the built-in runtime-default profile is missing from this build")
	}
	return b, nil
}
