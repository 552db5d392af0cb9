package main

import (
	"fmt"
	"io"

	"github.com/nri-seccomp/nri-seccomp/pkg/plugin"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("check", "Load and validate a policy and every profile it uses, exactly as the daemon\nwould. Prints every problem as file:line: field: message and exits 1, or a\none-line summary and exits 0. Also warns about profiles under which runc\ncannot start any container.", stderr)
	policyPath := flags.String("policy", defaultPolicy, "policy file, or directory of *.yaml files (-: standard input)")
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}

	eng, err := loadEngine(*policyPath)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return exitFail
	}
	summary := plugin.CheckPolicy(eng.Policy())
	for _, w := range summary.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintln(stdout, summary)
	return exitOK
}
