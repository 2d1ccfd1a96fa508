package config

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// AllReports is the pattern, in a job's reports (or --report), that stands
// for every report of the catalog.
const AllReports = "all"

// patternForms is what a report pattern may be, for messages.
const patternForms = "all, or a glob such as activities_* (path.Match: *, ?, [a-z])"

// IsReportPattern tells whether a name in a job's reports (or --report) is
// AllReports or a glob with path.Match's wildcards (*, ?, [...]) rather
// than a report name.
func IsReportPattern(name string) bool {
	return name == AllReports || strings.ContainsAny(name, `*?[\`)
}

// ExpandReportPattern returns the names of known that pattern matches, in
// known's order (the catalog's, sorted): all of them for AllReports, else
// those path.Match matches. A pattern that matches nothing, or is not a
// valid glob, is an error that says so, with a did-you-mean when a pattern
// that matches is close ("activitie_*": did you mean "activities_*"?).
func ExpandReportPattern(pattern string, known []string) ([]string, error) {
	if pattern == AllReports {
		return slices.Clone(known), nil
	}
	var out []string
	for _, n := range known {
		ok, err := path.Match(pattern, n)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid report pattern (%s)", pattern, patternForms)
		}
		if ok {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("pattern %q matches no report", pattern)
		if hint := didYouMean(pattern, patternChoices(known)); hint != "" {
			return nil, errors.New(msg + " " + hint)
		}
		return nil, errors.New(msg + " (see 'closesync reports')")
	}
	return out, nil
}

// patternChoices are the patterns a mistyped one probably meant: for each
// report name and each "_" in it, the prefix pattern up to it
// ("activities_*") and the suffix pattern from it ("*_call"), and the names
// themselves.
func patternChoices(known []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, n := range known {
		for i, r := range n {
			if r == '_' {
				add(n[:i+1] + "*")
				add("*" + n[i:])
			}
		}
	}
	for _, n := range known {
		add(n)
	}
	return out
}

// ReportExpansion is what a pattern in a job's reports stood for.
type ReportExpansion struct {
	Job     string   // the job's name
	Pattern string   // as written: all, activities_*
	Reports []string // the reports it added, in catalog order
}

// Expansions lists, job by job in config order, what each report pattern
// expanded to (closesync validate prints it). A report listed by name in
// the same job, or added by an earlier pattern, is not added again, so it
// is not among a later pattern's Reports.
func (c *Config) Expansions() []ReportExpansion { return slices.Clone(c.expansions) }

// expandReports replaces the patterns of job i's reports by the reports
// they match (see ExpandReportPattern), in place of the pattern and with
// its options (mode, attribution_window, schedule): a report the job lists
// by name keeps its own entry and options, and one that an earlier pattern
// added is not added again. Patterns that match nothing are skipped (the
// validator reports them).
func (c *Config) expandReports(i int, known []string) {
	j := &c.Jobs[i]
	if !slices.ContainsFunc(j.Reports, func(r ReportRef) bool { return IsReportPattern(r.Name) }) {
		return
	}
	named := map[string]bool{}
	for _, r := range j.Reports {
		if !IsReportPattern(r.Name) {
			named[r.Name] = true
		}
	}
	added := map[string]bool{}
	var out []ReportRef
	for _, r := range j.Reports {
		if !IsReportPattern(r.Name) {
			out = append(out, r)
			continue
		}
		names, err := ExpandReportPattern(r.Name, known)
		if err != nil {
			continue
		}
		exp := ReportExpansion{Job: j.Name, Pattern: r.Name}
		for _, n := range names {
			if named[n] || added[n] {
				continue
			}
			added[n] = true
			one := r
			one.Name = n
			out = append(out, one)
			exp.Reports = append(exp.Reports, n)
		}
		c.expansions = append(c.expansions, exp)
	}
	j.Reports = out
}
