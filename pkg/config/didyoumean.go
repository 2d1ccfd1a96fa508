package config

import (
	"fmt"
	"slices"
	"strings"
)

// maxSuggestions bounds how many close choices a hint names.
const maxSuggestions = 3

// didYouMean suggests the choices closest to a name that is not among them:
// those within Levenshtein distance 2 (ignoring case, and less than the
// name's length, so "ab" does not suggest "xy"), nearest first; failing
// that, those the name is a prefix of, or that are a prefix of it (three
// characters at least). It returns "(did you mean "x"?)", naming up to three
// choices, or "" when none is close.
func didYouMean(name string, choices []string) string {
	lname := strings.ToLower(name)
	type cand struct {
		choice string
		score  int
	}
	var near []cand
	for _, c := range choices {
		if d := levenshtein(lname, strings.ToLower(c)); d <= 2 && d < len([]rune(name)) {
			near = append(near, cand{c, d})
		}
	}
	if len(near) == 0 && len(name) >= 3 {
		for _, c := range choices {
			lc := strings.ToLower(c)
			if (strings.HasPrefix(lc, lname) || (len(c) >= 3 && strings.HasPrefix(lname, lc))) && lc != lname {
				near = append(near, cand{c, abs(len(c) - len(name))})
			}
		}
	}
	if len(near) == 0 {
		return ""
	}
	slices.SortStableFunc(near, func(a, b cand) int {
		if a.score != b.score {
			return a.score - b.score
		}
		return strings.Compare(a.choice, b.choice)
	})
	// Closer choices first; only equally close ones share the hint.
	var names []string
	for _, c := range near {
		if c.score != near[0].score || len(names) == maxSuggestions {
			break
		}
		if !slices.Contains(names, c.choice) {
			names = append(names, c.choice)
		}
	}
	return "(did you mean " + orList(names) + "?)"
}

// choiceHint is didYouMean, or, when nothing is close and there are at most
// maxList choices, "(valid: a, b, c)"; "" otherwise.
func choiceHint(name string, choices []string, maxList int) string {
	if h := didYouMean(name, choices); h != "" {
		return h
	}
	if len(choices) > 0 && len(choices) <= maxList {
		return "(valid: " + strings.Join(choices, ", ") + ")"
	}
	return ""
}

// orList quotes names and joins them: "a", "a" or "b", "a", "b" or "c".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// levenshtein is the edit distance between a and b in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
