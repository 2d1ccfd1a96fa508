package config

import (
	"fmt"
	"slices"
	"strings"
)

// maxSuggestions bounds how many close choices a hint names.
const maxSuggestions = 3

// closest returns the choices closest to a name that is not among them,
// ranked by edit distance and then by prefix. A choice is close when its
// Levenshtein distance from the name (ignoring case) is at most 2, or a
// third of the name's length for longer names, and less than the name's
// length (so "ab" does not suggest "xy"); or when the name is a prefix of
// it, or it is a prefix of the name (three characters at least). The
// nearest choices come first, those sharing a longer prefix with the name
// first among equally near ones; only the equally near share the result,
// at most maxSuggestions of them. So "opportunity" gives "opportunities"
// (distance 3), not "opportunity_statuses" (a completion, distance 9).
func closest(name string, choices []string) []string {
	lname := strings.ToLower(name)
	n := len([]rune(name))
	type cand struct {
		choice         string
		dist, prefixed int
	}
	var near []cand
	for _, c := range choices {
		lc := strings.ToLower(c)
		d := levenshtein(lname, lc)
		ok := d <= max(2, n/3) && d < n
		if !ok && n >= 3 && lc != lname {
			ok = strings.HasPrefix(lc, lname) || (len([]rune(c)) >= 3 && strings.HasPrefix(lname, lc))
		}
		if ok {
			near = append(near, cand{c, d, commonPrefix(lname, lc)})
		}
	}
	slices.SortStableFunc(near, func(a, b cand) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		if a.prefixed != b.prefixed {
			return b.prefixed - a.prefixed
		}
		return strings.Compare(a.choice, b.choice)
	})
	var names []string
	for _, c := range near {
		if c.dist != near[0].dist || len(names) == maxSuggestions {
			break
		}
		if !slices.Contains(names, c.choice) {
			names = append(names, c.choice)
		}
	}
	return names
}

// didYouMean is closest as a hint: "(did you mean "x"?)", naming up to
// three choices, or "" when none is close.
func didYouMean(name string, choices []string) string {
	names := closest(name, choices)
	if len(names) == 0 {
		return ""
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

// commonPrefix is the length in runes of the longest common prefix of a
// and b.
func commonPrefix(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	i := 0
	for i < len(ra) && i < len(rb) && ra[i] == rb[i] {
		i++
	}
	return i
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
