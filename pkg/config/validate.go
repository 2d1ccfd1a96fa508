package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/closesync/closesync/pkg/bytesize"
)

// Limits and choices that Validate enforces.
const (
	MaxConcurrencyLimit = 64
	// MaxDuckDBThreads bounds duckdb.threads.
	MaxDuckDBThreads = 256
	// MinMemoryLimit is the smallest duckdb.memory_limit, the base of the
	// default (load.MemoryLimitFor): at 32MB DuckDB could not type one batch
	// (load.DefaultBatchBytes of JSON) of the fake's leads in memory.
	MinMemoryLimit = 64_000_000
	ReservedSchema = "sync" // run history and bookmarks
)

var (
	// nameRE is what schema, account and job names must match: they end up
	// in SQL identifiers and in the run history.
	nameRE     = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"auto", "console", "json"}
	modes      = []string{"upsert", "append", "replace"}
)

// reportListMax is how many reports an unknown-report problem lists when
// no name is close; a longer catalog is referred to instead.
const reportListMax = 12

// Validate checks the whole config offline (it reads api_key_env variables
// and api_key_file files, but calls no API) and returns every problem at
// once, errors.Join'ed, each "<key path>: <problem>", e.g.
//
//	jobs[1].reports[0]: unknown report "leds" (did you mean "leads"?)
//
// A value set by an environment variable names it. No message holds an API
// key. knownReports is the report catalog; a report not in it is a problem.
func (c *Config) Validate(knownReports []string) error {
	v := &validator{origins: c.origins}
	c.validate(v, knownReports, Needs{Keys: true})
	return v.err()
}

// Needs says what the command that loads a config will do, which decides
// what must hold beyond the config itself.
type Needs struct {
	// Keys: the command calls Close (sync, run, dry-run, validate --check),
	// so every account's key must be readable now. Without it, a key source
	// that is well formed but cannot be read now (variable unset, file
	// missing or unreadable) is a warning, not a problem.
	Keys bool
	// Database: the command checks that the database can be written
	// (validate): the directory of database (and of snapshot) must exist,
	// be a directory and take a new file, and an existing database file
	// must open for writing.
	Database bool
	// CheckField, when set, checks an exclude (hash false) or hash entry of
	// a report against the report's table; it returns the problem, or "".
	CheckField func(report, field string, hash bool) string
	// CheckHistory, when set, says why a report cannot keep history in
	// mode (empty: the report's default), or "".
	CheckHistory func(report, mode string) string
}

// validate adds every problem of c to v.
func (c *Config) validate(v *validator, knownReports []string, needs Needs) {
	c.keyWarnings = nil
	c.expansions = nil
	if strings.TrimSpace(c.Database) == "" {
		v.add("database", "must name a DuckDB file, e.g. ./crm.duckdb")
	}
	switch {
	case c.Schema == "":
		v.add("schema", "must not be empty (default %s)", DefaultSchema)
	case !nameRE.MatchString(c.Schema):
		v.add("schema", "%q must match %s (lower-case letters, digits and _)", c.Schema, nameRE)
	case c.Schema == ReservedSchema:
		v.add("schema", "%q is reserved for run history and bookmarks: choose another, e.g. %s", c.Schema, DefaultSchema)
	}
	v.oneOf("log.level", "log level", c.Log.Level, logLevels)
	v.oneOf("log.format", "log format", c.Log.Format, logFormats)
	if c.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil || !isPort(port) {
			v.add("http.listen", "%q is not host:port (e.g. 127.0.0.1:9464; empty turns the status endpoint off)", c.HTTP.Listen)
		}
	}

	if c.StopGrace < 0 {
		v.add("stop_grace", "%s is negative (0 means the default, 30s)", c.StopGrace)
	}
	if c.LockTimeout < 0 {
		v.add("lock_timeout", "%s is negative (0 means the default, 2m)", c.LockTimeout)
	}
	if needs.Database && strings.TrimSpace(c.Database) != "" {
		if msg := checkWritable(c.Database, "database"); msg != "" {
			v.add("database", "%s", msg)
		}
	}
	if c.Snapshot != "" && filepath.Clean(c.Snapshot) == filepath.Clean(c.Database) {
		v.add("snapshot", "%q is the database itself: name another file", c.Snapshot)
	} else if needs.Database && c.Snapshot != "" {
		if msg := checkWritable(c.Snapshot, "snapshot"); msg != "" {
			v.add("snapshot", "%s", msg)
		}
	}
	c.Publish.validate(v, c.Database, needs)
	c.DuckDB.validate(v)
	c.Webhooks.validate(v)
	if c.Notify.URL != "" {
		if err := c.Notify.Validate(); err != nil {
			// Each line is "<field>: <problem>".
			for _, line := range strings.Split(err.Error(), "\n") {
				field, msg, _ := strings.Cut(line, ": ")
				v.add("notify."+field, "%s", msg)
			}
		}
	} else if len(c.Notify.On) > 0 || len(c.Notify.Headers) > 0 {
		v.add("notify.url", "is required when notify.on or notify.headers is set")
	}

	var accountNames []string
	if len(c.Accounts) == 0 {
		v.add("accounts", "at least one account is required")
	}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		v.name(p+".name", a.Name, "account", accountNames)
		accountNames = append(accountNames, a.Name)
		if _, field, err := a.resolveKey(); err != nil {
			at := p
			if field != "" {
				at += "." + field
			}
			var un unavailableError
			if !needs.Keys && errors.As(err, &un) {
				c.keyWarnings = append(c.keyWarnings, fmt.Sprintf("%s: %v: sync, run, sync --dry-run and validate --check need the key", at, err))
			} else {
				v.add(at, "%v", err)
			}
		}
		if a.HashesWith() {
			if _, field, err := a.resolveSalt(); err != nil {
				var un unavailableError
				if !needs.Keys && errors.As(err, &un) {
					c.keyWarnings = append(c.keyWarnings, fmt.Sprintf("%s.%s: %v: sync and run need the salt", p, field, err))
				} else {
					v.add(p+"."+field, "%v", err)
				}
			}
		}
		if msg := checkBaseURL(a.BaseURL); msg != "" {
			v.add(p+".base_url", "%s", msg)
		}
		if a.MaxConcurrency < 1 || a.MaxConcurrency > MaxConcurrencyLimit {
			v.add(p+".max_concurrency", "%d is out of range: 1 to %d requests in flight", a.MaxConcurrency, MaxConcurrencyLimit)
		}
		if a.ExportAbove < 0 {
			v.add(p+".export_above", "%d is negative: the number of records above which a first sync reads an export, or 0 for never", a.ExportAbove)
		}
	}

	var jobNames []string
	if len(c.Jobs) == 0 {
		v.add("jobs", "at least one job is required")
	}
	now := time.Now()
	minInterval := c.MinInterval
	switch {
	case minInterval < 0:
		v.add("min_interval", "%s is negative (0 means the default, %s)", minInterval, DefaultMinInterval)
	case minInterval == 0:
		minInterval = DefaultMinInterval
	}
	for i, j := range c.Jobs {
		p := fmt.Sprintf("jobs[%d]", i)
		v.name(p+".name", j.Name, "job", jobNames)
		jobNames = append(jobNames, j.Name)
		v.account(p+".account", j.Account, accountNames)
		var loc *time.Location
		if j.Timezone != "" {
			l, err := time.LoadLocation(j.Timezone)
			if err != nil || strings.ContainsAny(j.Timezone, " =") {
				v.add(p+".timezone", "%q is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)", j.Timezone)
			} else {
				loc = l
			}
		}
		if err := checkSchedule(j.Schedule, loc, minInterval, now); err != nil {
			v.add(p+".schedule", "%v", err)
		} else {
			// The scheduler's robfig/cron reads Go durations only.
			c.Jobs[i].Schedule = normalizeEvery(j.Schedule)
		}
		if !j.StartDate.IsZero() && j.StartDate.After(now) {
			v.add(p+".start_date", "%s is in the future", j.StartDate)
		}
		if j.Timeout < 0 {
			v.add(p+".timeout", "%s is negative (0 means no limit)", j.Timeout)
		}
		if len(j.Reports) == 0 {
			v.add(p+".reports", "list at least one report (see 'closesync reports')")
		}
		if j.Reconcile != "" {
			if err := checkSchedule(j.Reconcile, loc, minInterval, now); err != nil {
				v.add(p+".reconcile", "%v", err)
			} else {
				c.Jobs[i].Reconcile = normalizeEvery(j.Reconcile)
			}
		}
		if j.Verify != "" {
			if err := checkSchedule(j.Verify, loc, minInterval, now); err != nil {
				v.add(p+".verify", "%v", err)
			} else {
				c.Jobs[i].Verify = normalizeEvery(j.Verify)
			}
		}
		if j.Deletes != "" {
			v.oneOf(p+".deletes", "deletes mode", j.Deletes, []string{"soft", "hard"})
		}
		if j.OnSchemaChange != "" {
			v.oneOf(p+".on_schema_change", "schema change mode", j.OnSchemaChange, []string{"evolve", "freeze", "fail"})
		}
		if j.Retry.Attempts < 0 || j.Retry.Attempts > 10 {
			v.add(p+".retry.attempts", "%d is out of range: 0 (no retry) to 10", j.Retry.Attempts)
		}
		if j.Retry.Delay < 0 {
			v.add(p+".retry.delay", "%s is negative", j.Retry.Delay)
		}
		firstAt := map[string]int{}
		for k, r := range j.Reports {
			rp := fmt.Sprintf("%s.reports[%d]", p, k)
			v.report(rp, r.Name, knownReports, firstAt, k)
			if r.Mode != "" {
				v.oneOf(rp+".mode", "mode", r.Mode, modes)
			}
			if r.AttributionWindow < 0 {
				v.add(rp+".attribution_window", "%s is negative", r.AttributionWindow)
			}
			c.validatePrivacy(v, rp, j.Account, r, knownReports, needs)
			if r.History != nil && *r.History {
				if r.Mode != "" && r.Mode != "upsert" {
					v.add(rp+".history", "needs mode upsert (one row per id, whose versions it keeps), not %s", r.Mode)
				} else if needs.CheckHistory != nil && !IsReportPattern(r.Name) && slices.Contains(knownReports, r.Name) {
					if msg := needs.CheckHistory(r.Name, r.Mode); msg != "" {
						v.add(rp+".history", "%s cannot keep history: %s", r.Name, msg)
					}
				}
			}
			if r.Schedule != "" {
				if err := checkSchedule(r.Schedule, loc, minInterval, now); err != nil {
					v.add(rp+".schedule", "%v", err)
				} else {
					c.Jobs[i].Reports[k].Schedule = normalizeEvery(r.Schedule)
				}
			}
		}
		c.expandReports(i, knownReports)
	}
}

// Warnings lists what is suspicious but does not stop closesync, each
// "<key path>: <text>" or a sentence naming the keys.
func (c *Config) Warnings() []string {
	out := slices.Clone(c.keyWarnings)
	base := filepath.Base(c.Database)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	for _, s := range []string{c.Schema, ReservedSchema} {
		// DuckDB names the catalog after the file's stem and compares
		// identifiers without regard to case.
		if s != "" && strings.EqualFold(stem, s) {
			out = append(out, fmt.Sprintf("database file stem %q equals schema name %q: DuckDB will report ambiguous references (%s.<table> names both); give the file another name",
				stem, s, strings.ToLower(s)))
			break
		}
	}
	if host, _, err := net.SplitHostPort(c.HTTP.Listen); err == nil && !isLoopback(host) {
		out = append(out, fmt.Sprintf("http.listen: %q is reachable from other machines, and the status endpoint has no authentication (anyone can start runs with POST /jobs/<name>/run)", c.HTTP.Listen))
	}
	for i, j := range c.Jobs {
		if j.Timezone != "" && hasTZPrefix(j.Schedule) {
			out = append(out, fmt.Sprintf("jobs[%d].timezone: ignored, since jobs[%d].schedule sets its own CRON_TZ", i, i))
		}
	}
	return out
}

// checkWritable returns what stops closesync from creating or writing the
// file at path, or "". It tries what a run does: create a file in the
// directory (DuckDB creates the database and its .wal there; a temporary
// file, removed at once), and open an existing file for writing. This holds
// for the user who runs the check: run validate as the service's user.
func checkWritable(path, what string) string {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("directory %s of %s does not exist: create it (the %s file itself is created by the first run)", dir, path, what)
	case err != nil:
		return fmt.Sprintf("cannot use directory %s of %s: %v", dir, path, unwrapPathError(err))
	case !st.IsDir():
		return fmt.Sprintf("%s: %s is not a directory", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Sprintf("%s is a directory: name a file in it, e.g. %s", path, filepath.Join(path, "crm.duckdb"))
	} else if err == nil && what == "database" { // a snapshot is replaced by a rename
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Sprintf("%s cannot be opened for writing: %v", path, unwrapPathError(err))
		}
		_ = f.Close() // opened only to test the permission; nothing was written
	}
	f, err := os.CreateTemp(dir, ".closesync-validate-*")
	if err != nil {
		return fmt.Sprintf("directory %s of %s is not writable: %v (closesync creates the %s file there, and DuckDB its .wal)", dir, path, unwrapPathError(err), what)
	}
	// An empty probe: nothing to flush, and a leftover (if the remove
	// fails) is an empty hidden file.
	_ = f.Close()
	_ = os.Remove(f.Name())
	return ""
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isPort tells whether s is a port number (0 picks a free one).
func isPort(s string) bool {
	_, err := strconv.ParseUint(s, 10, 16)
	return err == nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasTZPrefix(spec string) bool {
	spec = strings.TrimSpace(spec)
	return strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=")
}

// checkBaseURL returns what is wrong with an API base URL, or "". It never
// echoes user info, where someone might have put the key. Go's URL parser
// accepts "http://127.0.0.1:/api/v1" and the client would silently use port
// 80: an empty port, like a missing host, is refused here.
func checkBaseURL(s string) string {
	const want = "must be an absolute http(s) URL such as " + DefaultBaseURL
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL: " + want
	}
	if u.User != nil {
		return "must not carry credentials (user info): give the key with api_key_env or api_key_file"
	}
	switch {
	case u.Scheme == "":
		return fmt.Sprintf("%q %s: it has no scheme (write https://...)", s, want)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q %s: the scheme %q is not http or https", s, want, u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return fmt.Sprintf("%q %s: it has no host", s, want)
	case u.Hostname() == "":
		return fmt.Sprintf("%q %s: it has a port but no host", s, want)
	case strings.HasSuffix(u.Host, ":"):
		host := strings.TrimSuffix(u.Host, ":")
		return fmt.Sprintf("%q has an empty port after %q: give the port (e.g. %s://%s:8080%s) or drop the colon", s, host+":", u.Scheme, host, u.EscapedPath())
	case u.Port() != "" && !isClientPort(u.Port()):
		return fmt.Sprintf("%q: port %s is not a port number (1 to 65535)", s, u.Port())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Sprintf("%q must not have a query or fragment", s)
	}
	return ""
}

// isClientPort tells whether s is a port a client can connect to.
func isClientPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n > 0
}

// validator collects problems.
type validator struct {
	problems []problem
	origins  map[string]string
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, problem{path: path, msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	errs := make([]error, len(v.problems))
	for i, p := range v.problems {
		errs[i] = errors.New(p.annotated(v.origins))
	}
	return errors.Join(errs...)
}

// oneOf checks a choice, listing the valid ones.
func (v *validator) oneOf(path, what, value string, valid []string) {
	if slices.Contains(valid, value) {
		return
	}
	msg := fmt.Sprintf("%q is not a %s", value, what)
	if hint := didYouMean(value, valid); hint != "" {
		msg += " " + hint
	}
	v.add(path, "%s; valid: %s", msg, strings.Join(valid, ", "))
}

// name checks an account or job name: present, well-formed, unique.
func (v *validator) name(path, name, what string, before []string) {
	switch {
	case name == "":
		v.add(path, "is required")
	case !nameRE.MatchString(name):
		v.add(path, "%q must match %s (lower-case letters, digits and _)", name, nameRE)
	case slices.Contains(before, name):
		v.add(path, "%q is already the name of %ss[%d]", name, what, slices.Index(before, name))
	}
}

// account checks a job's account reference; accounts holds the names of
// accounts[0], accounts[1], ... ("" for one without a name).
func (v *validator) account(path, name string, accounts []string) {
	var known []string
	var parts []string
	for i, a := range accounts {
		switch {
		case a == "":
			parts = append(parts, fmt.Sprintf("accounts[%d] has no name", i))
		case !slices.Contains(known, a):
			known = append(known, a)
		}
	}
	if len(known) > 0 {
		parts = append([]string{"accounts: " + strings.Join(known, ", ")}, parts...)
	}
	list := strings.Join(parts, "; ")
	if len(accounts) == 0 {
		list = "no accounts are configured"
	}
	switch {
	case name == "":
		v.add(path, "is required (%s)", list)
	case !slices.Contains(known, name):
		msg := fmt.Sprintf("no account named %q (%s)", name, list)
		if hint := didYouMean(name, known); hint != "" {
			msg += " " + hint
		}
		v.add(path, "%s", msg)
	}
}

// report checks one report of a job, a name or a pattern (which must match
// a report); firstAt maps the names seen so far to their index.
func (v *validator) report(path, name string, known []string, firstAt map[string]int, k int) {
	switch {
	case name == "":
		v.add(path, "report name is required")
		return
	case IsReportPattern(name):
		if _, err := ExpandReportPattern(name, known); err != nil {
			v.add(path, "%v", err)
		}
	case !slices.Contains(known, name):
		msg := fmt.Sprintf("unknown report %q", name)
		if hint := choiceHint(name, known, reportListMax); hint != "" {
			msg += " " + hint
		} else {
			msg += " (see 'closesync reports')"
		}
		v.add(path, "%s", msg)
	}
	if first, dup := firstAt[name]; dup {
		v.add(path, "report %q is already listed as reports[%d] of this job", name, first)
		return
	}
	firstAt[name] = k
}

// validate checks the duckdb section; empty and zero values take the
// defaults.
func (d DuckDB) validate(v *validator) {
	const sizeHint = "a number and a unit, e.g. 256MB, 1GB or 512MiB"
	if d.MemoryLimit != "" {
		if n, ok := bytesize.Parse(d.MemoryLimit); !ok {
			v.add("duckdb.memory_limit", "%q is not a size (%s; empty: the default)", d.MemoryLimit, sizeHint)
		} else if n < MinMemoryLimit {
			v.add("duckdb.memory_limit", "%q is below the minimum, 64MB: DuckDB could not type a batch of leads in less", d.MemoryLimit)
		}
	}
	if d.CheckpointThreshold != "" {
		if n, ok := bytesize.Parse(d.CheckpointThreshold); !ok {
			v.add("duckdb.checkpoint_threshold", "%q is not a size (%s; empty: the default)", d.CheckpointThreshold, sizeHint)
		} else if n < 1 {
			v.add("duckdb.checkpoint_threshold", "%q must be positive", d.CheckpointThreshold)
		}
	}
	if d.CompactFreeRatio < 0 || d.CompactFreeRatio >= 1 {
		v.add("duckdb.compact_free_ratio", "%g is not between 0 and 1 (the free share of the file at which it is compacted, e.g. 0.3; 0: never)", d.CompactFreeRatio)
	}
	if d.CompactMinSize != "" {
		if _, ok := bytesize.Parse(d.CompactMinSize); !ok {
			v.add("duckdb.compact_min_size", "%q is not a size (%s; empty: the default, %s)", d.CompactMinSize, sizeHint, DefaultCompactMinSize)
		}
	}
	if d.Threads < 0 || d.Threads > MaxDuckDBThreads {
		v.add("duckdb.threads", "%d is not between 1 and %d (0: the default)", d.Threads, MaxDuckDBThreads)
	}
	if d.TempDirectory != "" {
		if st, err := os.Stat(d.TempDirectory); err == nil && !st.IsDir() {
			v.add("duckdb.temp_directory", "%s is not a directory", d.TempDirectory)
		}
	}
}

// validatePrivacy checks a report's exclude and hash lists (at rp): each
// entry once, in one list, on the reports its name or pattern stands for;
// hash needs the account's salt.
func (c *Config) validatePrivacy(v *validator, rp, account string, r ReportRef, known []string, needs Needs) {
	if len(r.Exclude) == 0 && len(r.Hash) == 0 {
		return
	}
	if len(r.Hash) > 0 {
		// Said of the account, once: a problem at rp.hash would hide
		// those of its entries.
		if i := slices.IndexFunc(c.Accounts, func(a Account) bool { return a.Name == account }); i >= 0 && !c.Accounts[i].HashesWith() {
			v.add(fmt.Sprintf("accounts[%d].hash_salt_file", i), "is required: %s (%s) hashes fields; set it or hash_salt_env to a salt of at least %d characters (e.g. openssl rand -hex 32 > hash_salt)",
				rp, r.Name, MinSaltLength)
		}
	}
	names := []string{r.Name}
	if IsReportPattern(r.Name) {
		names, _ = ExpandReportPattern(r.Name, known)
	} else if !slices.Contains(known, r.Name) {
		names = nil // the unknown report is the problem, said already
	}
	seen := map[string]string{}
	for _, list := range []struct {
		key    string
		fields []string
		hash   bool
	}{{"exclude", r.Exclude, false}, {"hash", r.Hash, true}} {
		for n, f := range list.fields {
			at := fmt.Sprintf("%s.%s[%d]", rp, list.key, n)
			if strings.TrimSpace(f) == "" {
				v.add(at, "is blank: name a field, e.g. emails.email or custom.<field name>")
				continue
			}
			if prev, dup := seen[f]; dup {
				v.add(at, "%q is listed already (%s)", f, prev)
				continue
			}
			seen[f] = at
			if needs.CheckField == nil {
				continue
			}
			for _, name := range names {
				if msg := needs.CheckField(name, f, list.hash); msg != "" {
					if len(names) > 1 || name != r.Name {
						msg = name + ": " + msg
					}
					v.add(at, "%s", msg)
				}
			}
		}
	}
}

// validate checks the webhooks keys: both or neither of listen and
// public_url, each well formed.
func (w Webhooks) validate(v *validator) {
	if w.Listen == "" && w.PublicURL == "" {
		if w.Debounce != 0 {
			v.add("webhooks.debounce", "is set without webhooks.listen and webhooks.public_url")
		}
		return
	}
	if _, port, err := net.SplitHostPort(w.Listen); err != nil || !isPort(port) {
		v.add("webhooks.listen", "%q is not host:port (e.g. 127.0.0.1:9465): where Close's deliveries come to", w.Listen)
	}
	u, err := url.Parse(w.PublicURL)
	switch {
	case w.PublicURL == "":
		v.add("webhooks.public_url", "is required with webhooks.listen: the https URL Close reaches it at, e.g. https://closesync.example.com/close-webhooks")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		v.add("webhooks.public_url", "%q must be an absolute https URL, e.g. https://closesync.example.com/close-webhooks", w.PublicURL)
	case u.RawQuery != "" || u.Fragment != "":
		v.add("webhooks.public_url", "%q must not have a query or fragment", w.PublicURL)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		v.add("webhooks.public_url", "%q is plain http: Close delivers to https URLs (http only on loopback, for tests)", w.PublicURL)
	}
	if w.Debounce < 0 {
		v.add("webhooks.debounce", "%s is negative (0 means the default, %s)", w.Debounce, DefaultWebhookDebounce)
	}
}
