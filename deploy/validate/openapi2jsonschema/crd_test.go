package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.monitoring.example.com}
spec:
  group: monitoring.example.com
  names: {kind: Thing, plural: things}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: dropped
        type: object
        properties:
          spec:
            type: object
            properties:
              n: {type: integer, format: int32}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {a: {type: string}}}
`

func TestRunCRD(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "crd.yaml")
	if err := os.WriteFile(in, []byte(crd), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := runCRD(out, []string{in}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "thing-monitoring-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
		"spec": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"n":    map[string]any{"type": "integer"},
			"free": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": map[string]any{"a": map[string]any{"type": "string"}}},
		}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schema:\n got %v\nwant %v", got, want)
	}
}

func TestRunCRDBad(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text, err string }{
		{"not a CRD", "kind: Service\n", "not a CustomResourceDefinition"},
		{"no schema", "kind: CustomResourceDefinition\nspec: {group: g.x, names: {kind: K}, versions: [{name: v1}]}\n", "version v1 has no openAPIV3Schema"},
		{"not YAML", "kind: [", "crd.yaml"},
	} {
		in := filepath.Join(dir, "crd.yaml")
		if err := os.WriteFile(in, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		err := runCRD(filepath.Join(dir, "out"), []string{in})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.err)
		}
	}
}
