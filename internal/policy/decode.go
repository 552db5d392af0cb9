package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.yaml.in/yaml/v3"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
	"github.com/nri-seccomp/nri-seccomp/internal/syscalls"
)

// Seams to the syscall tables, so tests can pin the set of names.
var (
	syscallKnown   = syscalls.Known
	syscallSuggest = syscalls.Suggest
)

var (
	topKeys         = []string{"apiVersion", "kind", "profiles", "rules"}
	ruleKeys        = []string{"name", "match", "action", "mode", "profile", "deny", "logDenied"}
	matchKeys       = []string{"namespaces", "podSelector", "annotations", "containers", "images", "profileTypes"}
	selectorKeys    = []string{"matchLabels", "matchExpressions"}
	expressionKeys  = []string{"key", "operator", "values"}
	denyKeys        = []string{"name", "action", "errno"}
	profileDeclKeys = []string{"file", "inline"}

	actions      = []string{string(ActionInject), string(ActionTighten), string(ActionExempt)}
	modes        = []string{string(ModeEnforce), string(ModeAudit)}
	profileTypes = profile.TypeNames()

	// ruleKeyParents catches match fields written directly under a rule.
	ruleKeyParents = map[string]string{
		"namespaces": "match", "podSelector": "match", "annotations": "match",
		"containers": "match", "images": "match", "profileTypes": "match",
	}
)

// refusing are the actions a deny entry may use: each makes the call fail or
// the caller die. SCMP_ACT_LOG/ALLOW/NOTIFY/TRACE let the call happen or hand
// the decision elsewhere; a deny list that does that is a contradiction.
// Which is which is profile.Refuses' answer; this order is the one the
// messages list them in.
var refusing, nonRefusing = splitRefusing(
	specs.ActErrno, specs.ActTrap, specs.ActKillThread, specs.ActKillProcess, specs.ActKill,
	specs.ActAllow, specs.ActLog, specs.ActNotify, specs.ActTrace)

// splitRefusing parts actions into those profile.Refuses and the rest,
// keeping their order.
func splitRefusing(actions ...specs.LinuxSeccompAction) (yes, no []string) {
	for _, a := range actions {
		if profile.Refuses(a) {
			yes = append(yes, string(a))
		} else {
			no = append(no, string(a))
		}
	}
	return yes, no
}

// nameRE constrains rule and profile names. They appear in decisions, logs,
// metrics labels and the CLI, so they stay printable and unambiguous.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

const nameRules = "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters"

func (w *walker) document(root *yaml.Node) {
	f, ok := w.fields(root, "", topKeys, nil)
	if !ok {
		w.l.unread = true // no structure to count rules in
		return
	}
	w.constant(root, f, "apiVersion", APIVersion)
	w.constant(root, f, "kind", Kind)
	if e, ok := f["profiles"]; ok {
		w.profiles(e.v)
	}
	if e, ok := f["rules"]; ok {
		if w.l.rulesKeyAt == nil {
			w.l.rulesKeyAt = &Problem{File: w.file, Line: e.k.Line, Column: e.k.Column}
		}
		w.rules(e.v)
	} else if w.l.rootAt == nil {
		w.l.rootAt = &Problem{File: w.file, Line: root.Line, Column: root.Column}
	}
}

// constant checks a required key with a single valid value.
func (w *walker) constant(root *yaml.Node, f map[string]entry, key, want string) {
	e, ok := f[key]
	if !ok {
		w.addf(root, key, "is required (%s: %s)", key, want)
		return
	}
	got, ok := w.str(e.v, key)
	if ok && got != want {
		w.addf(e.v, key, "unsupported %s %q (want %q)", key, got, want)
	}
}

func (w *walker) validName(n *yaml.Node, path, what, name string) bool {
	if nameRE.MatchString(name) {
		return true
	}
	w.addf(n, path, "invalid %s name %q: %s", what, name, nameRules)
	return false
}

// where formats a previous position relative to the current file.
func (w *walker) where(p Problem) string {
	if p.File == w.file {
		return fmt.Sprintf("line %d", p.Line)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

func (w *walker) profiles(n *yaml.Node) {
	es, ok := w.entries(n, "profiles")
	if !ok {
		return
	}
	for _, e := range es {
		path := child("profiles", e.key)
		if !w.validName(e.k, path, "profile", e.key) {
			continue
		}
		if _, ok := w.l.opts.Builtins[e.key]; ok {
			w.addf(e.k, path, "profile %q is a built-in profile; choose another name", e.key)
			continue
		}
		here := Problem{File: w.file, Line: e.k.Line, Column: e.k.Column}
		if prev, dup := w.l.profileAt[e.key]; dup {
			w.addf(e.k, path, "profile %q is declared twice (first at %s)", e.key, w.where(prev))
			continue
		}
		w.l.profileAt[e.key] = here
		if s := w.profileDecl(e.v, path); s != nil {
			w.l.pol.Profiles[e.key] = s
		}
	}
}

// profileDecl loads one declared profile: {file: path} or {inline: {...}}.
func (w *walker) profileDecl(n *yaml.Node, path string) *specs.LinuxSeccomp {
	f, ok := w.fields(n, path, profileDeclKeys, nil)
	if !ok {
		return nil
	}
	fe, hasFile := f["file"]
	ie, hasInline := f["inline"]
	switch {
	case hasFile && hasInline:
		w.addf(ie.k, path, "has both file and inline; give exactly one")
		return nil
	case !hasFile && !hasInline:
		w.addf(n, path, "needs file (a profile JSON file) or inline (the profile itself)")
		return nil
	case hasFile:
		return w.profileFile(fe, path)
	default:
		return w.profileInline(ie, path)
	}
}

func (w *walker) profileFile(e entry, path string) *specs.LinuxSeccomp {
	rel, ok := w.str(e.v, child(path, "file"))
	if !ok {
		return nil
	}
	if rel == "" {
		w.addf(e.v, child(path, "file"), "is empty")
		return nil
	}
	full := rel
	if !filepath.IsAbs(full) {
		full = filepath.Join(w.dir, rel)
	}
	data, err := readFile(full)
	if err != nil {
		w.l.add(Problem{File: w.file, Line: e.v.Line, Column: e.v.Column, Field: child(path, "file"),
			Message: "cannot read profile: " + err.Error(), Err: err})
		return nil
	}
	w.l.pol.ProfileFiles = append(w.l.pol.ProfileFiles, full)
	w.l.hashPart("profile", filepath.Base(w.file), rel, string(data))
	s, err := profile.Parse(data)
	if err != nil {
		// The policy problem's position is the file reference; say where in
		// the profile file the problem is.
		var ve *profile.ValidationError
		if errors.As(err, &ve) {
			for i, p := range ve.Problems {
				if p.Line > 0 {
					ve.Problems[i].Message = fmt.Sprintf("line %d: %s", p.Line, p.Message)
				}
			}
		}
		prefix := fmt.Sprintf("%s (%s)", path, rel)
		w.profileProblems(err, func(field string) (string, *yaml.Node) {
			if field == "" {
				return prefix, e.v
			}
			return prefix + " " + field, e.v
		})
		return nil
	}
	return s
}

func (w *walker) profileInline(e entry, path string) *specs.LinuxSeccomp {
	ipath := child(path, "inline")
	v, ok := w.jsonValue(e.v, ipath)
	if !ok {
		return nil
	}
	if _, isMap := v.(map[string]any); !isMap {
		w.addf(e.v, ipath, "expected a mapping (a seccomp profile), got %s", describe(e.v))
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		w.addf(e.v, ipath, "cannot convert to JSON: %v", err)
		return nil
	}
	s, err := profile.Parse(data)
	if err != nil {
		w.profileProblems(err, func(field string) (string, *yaml.Node) {
			if field == "" {
				return ipath, e.v
			}
			return ipath + "." + field, resolveField(e.v, field)
		})
		return nil
	}
	return s
}

var (
	jsonLineRE     = regexp.MustCompile(`^line \d+: `)
	unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)
)

// profileProblems maps a profile's validation problems into policy problems;
// locate turns a profile field path into the policy field and the node to
// point at.
func (w *walker) profileProblems(err error, locate func(field string) (string, *yaml.Node)) {
	var ve *profile.ValidationError
	if !errors.As(err, &ve) {
		field, n := locate("")
		w.l.add(Problem{File: w.file, Line: n.Line, Column: n.Column, Field: field, Message: err.Error(), Err: err})
		return
	}
	for _, p := range ve.Problems {
		field, n := locate(p.Field)
		msg := p.Message
		if n != nil && n.Kind == yaml.MappingNode && p.Field == "" {
			// Inline profiles are converted to one-line JSON, so "line 1:" from
			// the JSON decoder says nothing; point at the offending key instead.
			msg = jsonLineRE.ReplaceAllString(msg, "")
			if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
				if k := findKey(n, m[1]); k != nil {
					n = k
				}
			}
		}
		w.l.add(Problem{File: w.file, Line: n.Line, Column: n.Column, Field: field, Message: msg})
	}
}

// jsonValue converts an inline profile to plain values for JSON, refusing
// aliases and duplicate keys like the rest of the policy.
func (w *walker) jsonValue(n *yaml.Node, path string) (any, bool) {
	if w.isAlias(n, path) {
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		es, _ := w.entries(n, path)
		m := make(map[string]any, len(es))
		ok := len(es) == len(n.Content)/2
		for _, e := range es {
			v, vok := w.jsonValue(e.v, child(path, e.key))
			ok = ok && vok
			m[e.key] = v
		}
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, vok := w.jsonValue(c, index(path, i))
			ok = ok && vok
			s[i] = v
		}
		return s, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return n.Value, true // timestamps stay as written
		case "!!int", "!!float", "!!bool", "!!null":
			var v any
			if err := n.Decode(&v); err != nil {
				w.addf(n, path, "%v", err)
				return nil, false
			}
			return v, true
		}
	}
	w.addf(n, path, "unsupported value (%s) in a profile", describe(n))
	return nil, false
}

// findKey finds a key anywhere under n (breadth first), for pointing at an
// unknown field the JSON decoder named without a position.
func findKey(n *yaml.Node, key string) *yaml.Node {
	queue := []*yaml.Node{n}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(c.Content); i += 2 {
				if c.Content[i].Value == key {
					return c.Content[i]
				}
			}
		}
		if c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode {
			queue = append(queue, c.Content...)
		}
	}
	return nil
}

var fieldSegRE = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// resolveField follows a profile field path ("syscalls[2].names[0]") through
// an inline profile and returns the deepest node it reaches, so problems point
// at the line of the offending value. Paths name fields after moby resolves
// includes/excludes, which may renumber syscalls entries; the line is then
// approximate, the field path exact.
func resolveField(n *yaml.Node, field string) *yaml.Node {
	cur := n
	for _, m := range fieldSegRE.FindAllStringSubmatch(field, -1) {
		var next *yaml.Node
		switch {
		case m[1] != "" && cur.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == m[1] {
					next = cur.Content[i+1]
					break
				}
			}
		case m[2] != "" && cur.Kind == yaml.SequenceNode:
			if i, err := strconv.Atoi(m[2]); err == nil && i < len(cur.Content) {
				next = cur.Content[i]
			}
		}
		if next == nil {
			break
		}
		cur = next
	}
	return cur
}

func (w *walker) rules(n *yaml.Node) {
	if !w.expect(n, yaml.SequenceNode, "rules") {
		w.l.unread = true
		return
	}
	for i, c := range n.Content {
		w.l.rulesSeen++
		if r := w.rule(c, index("rules", i)); r != nil {
			w.l.pol.Rules = append(w.l.pol.Rules, r)
		}
	}
}

func (w *walker) rule(n *yaml.Node, path string) *Rule {
	f, ok := w.fields(n, path, ruleKeys, ruleKeyParents)
	if !ok {
		return nil
	}
	r := &Rule{File: w.file, Line: n.Line, Mode: ModeEnforce}

	if e, ok := f["name"]; !ok {
		w.addf(n, child(path, "name"), "is required (decisions name the rules that applied)")
	} else if name, ok := w.str(e.v, child(path, "name")); ok && w.validName(e.v, child(path, "name"), "rule", name) {
		r.Name = name
		here := Problem{File: w.file, Line: e.v.Line, Column: e.v.Column}
		if prev, dup := w.l.ruleAt[name]; dup {
			w.addf(e.v, child(path, "name"), "duplicate rule name %q (first at %s)", name, w.where(prev))
		} else {
			w.l.ruleAt[name] = here
		}
	}

	actionOK := false
	if e, ok := f["action"]; !ok {
		w.addf(n, child(path, "action"), "is required (one of %s)", strings.Join(actions, ", "))
	} else if a, ok := w.str(e.v, child(path, "action")); ok {
		if slices.Contains(actions, a) {
			r.Action, actionOK = Action(a), true
		} else {
			w.addf(e.v, child(path, "action"), "unknown action %q%s (valid: %s)", a, didYouMean(a, actions), strings.Join(actions, ", "))
		}
	}

	if e, ok := f["mode"]; ok {
		if m, ok := w.str(e.v, child(path, "mode")); ok {
			if slices.Contains(modes, m) {
				r.Mode = Mode(m)
			} else {
				w.addf(e.v, child(path, "mode"), "unknown mode %q%s (valid: %s)", m, didYouMean(m, modes), strings.Join(modes, ", "))
			}
		}
	}

	if e, ok := f["profile"]; ok {
		if p, ok := w.str(e.v, child(path, "profile")); ok {
			if p == "" {
				w.addf(e.v, child(path, "profile"), "is empty")
			} else {
				r.Profile = p
				w.l.refs = append(w.l.refs, profileRef{name: p, at: Problem{
					File: w.file, Line: e.v.Line, Column: e.v.Column, Field: child(path, "profile")}})
			}
		}
	}

	if e, ok := f["deny"]; ok {
		r.Deny = w.deny(e.v, child(path, "deny"))
	}

	if e, ok := f["logDenied"]; ok {
		field := child(path, "logDenied")
		switch {
		case w.isAlias(e.v, field):
		case e.v.Kind != yaml.ScalarNode || e.v.ShortTag() != "!!bool":
			w.addf(e.v, field, "expected true or false, got %s", describe(e.v))
		default:
			r.LogDenied = e.v.Value == "true" || e.v.Value == "True" || e.v.Value == "TRUE"
			if r.LogDenied && w.l.opts.SeccompFlags != nil {
				w.addf(e.v, field, "cannot be used on this node: %v", w.l.opts.SeccompFlags)
			}
		}
	}

	if e, ok := f["match"]; ok {
		r.m = w.match(e.v, child(path, "match"))
	}

	if actionOK {
		w.contradictions(r, f, path)
	}
	return r
}

// contradictions rejects combinations that cannot mean what they say.
func (w *walker) contradictions(r *Rule, f map[string]entry, path string) {
	_, hasProfile := f["profile"]
	_, hasDeny := f["deny"]
	action := f["action"].v
	switch r.Action {
	case ActionInject:
		if !hasProfile {
			w.addf(action, child(path, "profile"), "inject needs a profile: the profile to give containers that have no seccomp")
		}
	case ActionTighten:
		if !hasProfile && !hasDeny {
			w.addf(action, path, "tighten needs a profile to intersect with, a deny list, or both")
		}
	case ActionExempt:
		// An exempt rule leaves the container alone; anything that would change
		// it contradicts the action, and silently ignoring it would hide intent.
		if e, ok := f["profile"]; ok {
			w.addf(e.k, child(path, "profile"), "exempt takes no profile: an exempt rule leaves the container as it is")
		}
		if e, ok := f["deny"]; ok {
			w.addf(e.k, child(path, "deny"), "exempt takes no deny list: an exempt rule leaves the container as it is")
		}
		if e, ok := f["mode"]; ok && r.Mode == ModeAudit {
			w.addf(e.v, child(path, "mode"), "exempt cannot run in audit mode: it changes nothing that could be audited")
		}
		if e, ok := f["logDenied"]; ok && r.LogDenied {
			w.addf(e.k, child(path, "logDenied"), "exempt takes no logDenied: an exempt rule leaves the container as it is")
		}
	}
}

func (w *walker) deny(n *yaml.Node, path string) []DenyEntry {
	if !w.expect(n, yaml.SequenceNode, path) {
		return nil
	}
	if len(n.Content) == 0 {
		w.addf(n, path, "is empty; list the syscalls to refuse, or remove deny")
		return nil
	}
	var out []DenyEntry
	first := map[string]*yaml.Node{}
	for i, c := range n.Content {
		p := index(path, i)
		d, nameNode, ok := w.denyEntry(c, p)
		if !ok {
			continue
		}
		if prev, dup := first[d.Name]; dup {
			w.addf(nameNode, p, "syscall %q is listed twice (first at line %d)", d.Name, prev.Line)
			continue
		}
		first[d.Name] = nameNode
		out = append(out, d)
	}
	return out
}

// denyEntry decodes "name" or {name, action, errno}.
func (w *walker) denyEntry(n *yaml.Node, path string) (DenyEntry, *yaml.Node, bool) {
	d := DenyEntry{Action: specs.ActErrno}
	if n.Kind == yaml.ScalarNode {
		name, ok := w.str(n, path)
		if !ok || !w.syscallName(n, path, name) {
			return d, nil, false
		}
		d.Name = name
		return d, n, true
	}
	if n.Kind == yaml.SequenceNode {
		w.addf(n, path, "expected a syscall name or a mapping {name, action, errno}, got a list")
		return d, nil, false
	}
	f, ok := w.fields(n, path, denyKeys, nil)
	if !ok {
		return d, nil, false
	}
	good := true
	e, ok := f["name"]
	if !ok {
		w.addf(n, child(path, "name"), "is required (the syscall to refuse)")
		return d, nil, false
	}
	name, ok := w.str(e.v, child(path, "name"))
	if !ok || !w.syscallName(e.v, child(path, "name"), name) {
		good = false
	}
	d.Name = name
	if a, ok := f["action"]; ok {
		if s, ok := w.str(a.v, child(path, "action")); !ok {
			good = false
		} else if act, msg := denyAction(s); msg != "" {
			w.addf(a.v, child(path, "action"), "%s", msg)
			good = false
		} else {
			d.Action = act
		}
	}
	if en, ok := f["errno"]; ok {
		if d.Action != specs.ActErrno {
			w.addf(en.k, child(path, "errno"), "errno is only valid with %s, not %s", specs.ActErrno, d.Action)
			good = false
		} else if v, ok := w.errno(en.v, child(path, "errno")); ok {
			d.Errno = &v
		} else {
			good = false
		}
	}
	return d, e.v, good
}

func (w *walker) syscallName(n *yaml.Node, path, name string) bool {
	if syscallKnown(name) {
		return true
	}
	msg := fmt.Sprintf("unknown syscall %q", name)
	if s := syscallSuggest(name); s != "" {
		msg += hintFor(s)
	}
	w.addf(n, path, "%s", msg)
	return false
}

// denyAction validates a deny entry's action; msg is non-empty when invalid.
func denyAction(s string) (specs.LinuxSeccompAction, string) {
	if slices.Contains(refusing, s) {
		return specs.LinuxSeccompAction(s), ""
	}
	if slices.Contains(nonRefusing, s) {
		return "", fmt.Sprintf("%s does not refuse the call; a deny entry needs one of %s (to only log, use mode: audit)", s, strings.Join(refusing, ", "))
	}
	all := append(slices.Clone(refusing), nonRefusing...)
	hint := didYouMean(s, all)
	if up := "SCMP_ACT_" + strings.ToUpper(s); hint == "" && slices.Contains(refusing, up) {
		hint = hintFor(up)
	}
	return "", fmt.Sprintf("unknown action %q%s (valid: %s)", s, hint, strings.Join(refusing, ", "))
}

func (w *walker) errno(n *yaml.Node, path string) (uint, bool) {
	s, ok := w.str(n, path)
	if !ok {
		return 0, false
	}
	v, err := parseErrno(s, n.ShortTag() == "!!int")
	if err != nil {
		w.addf(n, path, "%v", err)
		return 0, false
	}
	return v, true
}
