package policy

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The policy is decoded by walking yaml.Node trees rather than unmarshalling into
// structs: only the node walk knows the line of every key and value, sees
// duplicate keys (yaml.v3 keeps both in a Node) and can report every unknown key
// instead of the first.
//
// Aliases (*name) and merge keys (<<) are refused. Nothing in the format needs
// them, and following aliases would let a small document expand exponentially or
// refer to itself.

// walker decodes one policy file.
type walker struct {
	l    *loader
	file string
	dir  string // profile file paths are relative to this
}

// entry is one key/value pair of a mapping.
type entry struct {
	key  string
	k, v *yaml.Node
}

func (w *walker) addf(n *yaml.Node, field, format string, args ...any) {
	p := Problem{File: w.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	w.l.add(p)
}

func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// describe names a node's type for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a value tagged " + n.ShortTag()
	}
	return "nothing"
}

// isAlias reports (and flags) an alias where a value was expected.
func (w *walker) isAlias(n *yaml.Node, path string) bool {
	if n.Kind != yaml.AliasNode {
		return false
	}
	w.addf(n, path, "YAML aliases (*%s) are not supported in a policy; write the value out", n.Value)
	return true
}

// expect checks a node's kind.
func (w *walker) expect(n *yaml.Node, kind yaml.Kind, path string) bool {
	if w.isAlias(n, path) {
		return false
	}
	if n.Kind == kind {
		return true
	}
	want := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a string"}[kind]
	hint := ""
	if kind == yaml.SequenceNode && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		hint = fmt.Sprintf(" (write [%s])", n.Value)
	}
	if kind == yaml.MappingNode && n.ShortTag() == "!!null" {
		hint = " (write {} for an empty mapping)"
	}
	w.addf(n, path, "expected %s, got %s%s", want, describe(n), hint)
	return false
}

// str decodes a string value. Numbers and timestamps are taken as written
// (a namespace may well be called "2024"), but null and booleans are refused:
// `tier: yes` or an empty value is almost never what was meant.
func (w *walker) str(n *yaml.Node, path string) (string, bool) {
	if w.isAlias(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		w.addf(n, path, "expected a string, got %s", describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return n.Value, true
	case "!!bool":
		w.addf(n, path, "expected a string, got a boolean (quote it: %q)", n.Value)
	default:
		w.addf(n, path, "expected a string, got %s", describe(n))
	}
	return "", false
}

// entries returns a mapping's pairs in order, reporting non-string keys,
// merge keys and duplicate keys (the later one is dropped).
func (w *walker) entries(n *yaml.Node, path string) ([]entry, bool) {
	if !w.expect(n, yaml.MappingNode, path) {
		return nil, false
	}
	out := make([]entry, 0, len(n.Content)/2)
	first := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			w.addf(k, path, "merge keys (<<) are not supported in a policy; write the keys out")
			continue
		}
		key, ok := w.str(k, path)
		if !ok {
			continue
		}
		if prev, dup := first[key]; dup {
			w.addf(k, child(path, key), "duplicate key %q (first at line %d)", key, prev.Line)
			continue
		}
		first[key] = k
		out = append(out, entry{key: key, k: k, v: v})
	}
	return out, true
}

// fields decodes a mapping with a fixed set of keys. Unknown keys are errors,
// with a suggestion when one is close; belongsUnder names keys that are valid
// one level down (e.g. "namespaces" directly under a rule instead of under
// match), the commonest structural slip.
func (w *walker) fields(n *yaml.Node, path string, known []string, belongsUnder map[string]string) (map[string]entry, bool) {
	es, ok := w.entries(n, path)
	if !ok {
		return nil, false
	}
	out := make(map[string]entry, len(es))
	for _, e := range es {
		if slices.Contains(known, e.key) {
			out[e.key] = e
			continue
		}
		msg := fmt.Sprintf("unknown field %q", e.key)
		if parent, ok := belongsUnder[e.key]; ok {
			msg += fmt.Sprintf(" (it belongs under %s:)", parent)
		} else if s := suggest(e.key, known); s != "" {
			msg += hintFor(s)
		} else {
			msg += fmt.Sprintf(" (valid fields: %s)", strings.Join(known, ", "))
		}
		w.addf(e.k, child(path, e.key), "%s", msg)
	}
	return out, true
}

// item is a string from a list, with its node for positions.
type item struct {
	s    string
	n    *yaml.Node
	path string
}

// stringList decodes a list of strings; the bool is false if the value is not a
// list at all.
func (w *walker) stringList(n *yaml.Node, path string) ([]item, bool) {
	if !w.expect(n, yaml.SequenceNode, path) {
		return nil, false
	}
	out := make([]item, 0, len(n.Content))
	for i, c := range n.Content {
		p := index(path, i)
		if s, ok := w.str(c, p); ok {
			out = append(out, item{s: s, n: c, path: p})
		}
	}
	return out, true
}
