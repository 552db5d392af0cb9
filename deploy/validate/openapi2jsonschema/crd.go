package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// runCRD writes the schema of every version of each CustomResourceDefinition
// file, named and closed like the built-in kinds, so that kubeconform checks
// custom resources (the Prometheus Operator's PrometheusRule and
// ServiceMonitor, from its module's example/prometheus-operator-crd/) as
// strictly as a DaemonSet. A CRD's schema has no $refs; walk only drops the
// documentation and closes the objects.
func runCRD(out string, files []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema schema `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		// YAML 1.2 (yaml/v3): under YAML 1.1 rules a property named n,
		// y, on or off would be read as a boolean key. Not strict: a CRD
		// has many fields this does not read.
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		js, err := json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := json.Unmarshal(js, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" || crd.Spec.Names.Kind == "" || crd.Spec.Group == "" {
			return fmt.Errorf("%s: not a CustomResourceDefinition with a group and a kind", f)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema.OpenAPIV3Schema == nil {
				return fmt.Errorf("%s: version %s has no openAPIV3Schema", f, v.Name)
			}
			s := walk(nil, v.Schema.OpenAPIV3Schema, map[string]bool{})
			name := fmt.Sprintf("%s-%s-%s.json", strings.ToLower(crd.Spec.Names.Kind),
				strings.ToLower(strings.Split(crd.Spec.Group, ".")[0]), strings.ToLower(v.Name))
			b, err := json.Marshal(s)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("%d schemas written to %s\n", n, out)
	return nil
}
