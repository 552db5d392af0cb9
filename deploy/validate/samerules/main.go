// Command samerules checks that every PrometheusRule in a manifest stream
// (helm template's or kustomize's output, or a file) has exactly the groups
// of a Prometheus rules file: deploy/monitoring/alerts.yaml is the one
// source of the alerts, and a copy that drifted would alert differently.
// The comparison is of the decoded YAML, so formatting may differ.
//
//	go run ./deploy/validate/samerules RULES_FILE MANIFESTS
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: samerules RULES_FILE MANIFESTS")
		os.Exit(2)
	}
	n, err := check(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "samerules:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d PrometheusRule(s) with the rules of %s\n", os.Args[2], n, os.Args[1])
}

// check returns how many PrometheusRules it compared; none is an error.
func check(rulesFile, manifests string) (int, error) {
	src, err := os.ReadFile(rulesFile)
	if err != nil {
		return 0, err
	}
	var want any
	if err := yaml.Unmarshal(src, &want); err != nil {
		return 0, fmt.Errorf("%s: %w", rulesFile, err)
	}
	data, err := os.ReadFile(manifests)
	if err != nil {
		return 0, err
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	n := 0
	for i := 1; ; i++ {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: document %d: %w", manifests, i, err)
		}
		raw, err := yamlv3.Marshal(doc)
		if err != nil {
			return n, err
		}
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec any `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return n, fmt.Errorf("%s: document %d: %w", manifests, i, err)
		}
		if obj.Kind != "PrometheusRule" {
			continue
		}
		n++
		if !reflect.DeepEqual(obj.Spec, want) {
			return n, fmt.Errorf("%s: PrometheusRule %s: spec differs from %s (run hack/genmonitoring.sh)", manifests, obj.Metadata.Name, rulesFile)
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no PrometheusRule", manifests)
	}
	return n, nil
}
