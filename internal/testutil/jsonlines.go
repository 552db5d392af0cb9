package testutil

import (
	"encoding/json"
	"strings"
	"testing"
)

// JSONLines decodes every line of s into a map, failing the test on a line
// that is not one JSON object.
func JSONLines(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
