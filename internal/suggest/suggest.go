// Package suggest finds the closest known word to a misspelt one, for the
// "did you mean" of an error message. Policies and profiles share it, so a
// typo reads the same whichever file it is in.
package suggest

import (
	"fmt"
	"strings"
)

// Closest returns the candidate closest to word, or "" when none is close
// enough to be a plausible typo. Case differences alone always count as close,
// because "Unconfined" written "unconfined" is the most common slip.
func Closest(word string, candidates []string) string {
	limit := 1
	if len(word) >= 5 {
		limit = 2
	}
	if len(word) >= 10 {
		limit = 3
	}
	return Nearest(word, candidates, limit)
}

// Nearest returns the candidate closest to word within limit edits, case
// ignored, or "" when none is that close; ties go to the first candidate.
// Words and candidates over 64 bytes are never matched (no keyword is this
// long; spare the quadratic distance). Closest and syscalls.Suggest differ
// only in their limits.
func Nearest(word string, candidates []string, limit int) string {
	if len(word) > 64 {
		return ""
	}
	lw := strings.ToLower(word)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if len(c) > 64 {
			continue
		}
		lc := strings.ToLower(c)
		// Lengths differing by more than the limit cannot be within it.
		if d := len(lc) - len(lw); d > limit || d < -limit {
			continue
		}
		if d := Distance(lw, lc, bestDist); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean formats a suggestion for appending to a message ("" if none).
func DidYouMean(word string, candidates []string) string {
	return Hint(Closest(word, candidates))
}

// Hint is the " (did you mean %q?)" every message appends for a
// suggestion s; "" when there is none.
func Hint(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", s)
}

// Distance is the optimal string alignment distance between a and b:
// Levenshtein plus swaps of neighbours ("fiel" for "file" is one slip, not
// two). It counts bytes: keywords and syscall names are ASCII, and for
// anything else the distance only has to be large, not exact. It stops early
// and returns bound once the distance cannot get below bound (a row's minimum
// never decreases further down), so scanning a long list of candidates for
// the closest costs little; bound <= 0 means no bound.
func Distance(a, b string, bound int) int {
	if bound <= 0 {
		bound = len(a) + len(b) + 1 // larger than any distance
	}
	// Three rows: two back (for swaps), previous, current.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= bound {
			return bound
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], bound)
}
