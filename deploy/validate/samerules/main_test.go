package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rules = `groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        annotations: {summary: "{{ $labels.instance }} down"}
`

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := write("alerts.yaml", rules)
	same := "kind: Service\nmetadata: {name: s}\n---\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      annotations:\n        summary: '{{ $labels.instance }} down'\n      expr: up == 0\n"
	for _, tc := range []struct {
		name, manifests, err string
	}{
		{"same rules, other formatting", same, ""},
		{"an expression changed", strings.Replace(same, "up == 0", "up == 1", 1), "PrometheusRule r: spec differs"},
		{"an annotation dropped", strings.Replace(same, "      annotations:\n        summary: '{{ $labels.instance }} down'\n", "", 1), "spec differs"},
		{"no PrometheusRule", "kind: Service\nmetadata: {name: s}\n", "no PrometheusRule"},
		{"not YAML", "kind: [", "document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := check(src, write("m.yaml", tc.manifests))
			if tc.err == "" {
				if err != nil || n != 1 {
					t.Fatalf("check = %d, %v; want 1, nil", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("check error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}
