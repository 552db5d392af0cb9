// Command openapi2jsonschema turns Kubernetes' OpenAPI v2 document
// (api/openapi-spec/swagger.json in the k8s.io/kubernetes module, which the
// Go module proxy serves) into the per-kind JSON schemas kubeconform reads,
// so that manifests are validated against the real API types offline.
//
// It writes <out>/<kind>[-<group>]-<version>.json for every definition with a
// group-version-kind, in kubeconform's "standalone-strict" form: $refs
// inlined, and objects closed (additionalProperties: false) so that a
// misspelt field is an error, as `kubectl apply --validate=strict` would
// report it.
//
//	go run ./deploy/validate/openapi2jsonschema SWAGGER_JSON OUT_DIR
//	go run ./deploy/validate/openapi2jsonschema -crd OUT_DIR CRD_YAML... (crd.go)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type schema = map[string]any

func main() {
	if len(os.Args) >= 4 && os.Args[1] == "-crd" {
		if err := runCRD(os.Args[2], os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, "openapi2jsonschema:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapi2jsonschema SWAGGER_JSON OUT_DIR\n       openapi2jsonschema -crd OUT_DIR CRD_YAML...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapi2jsonschema:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]schema `json:"definitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(doc.Definitions) == 0 {
		return fmt.Errorf("%s: no definitions", in)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for name, def := range doc.Definitions {
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if kind == "" || version == "" {
				continue
			}
			s := inline(doc.Definitions, name, map[string]bool{})
			file := strings.ToLower(kind)
			if group != "" {
				file += "-" + strings.ToLower(strings.Split(group, ".")[0])
			}
			file += "-" + strings.ToLower(version) + ".json"
			b, err := json.Marshal(s)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, file), b, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("%d schemas written to %s\n", n, out)
	return nil
}

// inline returns definition name with every $ref replaced by its target.
// A recursive type (a ref already being inlined) becomes an open schema.
func inline(defs map[string]schema, name string, stack map[string]bool) schema {
	switch name {
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return schema{"oneOf": []any{schema{"type": "string"}, schema{"type": "integer"}}}
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return schema{"oneOf": []any{schema{"type": "string"}, schema{"type": "number"}}}
	}
	def, ok := defs[name]
	if !ok || stack[name] {
		return schema{}
	}
	stack[name] = true
	defer delete(stack, name)
	return walk(defs, def, stack).(schema)
}

func walk(defs map[string]schema, v any, stack map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			return inline(defs, strings.TrimPrefix(ref, "#/definitions/"), stack)
		}
		out := schema{}
		for k, x := range t {
			switch k {
			case "description", "format", "x-kubernetes-group-version-kind",
				"x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
				"x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type",
				"x-kubernetes-unions":
				// Documentation and merge hints; formats such as
				// int32 or byte are not JSON Schema assertions.
				continue
			case "properties":
				props := schema{}
				for p, ps := range x.(map[string]any) {
					props[p] = walk(defs, ps, stack)
				}
				out[k] = props
			default:
				out[k] = walk(defs, x, stack)
			}
		}
		if _, has := out["properties"]; has && out["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := out["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = walk(defs, x, stack)
		}
		return out
	}
	return v
}
