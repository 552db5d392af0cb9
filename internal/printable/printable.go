// Package printable makes text a container or a log file controls safe to
// print: a raw newline or terminal escape would let a program forge report
// lines or hide its own. Reports, posture and the daemon's log share it.
package printable

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s as it is when every character of it prints plainly,
// and otherwise quoted and escaped the way Go writes string literals ("\n",
// "\x1b", "\u202e", "\xff" for a byte that is not UTF-8). Every text output
// of a string a container controls (its executable's path, its command
// name) or a log file holds goes through it: a raw newline or terminal
// escape would let a program forge report lines or hide its own. A plain
// string is never quoted, and a quoted one always starts with '"', so the
// two cannot be mistaken for each other.
func String(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

func plain(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == '"' {
		return false // would read as a quoted string
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Escape escapes, in place, only the characters of s that do not
// print (and bytes that are not UTF-8), for messages of our own that may
// hold input: unlike String it leaves quotes and backslashes alone.
func Escape(s string) string {
	if plainOrQuote(s) {
		return s
	}
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&sb, `\x%02x`, s[i])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			sb.WriteString(q[1 : len(q)-1])
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func plainOrQuote(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
