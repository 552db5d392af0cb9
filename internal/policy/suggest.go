package policy

import closest "github.com/nri-seccomp/nri-seccomp/internal/suggest"

// suggest returns the candidate closest to word, or "" when none is close enough
// to be a plausible typo (internal/suggest, shared with the profile reader).
func suggest(word string, candidates []string) string { return closest.Closest(word, candidates) }

// didYouMean formats a suggestion for appending to a message ("" if none).
func didYouMean(word string, candidates []string) string {
	return closest.DidYouMean(word, candidates)
}

// hintFor formats a suggestion s for appending to a message ("" if none).
func hintFor(s string) string { return closest.Hint(s) }
