package main

import (
	"errors"
	"fmt"
	"github.com/nri-seccomp/nri-seccomp/pkg/runcinfo"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nri-seccomp/nri-seccomp/pkg/engine"
	"github.com/nri-seccomp/nri-seccomp/pkg/plugin"
	"github.com/nri-seccomp/nri-seccomp/pkg/profile"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("explain", "Show the decision the daemon would make for the described container: the\nrules that apply (and why the others do not), the mode and the resulting\nseccomp section. Exits 1 when the policy is invalid or the daemon would\nrefuse the container.", stderr)
	var (
		policyPath  = flags.String("policy", defaultPolicy, "policy file, or directory of *.yaml files (-: standard input)")
		namespace   = flags.String("namespace", "default", "pod namespace")
		pod         = flags.String("pod", "pod", "pod name")
		labels      = keyValues{}
		annotations = keyValues{}
		container   = flags.String("container", "container", "container name")
		image       = flags.String("image", "", "image reference")
		profileType = &oneOf{allowed: []string{"Unconfined", "RuntimeDefault", "Localhost"}}
		profileFile = flags.String("profile", "", "seccomp profile the container has (OCI or Docker JSON; -: standard input); with\n--profile-type Localhost the profile file, with RuntimeDefault the runtime's default\n(the built-in runtime-default when omitted)")
		output      = &oneOf{value: "text", allowed: []string{"text", "json"}}
	)
	flags.Var(labels, "label", "pod label `key=value` (repeatable)")
	flags.Var(annotations, "annotation", "pod annotation `key=value` (repeatable)")
	flags.Var(profileType, "profile-type", "seccomp profile `type` Kubernetes asks for: Unconfined, RuntimeDefault\nor Localhost (default Unconfined, or Localhost with --profile)")
	flags.Var(output, "output", "output `format`: text or json")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}

	req := plugin.ExplainRequest{
		Namespace: *namespace, Pod: *pod, Container: *container, Image: *image,
		Labels: labels, Annotations: annotations,
		ProfileType: plugin.ProfileType(profileType.value),
	}
	if *profileFile == "-" && *policyPath == "-" {
		fmt.Fprintln(stderr, "nri-seccomp explain: standard input (-) can be only one of --policy and --profile")
		return exitUsage
	}
	if *profileFile != "" {
		p, err := profile.LoadFile(*profileFile)
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp explain: --profile: %v\n", err)
			return exitFail
		}
		req.Profile = p
		if req.ProfileType == plugin.ProfileTypeNone {
			req.ProfileType = plugin.ProfileTypeLocalhost
		}
	}
	if req.ProfileType == plugin.ProfileTypeRuntimeDefault && req.Profile == nil {
		p, err := runtimeDefault()
		if err != nil {
			fmt.Fprintf(stderr, "nri-seccomp explain: %v\n", err)
			return exitFail
		}
		req.Profile = p
	}

	eng, err := engine.Load(*policyPath, engine.Options{Explain: true, SeccompFlags: runcinfo.SeccompFlags(runcPath())})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	e, err := plugin.Explain(eng, req)
	if errors.Is(err, plugin.ErrUsage) {
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
			return exitFail
		}
	}
	if err != nil {
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
