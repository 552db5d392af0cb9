// Command e2e drives the end-to-end harness outside `go test`: it builds the
// test images, starts and stops a private containerd for manual use, and
// runs the demo (test/e2e/demo.sh). Run it as root from the repository.
//
//	e2e images --out DIR
//	e2e up --dir DIR [--images DIR] [--required-plugin NAME] [--request-timeout D]
//	e2e down --dir DIR
//	e2e demo --plugin BIN --policy FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nri-seccomp/nri-seccomp/test/e2e/harness"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "images":
		err = cmdImages(ctx, os.Args[2:])
	case "up":
		err = cmdUp(ctx, os.Args[2:])
	case "down":
		err = cmdDown(ctx, os.Args[2:])
	case "demo":
		err = cmdDemo(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: e2e images --out DIR | up --dir DIR [--images DIR] [--required-plugin NAME] [--request-timeout D] | down --dir DIR | demo --plugin BIN --policy FILE")
	os.Exit(2)
}

func cmdImages(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("images", flag.ExitOnError)
	out := fs.String("out", "", "directory for the OCI archives (required)")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	a, err := harness.BuildImages(ctx, root, *out)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n%s\n", a.Busybox, a.Pause)
	return nil
}

func cmdUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", "", "state directory, created if missing (required; keep it short: socket paths)")
	images := fs.String("images", "", "directory with busybox.oci.tar and pause.oci.tar (built when empty)")
	required := fs.String("required-plugin", "", "enable NRI's default validator requiring this plugin")
	reqTimeout := fs.Duration("request-timeout", 2*time.Second, "NRI plugin_request_timeout")
	regTimeout := fs.Duration("registration-timeout", 5*time.Second, "NRI plugin_registration_timeout")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if *images == "" {
		*images = filepath.Join(abs, "images")
		if err := cmdImages(ctx, []string{"--out", *images}); err != nil {
			return err
		}
	}
	opts := harness.ContainerdOptions{
		Dir:                       abs,
		Detach:                    true,
		PluginRequestTimeout:      *reqTimeout,
		PluginRegistrationTimeout: *regTimeout,
		Images: harness.ImageArchives{
			Busybox: filepath.Join(*images, "busybox.oci.tar"),
			Pause:   filepath.Join(*images, "pause.oci.tar"),
		},
	}
	if *required != "" {
		opts.RequiredPlugins = []string{*required}
	}
	c, err := harness.StartContainerd(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf("CONTAINERD_PID=%d\nCONTAINERD_SOCKET=%s\nNRI_SOCKET=%s\nCRICTL_CONFIG=%s\nCONTAINERD_LOG=%s\n",
		c.Pid, c.Socket, c.NRISocket, c.CrictlConf, c.LogPath)
	return nil
}

func cmdDown(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := fs.String("dir", "", "state directory given to up (required)")
	_ = fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	c, err := harness.Attach(abs)
	if err != nil {
		return err
	}
	return c.Stop(ctx)
}
