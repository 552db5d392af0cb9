package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; a
// plain go build reports the module version, and the VCS revision below.
var version = ""

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("version", "Print the version of nri-seccomp, the VCS revision it was built from, and the\nversions of the NRI library and Go it was built with.", stderr)
	if code := parseFlags(flags, args); code >= 0 {
		return code
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	if _, err := io.WriteString(stdout, formatVersion(version, bi)); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	return exitOK
}

// formatVersion writes the three lines of `version`:
//
//	nri-seccomp v1.2.3 (NRI v0.12.3)
//	revision 53257a8cfe83..., modified, committed 2026-12-03T09:12:02Z
//	go1.26.8 linux/amd64
//
// ldVersion (-X main.version) wins over the module version. The revision
// comes from the Go toolchain's VCS stamping (vcs.revision, vcs.modified,
// vcs.time), which go build does in a git checkout unless -buildvcs=false;
// go run and go test never stamp, and then the line says so.
func formatVersion(ldVersion string, bi *debug.BuildInfo) string {
	v, nri := ldVersion, "unknown"
	vcs := map[string]string{}
	goVersion := runtime.Version()
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/containerd/nri" {
				nri = d.Version
				if d.Replace != nil {
					nri += " => " + d.Replace.Path + " " + d.Replace.Version
				}
			}
		}
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				vcs[s.Key] = s.Value
			}
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
	}
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "nri-seccomp %s (NRI %s)\n", v, nri)
	if rev := vcs["vcs.revision"]; rev != "" {
		b.WriteString("revision " + rev)
		if vcs["vcs.modified"] == "true" {
			b.WriteString(", modified")
		}
		if t := vcs["vcs.time"]; t != "" {
			b.WriteString(", committed " + t)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown (not stamped: go run, go test or -buildvcs=false)\n")
	}
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
