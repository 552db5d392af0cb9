package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/nri-seccomp/nri-seccomp/internal/profile"
)

// MatchInput is what a rule's match sees of a container.
type MatchInput struct {
	Namespace, Pod string
	Labels         map[string]string // pod labels
	Annotations    map[string]string // pod annotations
	Container      string
	Image          string
	// ProfileType is the container's current seccomp profile type:
	// "Unconfined", "RuntimeDefault" or "Localhost". A container with no
	// seccomp at all is "Unconfined"; "" is read the same way.
	ProfileType string
}

// matcher is a rule's compiled match. A nil field places no constraint; every
// non-nil field must hold (AND), and within a list any entry may match (OR).
type matcher struct {
	namespaces   []*glob
	selector     labels.Selector
	selectorText string // selector.String(), computed once: it sorts and allocates
	annotations  []annotationMatch
	containers   []*glob
	images       []*glob
	profileTypes []string
}

type annotationMatch struct {
	key   string
	value *glob
}

func (m *matcher) empty() bool {
	return m.namespaces == nil && m.selector == nil && m.annotations == nil &&
		m.containers == nil && m.images == nil && m.profileTypes == nil
}

// Matches reports whether the rule applies to a container, without explaining
// why: the daemon's hot path, which must not allocate per rule (a policy may
// have thousands). It agrees with Match by construction: both test the same
// fields in the same way (TestMatchesAgreesWithMatch).
func (r *Rule) Matches(in MatchInput) bool {
	m := &r.m
	if m.namespaces != nil && firstMatch(m.namespaces, in.Namespace) == nil {
		return false
	}
	if m.selector != nil && !m.selector.Matches(labels.Set(in.Labels)) {
		return false
	}
	for _, a := range m.annotations {
		v, ok := in.Annotations[a.key]
		if !ok || !a.value.match(v) {
			return false
		}
	}
	if m.containers != nil && firstMatch(m.containers, in.Container) == nil {
		return false
	}
	if m.images != nil && firstMatch(m.images, in.Image) == nil {
		return false
	}
	if m.profileTypes != nil {
		pt := string(profile.Type(in.ProfileType).Normal())
		if !slices.Contains(m.profileTypes, pt) {
			return false
		}
	}
	return true
}

// Match reports whether the rule applies to a container. The string explains
// the answer in plain words for decision logs and `explain`: what failed when
// false ("namespace \"dev\" not in [prod team-*]"), what matched when true
// ("every container" for an empty match).
func (r *Rule) Match(in MatchInput) (bool, string) {
	m := &r.m
	if m.empty() {
		return true, "every container"
	}
	var why []string
	if m.namespaces != nil {
		g := firstMatch(m.namespaces, in.Namespace)
		if g == nil {
			return false, fmt.Sprintf("namespace %q not in %s", in.Namespace, globList(m.namespaces))
		}
		why = append(why, fmt.Sprintf("namespace %q matches %q", in.Namespace, g.source))
	}
	if m.selector != nil {
		if !m.selector.Matches(labels.Set(in.Labels)) {
			return false, fmt.Sprintf("pod labels {%s} do not match %q", labels.Set(in.Labels).String(), m.selectorText)
		}
		why = append(why, fmt.Sprintf("pod labels match %q", m.selectorText))
	}
	for _, a := range m.annotations {
		v, ok := in.Annotations[a.key]
		if !ok {
			return false, fmt.Sprintf("annotation %q is not set", a.key)
		}
		if !a.value.match(v) {
			return false, fmt.Sprintf("annotation %q is %q, which does not match %q", a.key, v, a.value.source)
		}
		why = append(why, fmt.Sprintf("annotation %q matches %q", a.key, a.value.source))
	}
	if m.containers != nil {
		g := firstMatch(m.containers, in.Container)
		if g == nil {
			return false, fmt.Sprintf("container %q not in %s", in.Container, globList(m.containers))
		}
		why = append(why, fmt.Sprintf("container %q matches %q", in.Container, g.source))
	}
	if m.images != nil {
		g := firstMatch(m.images, in.Image)
		if g == nil {
			return false, fmt.Sprintf("image %q not in %s", in.Image, globList(m.images))
		}
		why = append(why, fmt.Sprintf("image %q matches %q", in.Image, g.source))
	}
	if m.profileTypes != nil {
		pt := string(profile.Type(in.ProfileType).Normal())
		if !slices.Contains(m.profileTypes, pt) {
			return false, fmt.Sprintf("profile type %q not in [%s]", pt, strings.Join(m.profileTypes, " "))
		}
		why = append(why, fmt.Sprintf("profile type %q", pt))
	}
	return true, strings.Join(why, ", ")
}

// MatchSummary describes the rule's match in one line, for `check` and
// `explain` output: "namespaces [prod team-*], containers [app*]", or
// "every container" for an empty match.
func (r *Rule) MatchSummary() string {
	m := &r.m
	var parts []string
	if m.namespaces != nil {
		parts = append(parts, "namespaces "+globList(m.namespaces))
	}
	if m.selector != nil {
		parts = append(parts, fmt.Sprintf("pod labels %q", m.selectorText))
	}
	for _, a := range m.annotations {
		parts = append(parts, fmt.Sprintf("annotation %q matching %q", a.key, a.value.source))
	}
	if m.containers != nil {
		parts = append(parts, "containers "+globList(m.containers))
	}
	if m.images != nil {
		parts = append(parts, "images "+globList(m.images))
	}
	if m.profileTypes != nil {
		parts = append(parts, "profile types ["+strings.Join(m.profileTypes, " ")+"]")
	}
	if len(parts) == 0 {
		return "every container"
	}
	return strings.Join(parts, ", ")
}

func firstMatch(gs []*glob, s string) *glob {
	for _, g := range gs {
		if g.match(s) {
			return g
		}
	}
	return nil
}

func globList(gs []*glob) string {
	src := make([]string, len(gs))
	for i, g := range gs {
		src[i] = g.source
	}
	return "[" + strings.Join(src, " ") + "]"
}

// match compiles a rule's match. Problems are reported; the result is only used
// when there are none.
func (w *walker) match(n *yaml.Node, path string) matcher {
	var m matcher
	f, ok := w.fields(n, path, matchKeys, nil)
	if !ok {
		return m
	}
	if e, ok := f["namespaces"]; ok {
		m.namespaces = w.globs(e.v, child(path, "namespaces"), "namespace", false)
	}
	if e, ok := f["podSelector"]; ok {
		m.selector = w.selector(e.v, child(path, "podSelector"))
		if m.selector != nil {
			m.selectorText = m.selector.String()
		}
	}
	if e, ok := f["annotations"]; ok {
		m.annotations = w.annotations(e.v, child(path, "annotations"))
		if len(m.annotations) == 0 {
			m.annotations = nil // {} requires nothing
		}
	}
	if e, ok := f["containers"]; ok {
		m.containers = w.globs(e.v, child(path, "containers"), "container", false)
	}
	if e, ok := f["images"]; ok {
		m.images = w.globs(e.v, child(path, "images"), "image", true)
	}
	if e, ok := f["profileTypes"]; ok {
		m.profileTypes = w.profileTypes(e.v, child(path, "profileTypes"))
	}
	return m
}

// emptyList reports a present but empty match list. Read literally it matches
// nothing, read loosely everything; either reading surprises someone, so it is
// refused.
func (w *walker) emptyList(n *yaml.Node, path, what string) bool {
	if n.Kind != yaml.SequenceNode || len(n.Content) > 0 {
		return false
	}
	w.addf(n, path, "is empty, so it would match no %s; remove the field to match every %s", what, what)
	return true
}

// globs compiles a list of patterns. Names (namespaces, containers) are also
// checked against what Kubernetes allows, because "Prod" or "team_a" would
// silently match nothing; images are only checked for syntax, their form being
// too varied to judge.
func (w *walker) globs(n *yaml.Node, path, what string, reference bool) []*glob {
	items, ok := w.stringList(n, path)
	if !ok || w.emptyList(n, path, what) {
		return nil
	}
	out := make([]*glob, 0, len(items))
	for _, it := range items {
		g, terms, err := compileGlob(it.s, reference)
		switch {
		case err != nil:
			w.addf(it.n, it.path, "invalid pattern %q: %v", it.s, err)
			continue
		case len(terms) == 0:
			w.addf(it.n, it.path, "an empty pattern matches no %s", what)
			continue
		case !reference:
			if why := whyNeverDNSLabel(terms); why != "" {
				w.addf(it.n, it.path, "pattern %q can never match a %s name: %s", it.s, what, why)
				continue
			}
		}
		out = append(out, g)
	}
	return out
}

var selectorOps = map[string]selection.Operator{
	"In":           selection.In,
	"NotIn":        selection.NotIn,
	"Exists":       selection.Exists,
	"DoesNotExist": selection.DoesNotExist,
}

var selectorOpNames = []string{"In", "NotIn", "Exists", "DoesNotExist"}

// selector builds a Kubernetes label selector with the semantics of
// metav1.LabelSelectorAsSelector (matchLabels are "key=value" requirements,
// matchExpressions use In/NotIn/Exists/DoesNotExist, all ANDed, {} selects
// everything), requirement by requirement so that each problem has its line.
// It uses k8s.io/apimachinery/pkg/labels directly: the metav1 package would
// pull the whole API machinery (protobuf, CBOR, JSON codecs) into the daemon
// for one struct.
func (w *walker) selector(n *yaml.Node, path string) labels.Selector {
	f, ok := w.fields(n, path, selectorKeys, nil)
	if !ok {
		return nil
	}
	var reqs []labels.Requirement
	if e, ok := f["matchLabels"]; ok {
		p := child(path, "matchLabels")
		es, _ := w.entries(e.v, p)
		for _, kv := range es {
			kp := p + "[" + strconv.Quote(kv.key) + "]"
			v, ok := w.str(kv.v, kp)
			if !ok || !w.labelKey(kv.k, kp, kv.key) || !w.labelValue(kv.v, kp, v) {
				continue
			}
			if r := w.requirement(n, kp, kv.key, selection.Equals, []string{v}); r != nil {
				reqs = append(reqs, *r)
			}
		}
	}
	if e, ok := f["matchExpressions"]; ok {
		p := child(path, "matchExpressions")
		if w.expect(e.v, yaml.SequenceNode, p) {
			for i, c := range e.v.Content {
				if r := w.expression(c, index(p, i)); r != nil {
					reqs = append(reqs, *r)
				}
			}
		}
	}
	if len(reqs) == 0 {
		return nil // {} selects every pod: no constraint
	}
	return labels.NewSelector().Add(reqs...)
}

func (w *walker) expression(n *yaml.Node, path string) *labels.Requirement {
	f, ok := w.fields(n, path, expressionKeys, nil)
	if !ok {
		return nil
	}
	good := true
	var key string
	if e, ok := f["key"]; !ok {
		w.addf(n, child(path, "key"), "is required")
		good = false
	} else if key, ok = w.str(e.v, child(path, "key")); !ok || !w.labelKey(e.v, child(path, "key"), key) {
		good = false
	}
	var op selection.Operator
	if e, ok := f["operator"]; !ok {
		w.addf(n, child(path, "operator"), "is required (one of %s)", strings.Join(selectorOpNames, ", "))
		good = false
	} else if s, ok := w.str(e.v, child(path, "operator")); !ok {
		good = false
	} else if op, ok = selectorOps[s]; !ok {
		w.addf(e.v, child(path, "operator"), "unknown operator %q%s (valid: %s)", s, didYouMean(s, selectorOpNames), strings.Join(selectorOpNames, ", "))
		good = false
	}
	var vals []string
	valuesNode := n
	if e, ok := f["values"]; ok {
		valuesNode = e.v
		items, ok := w.stringList(e.v, child(path, "values"))
		if !ok || len(items) != len(e.v.Content) {
			good = false
		}
		for _, it := range items {
			if !w.labelValue(it.n, it.path, it.s) {
				good = false
			}
			vals = append(vals, it.s)
		}
	}
	if good {
		switch op {
		case selection.In, selection.NotIn:
			if len(vals) == 0 {
				w.addf(valuesNode, child(path, "values"), "operator %s needs at least one value", exprOpName(op))
				good = false
			}
		case selection.Exists, selection.DoesNotExist:
			if len(vals) > 0 {
				w.addf(valuesNode, child(path, "values"), "operator %s takes no values", exprOpName(op))
				good = false
			}
		}
	}
	if !good {
		return nil
	}
	return w.requirement(n, path, key, op, vals)
}

func exprOpName(op selection.Operator) string {
	for name, o := range selectorOps {
		if o == op {
			return name
		}
	}
	return string(op)
}

// labelKey and labelValue apply Kubernetes' label syntax with messages that
// name the offending string; labels.NewRequirement would report the same
// errors wrapped in its own field paths.
func (w *walker) labelKey(n *yaml.Node, path, key string) bool {
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		w.addf(n, path, "invalid label key %q: %s", key, strings.Join(errs, "; "))
		return false
	}
	return true
}

func (w *walker) labelValue(n *yaml.Node, path, v string) bool {
	if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
		w.addf(n, path, "invalid label value %q: %s", v, strings.Join(errs, "; "))
		return false
	}
	return true
}

// requirement builds the requirement; after the checks above it cannot fail
// unless apimachinery grows a rule this package does not know, which is then
// still reported rather than ignored.
func (w *walker) requirement(n *yaml.Node, path, key string, op selection.Operator, vals []string) *labels.Requirement {
	r, err := labels.NewRequirement(key, op, vals)
	if err != nil {
		w.addf(n, path, "invalid label selector: %v", err)
		return nil
	}
	return r
}

func (w *walker) annotations(n *yaml.Node, path string) []annotationMatch {
	es, ok := w.entries(n, path)
	if !ok {
		return nil
	}
	out := make([]annotationMatch, 0, len(es))
	for _, kv := range es {
		kp := path + "[" + strconv.Quote(kv.key) + "]"
		if errs := validation.IsQualifiedName(kv.key); len(errs) > 0 {
			w.addf(kv.k, kp, "annotation key %q can never match: %s", kv.key, strings.Join(errs, "; "))
			continue
		}
		v, ok := w.str(kv.v, kp)
		if !ok {
			continue
		}
		g, _, err := compileGlob(v, true)
		if err != nil {
			w.addf(kv.v, kp, "invalid pattern %q: %v", v, err)
			continue
		}
		out = append(out, annotationMatch{key: kv.key, value: g})
	}
	return out
}

func (w *walker) profileTypes(n *yaml.Node, path string) []string {
	items, ok := w.stringList(n, path)
	if !ok || w.emptyList(n, path, "profile type") {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !slices.Contains(profileTypes, it.s) {
			w.addf(it.n, it.path, "unknown profile type %q%s (valid: %s)", it.s, didYouMean(it.s, profileTypes), strings.Join(profileTypes, ", "))
			continue
		}
		out = append(out, it.s)
	}
	return out
}
