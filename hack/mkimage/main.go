// Command mkimage writes nri-seccomp's OCI image as an archive without a
// Docker daemon: the binary `make build` produced plus what the
// Dockerfile's final stage copies, with the same user, entrypoint and cmd,
// named and versioned after the Helm chart. The output depends only on its
// inputs (no wall clock, fixed owners and modes, sorted entries), so one
// commit gives one digest.
//
//	go run ./hack/mkimage -binary bin/nri-seccomp -revision $(git rev-parse HEAD) -created $(git log -1 --format=%ct)
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/nri-seccomp/nri-seccomp/internal/ociimage"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

// options are mkimage's inputs; build is a function of them alone.
type options struct {
	Root     string // the build context: Dockerfile, policies, docs, chart
	Binary   []byte
	Arch     string
	Revision string
	Created  time.Time
}

// result is what build wrote.
type result struct {
	Path     string
	Name     string
	Manifest ociimage.Descriptor
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	root := fl.String("root", ".", "the repository (build context)")
	binary := fl.String("binary", "bin/nri-seccomp", "the static binary (make build)")
	outDir := fl.String("out-dir", "bin", "where the archive goes")
	revision := fl.String("revision", "", "the commit (org.opencontainers.image.revision)")
	created := fl.String("created", "", "Unix seconds of the image's creation: SOURCE_DATE_EPOCH or the commit time")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 || *revision == "" || *created == "" {
		return errors.New("usage: mkimage -revision COMMIT -created UNIX_SECONDS [-root DIR] [-binary PATH] [-out-dir DIR]")
	}
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		return fmt.Errorf("-created %q: want Unix seconds: %w", *created, err)
	}
	arch, err := elfArch(*binary)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	res, err := build(options{Root: *root, Binary: bin, Arch: arch, Revision: *revision, Created: time.Unix(secs, 0)}, *outDir)
	if err != nil {
		return err
	}
	// Read it back as containerd would: every digest and size must hold.
	if _, err := ociimage.Read(res.Path); err != nil {
		return fmt.Errorf("verifying what was written: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n  image  %s (linux/%s)\n  digest %s\n", res.Path, res.Name, arch, res.Manifest.Digest)
	return nil
}

// build writes the image archive into outDir.
func build(o options, outDir string) (result, error) {
	ch, err := readChart(filepath.Join(o.Root, "deploy/helm/nri-seccomp"))
	if err != nil {
		return result{}, err
	}
	dockerfile := filepath.Join(o.Root, "Dockerfile")
	f, err := os.Open(dockerfile)
	if err != nil {
		return result{}, err
	}
	st, err := parseFinalStage(f, dockerfile)
	f.Close()
	if err != nil {
		return result{}, err
	}
	files, err := layerFiles(st, o.Root, o.Binary)
	if err != nil {
		return result{}, err
	}
	res := result{
		Path: filepath.Join(outDir, "nri-seccomp-image-"+ch.AppVersion+".oci.tar"),
		Name: ch.imageName(),
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return result{}, err
	}
	res.Manifest, err = ociimage.Write(res.Path, ociimage.Spec{
		Name:         res.Name,
		Files:        files,
		Entrypoint:   st.Entrypoint,
		Cmd:          st.Cmd,
		User:         st.User,
		Labels:       ch.labels(o),
		Created:      o.Created,
		Architecture: o.Arch,
		CreatedBy:    "hack/mkimage (make image) from the Dockerfile's final stage",
	})
	return res, err
}

// chart is what the image takes from the Helm chart: its name and version
// must be what the chart deploys by default.
type chart struct {
	AppVersion  string
	Description string
	Home        string
	Repository  string
	Tag         string
}

func readChart(dir string) (chart, error) {
	var meta struct {
		AppVersion  string `json:"appVersion"`
		Description string `json:"description"`
		Home        string `json:"home"`
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	for file, v := range map[string]any{"Chart.yaml": &meta, "values.yaml": &values} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return chart{}, err
		}
		// Not strict: the chart has many keys mkimage does not need.
		if err := yaml.Unmarshal(data, v); err != nil {
			return chart{}, fmt.Errorf("%s: %w", filepath.Join(dir, file), err)
		}
	}
	c := chart{AppVersion: meta.AppVersion, Description: meta.Description, Home: meta.Home,
		Repository: values.Image.Repository, Tag: values.Image.Tag}
	if c.AppVersion == "" || c.Repository == "" {
		return chart{}, fmt.Errorf("%s: Chart.yaml appVersion and values.yaml image.repository must be set", dir)
	}
	return c, nil
}

// imageName is the chart's default image: its template falls back to the
// appVersion when image.tag is empty.
func (c chart) imageName() string {
	tag := c.Tag
	if tag == "" {
		tag = c.AppVersion
	}
	return c.Repository + ":" + tag
}

// labels follows the OCI annotation conventions (image-spec annotations.md).
// The repository has no LICENSE file yet, hence SPDX's NOASSERTION.
func (c chart) labels(o options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "nri-seccomp",
		"org.opencontainers.image.description": c.Description,
		"org.opencontainers.image.source":      c.Home,
		"org.opencontainers.image.version":     c.AppVersion,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.licenses":    "NOASSERTION",
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
}
