package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.yaml.in/yaml/v3"

	"github.com/nri-seccomp/nri-seccomp/internal/boundedio"
)

// maxFileSize bounds every file the loader reads. Policies and profiles are a
// few kilobytes; the bound keeps a mistaken path (a log file, /proc/kcore) from
// exhausting memory.
const maxFileSize = boundedio.MaxPolicySize

// stdinName names standard input ("-") in problems.
const stdinName = "standard input"

// Load reads a policy from a file, or from every *.yaml and *.yml file of a
// directory (not its subdirectories) in lexical order, as one rule list. Names
// starting with '.' are skipped, so editor temporaries and the "..data"
// entries of a Kubernetes ConfigMap mount are not read twice.
func Load(path string, opts Options) (*Policy, error) {
	l := newLoader(opts)
	if path == boundedio.Stdin {
		// Profile files it names are relative to the working directory.
		data, err := readFile(path)
		if err != nil {
			l.noteFile(stdinName)
			l.unread = true
			l.add(Problem{File: stdinName, Message: "cannot read policy: " + errText(err), Err: err})
			return l.finish()
		}
		l.parseFile(stdinName, stdinName, data)
		return l.finish()
	}
	fi, err := os.Stat(path)
	if err != nil {
		l.unread = true
		l.add(Problem{File: path, Message: "cannot read policy: " + errText(err), Err: err})
		return l.finish()
	}
	if !fi.IsDir() {
		l.loadFile(path, filepath.Base(path))
		return l.finish()
	}
	des, err := os.ReadDir(path)
	if err != nil {
		l.unread = true
		l.add(Problem{File: path, Message: "cannot read policy directory: " + errText(err), Err: err})
		return l.finish()
	}
	n := 0
	for _, de := range des { // os.ReadDir sorts by name
		name := de.Name()
		if strings.HasPrefix(name, ".") || (filepath.Ext(name) != ".yaml" && filepath.Ext(name) != ".yml") {
			continue
		}
		full := filepath.Join(path, name)
		if st, err := os.Stat(full); err == nil && st.IsDir() {
			continue // a directory named *.yaml is not a policy file
		}
		n++
		l.loadFile(full, name)
	}
	if n == 0 {
		l.unread = true
		l.add(Problem{File: path, Message: "no *.yaml or *.yml files in the policy directory"})
	}
	return l.finish()
}

// Parse loads a policy from one document. file names it in problems, and
// profile files are resolved relative to its directory.
func Parse(data []byte, file string, opts Options) (*Policy, error) {
	l := newLoader(opts)
	l.parseFile(file, filepath.Base(file), data)
	return l.finish()
}

// loader accumulates one policy across files.
type loader struct {
	opts  Options
	pol   *Policy
	probs []Problem
	sum   hash.Hash

	fileOrder map[string]int // for sorting problems in reading order

	// Where to report "no rules": the first `rules:` key, else the first
	// document.
	rulesSeen  int // rule entries seen, valid or not
	rulesKeyAt *Problem
	rootAt     *Problem
	unread     bool // some file could not be read or parsed as YAML

	ruleAt    map[string]Problem // rule name -> where first defined
	profileAt map[string]Problem // declared profile name -> where
	refs      []profileRef
}

// profileRef is a rule's use of a profile name, checked once every file has
// declared its profiles.
type profileRef struct {
	name string
	at   Problem // position and field
}

func newLoader(opts Options) *loader {
	return &loader{
		opts: opts,
		pol: &Policy{
			Profiles: map[string]*specs.LinuxSeccomp{},
			builtins: opts.Builtins,
		},
		sum:       sha256.New(),
		fileOrder: map[string]int{},
		ruleAt:    map[string]Problem{},
		profileAt: map[string]Problem{},
	}
}

func (l *loader) add(p Problem) { l.probs = append(l.probs, p) }

// hashPart feeds length-prefixed fields into the revision, so that no two
// different sequences of files hash the same input.
func (l *loader) hashPart(parts ...string) {
	for _, p := range parts {
		fmt.Fprintf(l.sum, "%d:%s;", len(p), p)
	}
}

func (l *loader) loadFile(file, name string) {
	data, err := readFile(file)
	if err != nil {
		l.noteFile(file)
		l.unread = true
		l.add(Problem{File: file, Message: "cannot read policy: " + errText(err), Err: err})
		return
	}
	l.parseFile(file, name, data)
}

func (l *loader) noteFile(file string) {
	if _, ok := l.fileOrder[file]; !ok {
		l.fileOrder[file] = len(l.fileOrder)
	}
}

// parseFile decodes one policy document. name is the file's name relative to
// the loaded path, which is what the revision covers.
func (l *loader) parseFile(file, name string, data []byte) {
	l.noteFile(file)
	l.pol.Files = append(l.pol.Files, file)
	l.hashPart("policy", name, string(data))
	root := l.decodeYAML(file, data)
	if root == nil {
		l.unread = true
		return
	}
	w := &walker{l: l, file: file, dir: filepath.Dir(file)}
	w.document(root)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML returns the document's root node, or nil after reporting why there
// is none.
func (l *loader) decodeYAML(file string, data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library has panicked on hostile input in the past; a bad policy
		// must be a problem report, never a crashed daemon.
		if r := recover(); r != nil {
			l.add(Problem{File: file, Message: fmt.Sprintf("cannot parse YAML: %v", r)})
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(Problem{File: file, Line: 1, Message: "the file is empty (expected apiVersion, kind and rules)"})
		} else {
			l.yamlError(file, data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		line := max(next.Line, 1)
		if len(next.Content) > 0 && next.Content[0].Line > 0 {
			line = next.Content[0].Line
		}
		l.add(Problem{File: file, Line: line, Message: "more than one YAML document in a file; put each document in its own file of a policy directory"})
	case !errors.Is(err, io.EOF):
		l.yamlError(file, data, err)
		return nil
	}
	root = &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		l.add(Problem{File: file, Line: max(root.Line, 1), Message: "the document is empty (expected apiVersion, kind and rules)"})
		return nil
	}
	return root
}

var unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

func (l *loader) yamlError(file string, data []byte, err error) {
	p := Problem{File: file, Message: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: err}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = "YAML syntax error: " + m[2]
	} else if m := unknownAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		// The parser gives no line here, and the usual cause is an unquoted
		// pattern such as *-prod, which YAML reads as an alias: find it.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			p.Line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
		p.Message += fmt.Sprintf(" (a value starting with '*' must be quoted: \"*%s\")", m[1])
	}
	l.add(p)
}

// finish runs the checks that need every file, and returns the policy only if
// there is no problem at all.
func (l *loader) finish() (*Policy, error) {
	l.checkProfileRefs()
	// "No rules" only when every file was read: a file that failed to parse may
	// well have held them.
	if l.rulesSeen == 0 && !l.unread {
		var p Problem
		switch {
		case l.rulesKeyAt != nil:
			p = *l.rulesKeyAt
		case l.rootAt != nil:
			p = *l.rootAt
		}
		p.Field = "rules"
		p.Message = "policy has no rules (a policy that changes nothing is almost certainly a mistake)"
		l.add(p)
	}
	if len(l.probs) > 0 {
		slices.SortStableFunc(l.probs, func(a, b Problem) int {
			return cmp.Or(
				cmp.Compare(l.fileOrder[a.File], l.fileOrder[b.File]),
				cmp.Compare(a.Line, b.Line),
				cmp.Compare(a.Column, b.Column))
		})
		return nil, &LoadError{Problems: l.probs}
	}
	// Built-in profiles the rules use are part of what decides, so a binary
	// upgrade that changes one changes the revision too.
	var used []string
	for _, r := range l.pol.Rules {
		if _, declared := l.pol.Profiles[r.Profile]; r.Profile != "" && !declared {
			used = append(used, r.Profile)
		}
	}
	slices.Sort(used)
	for _, name := range slices.Compact(used) {
		b, err := json.Marshal(l.opts.Builtins[name])
		if err != nil {
			return nil, &LoadError{Problems: []Problem{{Message: fmt.Sprintf("built-in profile %q: %v", name, err), Err: err}}}
		}
		l.hashPart("builtin", name, string(b))
	}
	l.pol.Revision = "sha256:" + hex.EncodeToString(l.sum.Sum(nil))
	return l.pol, nil
}

func (l *loader) checkProfileRefs() {
	var known []string
	for name := range l.opts.Builtins {
		known = append(known, name)
	}
	for name := range l.profileAt {
		known = append(known, name)
	}
	slices.Sort(known)
	for _, ref := range l.refs {
		if slices.Contains(known, ref.name) {
			continue
		}
		p := ref.at
		p.Message = fmt.Sprintf("unknown profile %q%s; known profiles: %s", ref.name, didYouMean(ref.name, known), knownList(known))
		l.add(p)
	}
}

func knownList(names []string) string {
	if len(names) == 0 {
		return "none (declare one under profiles:)"
	}
	return strings.Join(names, ", ")
}

// readFile reads a regular file of bounded size, without blocking on a FIFO
// or a device ("-": standard input).
func readFile(path string) ([]byte, error) {
	return boundedio.ReadFile(path, maxFileSize)
}

// errText is an error's message without the path *fs.PathError repeats: the
// problem's File already names it.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}
