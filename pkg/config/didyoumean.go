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
// edit distance from the name (ignoring case; a transposition is one edit)
// is at most maxDistance and less than the name's length (so "ab" does not
// suggest "xy"); or when the name is a prefix of it, or it is a prefix of
// the name (three characters at least). The
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
		d := editDistance(lname, lc)
		ok := d <= maxDistance(n) && d < n
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

// maxDistance is how many edits a name of n runes may be from a choice
// that is close: one up to four runes ("cor" and "core", but not "nope"
// and "core"), two up to eight, then a third of the name ("opportunity" and
// "opportunities" are three apart).
func maxDistance(n int) int {
	switch {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	default:
		return n / 3
	}
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

// editDistance is the optimal-string-alignment distance between a and b in
// runes: Levenshtein's insertions, deletions and substitutions, plus the
// transposition of two adjacent runes as one edit ("mian" and "main" are
// one apart), each substring edited once.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j]; three rows kept.
	prev2 := make([]int, len(rb)+1)
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
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
