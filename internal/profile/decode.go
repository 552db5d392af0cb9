package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/nri-seccomp/nri-seccomp/internal/suggest"
)

// Go's encoding/json matches keys case-insensitively and lets the last of two
// equal keys win, so `"defaultAction"` twice, or `"DEFAULTACTION"` beside it,
// decodes silently to one of them. In a security profile the reader must see
// exactly what was written: decodeStrict walks the tokens first, refusing
// duplicate, case-variant and unknown keys with their line, and only then
// unmarshals.

// shape is what a JSON value in a profile may be: an object with exactly these
// keys, an array of elem, or (neither) a scalar the unmarshaller type-checks.
type shape struct {
	fields map[string]*shape
	elem   *shape
}

func object(fields map[string]*shape) *shape { return &shape{fields: fields} }
func array(elem *shape) *shape               { return &shape{elem: elem} }

var (
	scalar = &shape{}
	// kernelShape is a scalar checked while walking: moby's decoder reports a
	// bad kernel version without a position.
	kernelShape = &shape{}
	// filterShape is a Docker-format includes/excludes.
	filterShape = object(map[string]*shape{
		"caps": array(scalar), "arches": array(scalar), "minKernel": kernelShape,
	})
	// profileShape holds the keys of runtime-spec's LinuxSeccomp plus the
	// Docker/moby additions (archMap, name, comment, includes, excludes), as
	// github.com/moby/profiles/seccomp spells them.
	profileShape = object(map[string]*shape{
		"defaultAction":    scalar,
		"defaultErrnoRet":  scalar,
		"architectures":    array(scalar),
		"flags":            array(scalar),
		"listenerPath":     scalar,
		"listenerMetadata": scalar,
		"archMap": array(object(map[string]*shape{
			"architecture": scalar, "subArchitectures": array(scalar),
		})),
		"syscalls": array(object(map[string]*shape{
			"names":    array(scalar),
			"name":     scalar,
			"action":   scalar,
			"errnoRet": scalar,
			"comment":  scalar,
			"includes": filterShape,
			"excludes": filterShape,
			"args": array(object(map[string]*shape{
				"index": scalar, "value": scalar, "valueTwo": scalar, "op": scalar,
			})),
		})),
	})
)

// positions maps field paths ("syscalls[3].names[1]") to the line where the
// value (or, for an object member, its key) starts, and value start offsets
// to paths, so problems found after decoding still name their line.
type positions struct {
	line    map[string]int
	offsets []int    // start offset of each value, ascending
	paths   []string // paths[i] starts at offsets[i]
}

// lineOf returns the line of field, or of its nearest enclosing field that has
// one (a missing key is reported where its object starts); 0 if none.
func (p *positions) lineOf(field string) int {
	if p == nil {
		return 0
	}
	for field != "" {
		if l, ok := p.line[field]; ok {
			return l
		}
		field = parentPath(field)
	}
	return 0
}

// pathAt returns the innermost value that starts before offset.
func (p *positions) pathAt(offset int64) string {
	i := sort.Search(len(p.offsets), func(i int) bool { return int64(p.offsets[i]) >= offset })
	if i == 0 {
		return ""
	}
	return p.paths[i-1]
}

func parentPath(field string) string {
	if i := strings.LastIndexAny(field, ".["); i > 0 {
		return field[:i]
	}
	return ""
}

// walker reads a profile's tokens and records problems and positions.
type walker struct {
	data  []byte
	dec   *json.Decoder
	pos   *positions
	probs []Problem

	lineOff, lineNo int // incremental line counting: offsets only grow
}

// lineAt returns the 1-based line of offset, counting from the last call.
func (w *walker) lineAt(off int) int {
	off = min(off, len(w.data))
	if off < w.lineOff {
		return 1 + bytes.Count(w.data[:off], []byte("\n"))
	}
	w.lineNo += bytes.Count(w.data[w.lineOff:off], []byte("\n"))
	w.lineOff = off
	return w.lineNo
}

// next returns the offset where the next token starts, past the whitespace
// and separators the decoder has not consumed yet.
func (w *walker) next() int {
	off := int(w.dec.InputOffset())
	for off < len(w.data) {
		switch w.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (w *walker) problem(field string, line int, format string, args ...any) {
	w.probs = append(w.probs, Problem{Field: field, Line: line, Message: fmt.Sprintf(format, args...), Kind: KindDecode})
}

// value reads one value of shape sh at path.
func (w *walker) value(path string, sh *shape) error {
	start := w.next()
	line := w.lineAt(start)
	if _, ok := w.pos.line[path]; !ok {
		w.pos.line[path] = line
	}
	w.pos.offsets = append(w.pos.offsets, start)
	w.pos.paths = append(w.pos.paths, path)
	if sh == nil || (sh.fields == nil && sh.elem == nil) {
		var v json.RawMessage // a scalar (or a wrong type the unmarshaller reports)
		if err := w.dec.Decode(&v); err != nil {
			return err
		}
		if sh == kernelShape {
			var kv mobyseccomp.KernelVersion
			if err := kv.UnmarshalJSON(v); err != nil {
				w.problem(path, line, "%v", err)
			}
		}
		return nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch {
	case tok == json.Delim('{') && sh.fields != nil:
		return w.object(path, sh)
	case tok == json.Delim('[') && sh.elem != nil:
		return w.array(path, sh.elem)
	case tok == json.Delim('{') || tok == json.Delim('['):
		return w.skip() // wrong type: the unmarshaller reports it
	}
	return nil
}

func (w *walker) object(path string, sh *shape) error {
	seen := map[string]int{}
	for w.dec.More() {
		start := w.next()
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		line := w.lineAt(start)
		field := childPath(path, key)
		if first, dup := seen[key]; dup {
			w.problem(field, line, "duplicate key %q (first at line %d)", key, first)
		} else {
			seen[key] = line
		}
		child, known := sh.fields[key]
		if !known {
			w.problem(field, line, "unknown key %q%s", key, suggest.DidYouMean(key, slices.Sorted(maps.Keys(sh.fields))))
		}
		if err := w.value(field, child); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

func (w *walker) array(path string, elem *shape) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(path+"["+strconv.Itoa(i)+"]", elem); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // ']'
	return err
}

// skip reads to the end of an object or array whose opening token was read,
// without recursion (the nesting is the input's to choose).
func (w *walker) skip() error {
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeStrict decodes a profile in either format, refusing anything Go's
// decoder would otherwise read differently from what was written: duplicate
// keys, keys that differ in case, unknown keys, a top level that is not an
// object, data after the object. Problems name their line; positions lets
// later checks name theirs.
func decodeStrict(data []byte) (*mobyseccomp.Seccomp, *positions, []Problem) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, []Problem{{Line: 1, Message: "empty: expected a JSON object (a seccomp profile)", Kind: KindDecode}}
	}
	w := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lineNo: 1,
		pos: &positions{line: map[string]int{}}}
	w.dec.UseNumber()
	start := w.next()
	if start >= len(data) || data[start] != '{' {
		return nil, nil, []Problem{{Line: w.lineAt(start), Message: "expected a JSON object (a seccomp profile) at the top level", Kind: KindDecode}}
	}
	if err := w.value("", profileShape); err != nil {
		return nil, nil, append(w.probs, w.syntaxProblem(err))
	}
	if rest := w.next(); rest < len(data) {
		w.problem("", w.lineAt(rest), "trailing data after the profile object")
	}
	if len(w.probs) > 0 {
		return nil, nil, w.probs
	}
	var raw mobyseccomp.Seccomp
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // the walk refused them already; belt and braces
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, []Problem{w.typeProblem(err)}
	}
	return &raw, w.pos, nil
}

// syntaxProblem places a JSON syntax error on its line.
func (w *walker) syntaxProblem(err error) Problem {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return Problem{Line: w.lineAt(int(se.Offset)), Message: strings.TrimPrefix(se.Error(), "json: "), Kind: KindDecode}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Problem{Line: w.lineAt(len(w.data)), Message: "unexpected end of JSON: the profile is cut short", Kind: KindDecode}
	}
	return Problem{Message: err.Error(), Kind: KindDecode}
}

// typeProblem places an unmarshalling error (a string where a number belongs,
// a bad minKernel) on the value's line and field.
func (w *walker) typeProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := w.pos.pathAt(te.Offset)
		return Problem{Field: field, Line: w.pos.lineOf(field),
			Message: fmt.Sprintf("expected %s, got %s", kindName(te.Type), te.Value), Kind: KindDecode}
	}
	return Problem{Message: msg, Kind: KindDecode}
}

// kindName says in a profile's terms what the unmarshaller wanted.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t.Bits() < 64 {
			return fmt.Sprintf("a non-negative integer (at most %d)", ^uint64(0)>>(64-t.Bits()))
		}
		return "a non-negative integer"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return t.String()
}
