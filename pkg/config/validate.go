package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Validate checks the whole config and returns every problem at once
// (errors.Join), each prefixed with its key path, e.g.
// `jobs[1].reports[0]: unknown report "leds" (did you mean "leads"?)`.
// knownReports is the report catalog.
func (c *Config) Validate(knownReports []string) error {
	var v problems
	if strings.TrimSpace(c.Database) == "" {
		v.add("database", "must name a DuckDB file")
	}
	switch {
	case !nameRE.MatchString(c.Schema):
		v.add("schema", "%q must match %s", c.Schema, nameRE)
	case c.Schema == "sync":
		v.add("schema", `"sync" is reserved for run history and bookmarks`)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		v.add("log.level", "%q is not a level (valid: debug, info, warn, error)", c.Log.Level)
	}
	if c.HTTP.Listen != "" {
		v.add("http.listen", "the status endpoint (/healthz, /metrics, /runs) is not available in this version: leave it empty")
	}
	if !slices.Contains([]string{"console", "json"}, c.Log.Format) {
		v.add("log.format", "%q is not a format (valid: console, json)", c.Log.Format)
	}
	accounts := map[string]bool{}
	var accountNames []string
	if len(c.Accounts) == 0 {
		v.add("accounts", "at least one account is required")
	}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		v.checkName(p+".name", "account", a.Name, accounts)
		accountNames = append(accountNames, a.Name)
		if _, err := a.ResolveKey(); err != nil {
			v.add(p, "%v", err)
		}
		if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(p+".base_url", "%q must be an absolute http(s) URL", a.BaseURL)
		}
		if a.MaxConcurrency < 1 || a.MaxConcurrency > 64 {
			v.add(p+".max_concurrency", "%d must be between 1 and 64", a.MaxConcurrency)
		}
	}
	jobs := map[string]bool{}
	if len(c.Jobs) == 0 {
		v.add("jobs", "at least one job is required")
	}
	for i, j := range c.Jobs {
		p := fmt.Sprintf("jobs[%d]", i)
		v.checkName(p+".name", "job", j.Name, jobs)
		if !accounts[j.Account] {
			msg := fmt.Sprintf("no account named %q (accounts: %s)", j.Account, strings.Join(accountNames, ", "))
			if dym := didYouMean(j.Account, accountNames); dym != "" {
				msg += " " + dym
			}
			v.add(p+".account", "%s", msg)
		}
		if err := checkSchedule(j.Schedule); err != nil {
			v.add(p+".schedule", "%v", err)
		}
		if j.Timezone != "" {
			if _, err := time.LoadLocation(j.Timezone); err != nil {
				v.add(p+".timezone", "%q is not an IANA time zone: %v", j.Timezone, err)
			}
		}
		if !j.StartDate.IsZero() && j.StartDate.After(time.Now()) {
			v.add(p+".start_date", "%s is in the future", j.StartDate.Format("2006-01-02"))
		}
		if j.Timeout < 0 {
			v.add(p+".timeout", "must not be negative")
		}
		if len(j.Reports) == 0 {
			v.add(p+".reports", "list at least one report")
		}
		seen := map[string]bool{}
		for k, r := range j.Reports {
			rp := fmt.Sprintf("%s.reports[%d]", p, k)
			switch {
			case r.Name == "":
				v.add(rp, "report name is required")
			case !slices.Contains(knownReports, r.Name):
				msg := fmt.Sprintf("unknown report %q", r.Name)
				if dym := didYouMean(r.Name, knownReports); dym != "" {
					msg += " " + dym
				} else {
					msg += " (see 'closesync reports')"
				}
				v.add(rp, "%s", msg)
			case seen[r.Name]:
				v.add(rp, "report %q is listed twice in this job", r.Name)
			}
			seen[r.Name] = true
			if r.Mode != "" && !slices.Contains([]string{"upsert", "append", "replace"}, r.Mode) {
				v.add(rp+".mode", "%q is not a mode (valid: upsert, append, replace)", r.Mode)
			}
			if r.AttributionWindow < 0 {
				v.add(rp+".attribution_window", "must not be negative")
			}
			if r.Schedule != "" {
				if err := checkSchedule(r.Schedule); err != nil {
					v.add(rp+".schedule", "%v", err)
				}
			}
		}
	}
	return v.err()
}

// checkSchedule parses a schedule with the parser the scheduler uses.
func checkSchedule(spec string) error {
	if strings.TrimSpace(spec) == "" {
		return errors.New("is required (5-field cron, @hourly, @every 1h ...)")
	}
	if _, err := cron.ParseStandard(spec); err != nil {
		return fmt.Errorf("%q is not a cron schedule (5 fields, @hourly, @every 1h ...): %v", spec, err)
	}
	return nil
}

// Warnings are problems that do not stop closesync.
func (c *Config) Warnings() []string {
	var out []string
	stem := strings.TrimSuffix(filepath.Base(c.Database), filepath.Ext(c.Database))
	for _, s := range []string{c.Schema, "sync"} {
		if stem == s {
			out = append(out, fmt.Sprintf("database file stem %q equals schema name %q: DuckDB names the catalog after the file, so queries such as %s.%s report an ambiguous reference; rename the file",
				stem, s, s, "runs"))
		}
	}
	return out
}

type problems []error

// checkName checks that an account or job name is present, an identifier
// and unique, recording it in seen.
func (p *problems) checkName(path, what, name string, seen map[string]bool) {
	switch {
	case name == "":
		p.add(path, "is required")
	case !nameRE.MatchString(name):
		p.add(path, "%q must match %s", name, nameRE)
	case seen[name]:
		p.add(path, "%q is used by another %s", name, what)
	}
	seen[name] = true
}

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (p problems) err() error { return errors.Join(p...) }

// didYouMean suggests the closest choice within an edit distance that grows
// with the name (2, or a third of its length), or else one the name is a
// prefix of; "" when nothing is close.
func didYouMean(name string, choices []string) string {
	best, bestD := "", max(2, len(name)/3)+1
	for _, c := range choices {
		d := levenshtein(name, c)
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best == "" && len(name) >= 3 {
		for _, c := range choices {
			if strings.HasPrefix(c, name) {
				best = c
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("(did you mean %q?)", best)
}

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
