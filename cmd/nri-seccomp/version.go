package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a
// plain go build reports the module version or the VCS revision.
var version = ""

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("version", "Print the version of nri-seccomp and of the NRI library it speaks.", stderr)
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	v, nri := version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
					v = "(devel) " + s.Value
				}
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/containerd/nri" {
				nri = d.Version
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(stdout, "nri-seccomp %s (NRI %s)\n", v, nri)
	return exitOK
}
