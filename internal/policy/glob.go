package policy

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Globs use the syntax of path.Match: '*', '?', '[...]' classes with '^' for
// negation and '\' escapes. Two flavours exist:
//
//   - name globs (namespaces, containers): exactly path.Match semantics, so '*'
//     and '?' never match '/' (irrelevant in practice: those names cannot
//     contain '/');
//   - reference globs (images, annotation values): '*' and '?' also match '/',
//     so "registry.example.com/*" covers "registry.example.com/team/app:1.0".
//     An image reference is a path, and a glob that stops at the first '/'
//     would make the obvious pattern silently match nothing.
//
// Both are compiled once to a regular expression: matching is linear in the
// input whatever the pattern, and there is a single implementation of the
// syntax for both flavours.

type termKind uint8

const (
	termLiteral termKind = iota
	termAny              // ?
	termStar             // *
	termClass            // [...]
)

type runeRange struct{ lo, hi rune }

type globTerm struct {
	kind   termKind
	r      rune // termLiteral
	negate bool // termClass
	ranges []runeRange
	text   string // the term as written, for messages
}

// glob is a compiled pattern.
type glob struct {
	source  string // as written, for messages
	pattern string
	literal bool // no wildcards: compare strings, skip the regexp
	// prefix: the pattern is literal text followed by one '*' that may match
	// anything the star may ("team-*", "registry.example.com/*"): a prefix
	// test, which is what most policies use, at a fraction of a regexp's cost.
	prefix     bool
	crossSlash bool // the star may match '/'
	re         *regexp.Regexp
}

func (g *glob) match(s string) bool {
	switch {
	case g.literal:
		return s == g.pattern
	case g.prefix:
		return strings.HasPrefix(s, g.pattern) && (g.crossSlash || !strings.Contains(s[len(g.pattern):], "/"))
	}
	return g.re.MatchString(s)
}

// parseGlob splits a pattern into terms, rejecting what path.Match rejects, plus
// empty character ranges ("[z-a]"), which path.Match accepts but which can never
// match anything.
func parseGlob(p string) ([]globTerm, error) {
	// path.Match is the reference for the syntax; checking with it first keeps
	// this parser from ever accepting a pattern the documented syntax rejects.
	if _, err := path.Match(p, ""); err != nil {
		return nil, errors.New("syntax error (check '[...]' classes and '\\' escapes)")
	}
	var terms []globTerm
	for i := 0; i < len(p); {
		start := i
		switch p[i] {
		case '*':
			i++
			terms = append(terms, globTerm{kind: termStar, text: "*"})
		case '?':
			i++
			terms = append(terms, globTerm{kind: termAny, text: "?"})
		case '[':
			i++
			t := globTerm{kind: termClass}
			if i < len(p) && p[i] == '^' {
				t.negate = true
				i++
			}
			for {
				if i >= len(p) {
					return nil, errors.New("syntax error: unterminated '['")
				}
				if p[i] == ']' && len(t.ranges) > 0 {
					i++
					break
				}
				lo, n, err := classRune(p[i:])
				if err != nil {
					return nil, err
				}
				i += n
				hi := lo
				if i < len(p) && p[i] == '-' {
					i++
					hi, n, err = classRune(p[i:])
					if err != nil {
						return nil, err
					}
					i += n
				}
				if hi < lo {
					return nil, fmt.Errorf("character range %q is empty", p[start:i])
				}
				t.ranges = append(t.ranges, runeRange{lo, hi})
			}
			t.text = p[start:i]
			terms = append(terms, t)
		case '\\':
			i++
			r, n := utf8.DecodeRuneInString(p[i:])
			i += n
			terms = append(terms, globTerm{kind: termLiteral, r: r, text: p[start:i]})
		default:
			r, n := utf8.DecodeRuneInString(p[i:])
			i += n
			terms = append(terms, globTerm{kind: termLiteral, r: r, text: p[start:i]})
		}
	}
	return terms, nil
}

// classRune reads one possibly escaped character of a class.
func classRune(s string) (rune, int, error) {
	if s == "" {
		return 0, 0, errors.New("syntax error: unterminated '['")
	}
	switch s[0] {
	case '-', ']':
		return 0, 0, errors.New("syntax error in character class")
	case '\\':
		if len(s) < 2 {
			return 0, 0, errors.New("syntax error: trailing '\\'")
		}
		r, n := utf8.DecodeRuneInString(s[1:])
		return r, n + 1, nil
	}
	r, n := utf8.DecodeRuneInString(s)
	return r, n, nil
}

func (t globTerm) classMatches(r rune) bool {
	in := false
	for _, rr := range t.ranges {
		if rr.lo <= r && r <= rr.hi {
			in = true
			break
		}
	}
	return in != t.negate
}

// compileGlob compiles a pattern; crossSlash selects the reference flavour.
func compileGlob(p string, crossSlash bool) (*glob, []globTerm, error) {
	terms, err := parseGlob(p)
	if err != nil {
		return nil, nil, err
	}
	g := &glob{source: p, pattern: p, literal: true}
	var re strings.Builder
	re.WriteString(`(?s)^`) // (?s): annotation values may contain newlines
	for _, t := range terms {
		switch t.kind {
		case termLiteral:
			re.WriteString(regexp.QuoteMeta(string(t.r)))
			continue
		case termStar:
			if crossSlash {
				re.WriteString(`.*`)
			} else {
				re.WriteString(`[^/]*`)
			}
		case termAny:
			if crossSlash {
				re.WriteString(`.`)
			} else {
				re.WriteString(`[^/]`)
			}
		case termClass:
			// Like path.Match, a class may match '/' in either flavour.
			re.WriteByte('[')
			if t.negate {
				re.WriteByte('^')
			}
			for _, rr := range t.ranges {
				fmt.Fprintf(&re, `\x{%x}`, rr.lo)
				if rr.hi != rr.lo {
					fmt.Fprintf(&re, `-\x{%x}`, rr.hi)
				}
			}
			re.WriteByte(']')
		}
		g.literal = false
	}
	re.WriteByte('$')
	if g.literal {
		// An escaped pattern like `a\*b` is a literal "a*b": compare unescaped.
		var lit strings.Builder
		for _, t := range terms {
			lit.WriteRune(t.r)
		}
		g.pattern = lit.String()
		return g, terms, nil
	}
	if n := len(terms); n > 0 && terms[n-1].kind == termStar &&
		!slices.ContainsFunc(terms[:n-1], func(t globTerm) bool { return t.kind != termLiteral }) {
		var lit strings.Builder
		for _, t := range terms[:n-1] {
			lit.WriteRune(t.r)
		}
		g.prefix, g.crossSlash, g.pattern = true, crossSlash, lit.String()
		return g, terms, nil
	}
	g.re, err = regexp.Compile(re.String())
	if err != nil {
		// Unreachable for patterns parseGlob accepted; kept so a bug surfaces as a
		// policy problem rather than a panic in the daemon.
		return nil, nil, fmt.Errorf("internal error compiling pattern: %w", err)
	}
	return g, terms, nil
}

// dnsLabelChars is what a Kubernetes namespace or container name (an RFC 1123
// label) may contain.
const dnsLabelChars = "abcdefghijklmnopqrstuvwxyz0123456789-"

// dnsLabelMaxLen is the longest RFC 1123 label.
const dnsLabelMaxLen = 63

// whyNeverDNSLabel explains why a name glob can match no RFC 1123 label, or
// returns "" when it can match some. A pattern such as "Prod" or "team_a" is
// syntactically fine but would silently exempt its rule from every container;
// in a security policy that must be an error.
func whyNeverDNSLabel(terms []globTerm) string {
	minLen := 0
	for i, t := range terms {
		switch t.kind {
		case termLiteral:
			minLen++
			if !strings.ContainsRune(dnsLabelChars, t.r) {
				return fmt.Sprintf("%q is not allowed (only a-z, 0-9 and '-')", t.r)
			}
			if t.r == '-' && (i == 0 || i == len(terms)-1) {
				return "names cannot start or end with '-'"
			}
		case termAny:
			minLen++
		case termClass:
			minLen++
			ok := false
			for _, r := range dnsLabelChars {
				if t.classMatches(r) {
					ok = true
					break
				}
			}
			if !ok {
				return fmt.Sprintf("class %s matches none of a-z, 0-9 and '-'", t.text)
			}
		}
	}
	if minLen > dnsLabelMaxLen {
		return fmt.Sprintf("it needs at least %d characters and names have at most %d", minLen, dnsLabelMaxLen)
	}
	return ""
}
