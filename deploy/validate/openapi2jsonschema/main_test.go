package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const swagger = `{"definitions": {
  "io.k8s.api.apps.v1.Thing": {
    "description": "dropped",
    "properties": {
      "spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.ThingSpec"},
      "port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}
    },
    "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Thing", "version": "v1"}]
  },
  "io.k8s.api.apps.v1.ThingSpec": {
    "properties": {"n": {"type": "integer", "format": "int32"}, "self": {"$ref": "#/definitions/io.k8s.api.apps.v1.ThingSpec"}}
  },
  "io.k8s.api.core.v1.Pod": {"properties": {"open": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}}},
    "x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}]},
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"}
}}`

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "swagger.json")
	if err := os.WriteFile(in, []byte(swagger), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	read := func(name string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	thing := read("thing-apps-v1.json")
	want := map[string]any{
		"additionalProperties": false,
		"properties": map[string]any{
			// The recursive ref becomes an open schema; int32 is no
			// JSON Schema format.
			"spec": map[string]any{"additionalProperties": false, "properties": map[string]any{
				"n": map[string]any{"type": "integer"}, "self": map[string]any{}}},
			"port": map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}},
		},
	}
	if !reflect.DeepEqual(thing, want) {
		got, _ := json.MarshalIndent(thing, "", " ")
		t.Errorf("thing-apps-v1.json:\n%s", got)
	}
	pod := read("pod-v1.json")
	open := pod["properties"].(map[string]any)["open"].(map[string]any)
	if _, closed := open["additionalProperties"]; closed {
		t.Error("an object that preserves unknown fields was closed")
	}
	if _, err := os.Stat(filepath.Join(out, "thingspec-apps-v1.json")); !os.IsNotExist(err) {
		t.Error("a definition without a kind got a schema file")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte(`{"definitions": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(empty, dir); err == nil {
		t.Error("no error for a document without definitions")
	}
	if err := run(filepath.Join(dir, "missing.json"), dir); !os.IsNotExist(err) {
		t.Errorf("missing input: %v", err)
	}
}
