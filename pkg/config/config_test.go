package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// reports is the catalog the tests validate against.
var reports = []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
	"activities", "custom_fields", "event_log", "activities_call"}

// writeConfig writes a config file into a test directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "closesync.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// absPath is the absolute form of a path relative to the package directory.
func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// problemLines splits a joined error into its problems.
func problemLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	cfg, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(append(reports, "reporting_activity", "reporting_sent_emails")); err != nil {
		t.Fatalf("config.example.yaml does not validate:\n%v", err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "main" {
		t.Errorf("accounts = %+v, want main", cfg.Accounts)
	}
	if len(cfg.Jobs) != 3 || cfg.Jobs[0].Name != "core" || cfg.Jobs[1].Name != "calls" || cfg.Jobs[2].Name != "reporting" {
		t.Fatalf("jobs = %+v, want core, calls and reporting", cfg.Jobs)
	}
	if got := cfg.Jobs[2].Reports[1]; got.Name != "reporting_sent_emails" || got.AttributionWindow != 7*24*time.Hour {
		t.Errorf("reporting job not decoded: %+v", got)
	}
	if !reflect.DeepEqual(cfg.Jobs[0].Reports[0], ReportRef{Name: "leads"}) {
		t.Errorf("bare report names not decoded: %+v", cfg.Jobs[0].Reports)
	}
	if got := cfg.Jobs[1].Reports[0]; got.Name != "activities_call" || got.Mode != "append" || got.AttributionWindow != 24*time.Hour {
		t.Errorf("report map not decoded: %+v", got)
	}
	if got := cfg.Jobs[0].StartDate.Format(time.RFC3339); got != "2024-01-01T00:00:00Z" {
		t.Errorf("unquoted start_date = %s", got)
	}
	if key, err := cfg.Accounts[0].ResolveKey(); err != nil || key != "api_test" {
		t.Errorf("ResolveKey = %q, %v", key, err)
	}
}

// TestExampleConfigNamesEveryKey keeps config.example.yaml complete: every
// key of every struct appears in it, set or commented out.
func TestExampleConfigNamesEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []any{Config{}, Log{}, HTTP{}, Account{}, Job{}, ReportRef{}, DuckDB{}, Publish{}} {
		for _, k := range fieldKeys(reflect.TypeOf(typ)) {
			if !strings.Contains(string(b), k+":") {
				t.Errorf("config.example.yaml does not mention %s (of %T)", k, typ)
			}
		}
	}
}

// TestGoodConfigs loads and validates every testdata/*.good.yaml.
func TestGoodConfigs(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(reports); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBadConfigs pairs each testdata/*.bad.yaml with the problems Load or
// Validate must report (Prometheus style); every bad fixture must be listed.
func TestBadConfigs(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	t.Setenv("EMPTY_KEY", "")
	t.Setenv("SHORT_SALT", "short")
	tests := []struct {
		file string
		want []string
		n    int // number of problems, when the fixture pins it
	}{
		{file: "unknown_key.bad.yaml", n: 6, want: []string{
			"testdata/unknown_key.bad.yaml is invalid:\n  accounts[0].api_kye: unknown key (did you mean \"api_key\"?)",
			`databse: unknown key (did you mean "database"?)`,
			`log.fromat: unknown key (did you mean "format"?)`,
			`accounts[0].api_kye: unknown key (did you mean "api_key"?)`,
			`jobs[0].shedule: unknown key (did you mean "schedule"?)`,
			`jobs[0].reports[1].attribution_windw: unknown key (did you mean "attribution_window"?)`,
			`jobs[0].reports[2].colour: unknown key (valid: name, mode, attribution_window, schedule, filter_nulls, exclude, hash, history)`,
		}},
		{file: "many_problems.bad.yaml", n: 10, want: []string{
			`schema: "sync" is reserved for run history`,
			`log.level: "loud" is not a log level; valid: debug, info, warn, error`,
			`http.listen: "localhost" is not host:port`,
			`accounts[0]: no API key source: set api_key, api_key_env or api_key_file`,
			`jobs[0].account: no account named "mian" (accounts: main) (did you mean "main"?)`,
			`jobs[0].schedule: "every tuesday" is not a valid schedule: expected exactly 5 fields, found 2`,
			`jobs[0].reports[0]: unknown report "leds" (did you mean "leads"?)`,
			`jobs[1].name: "core" is already the name of jobs[0]`,
			`jobs[1].reports[1]: report "users" is already listed as reports[0] of this job`,
			`jobs[1].reports[2].mode: "merge" is not a mode; valid: upsert, append, replace`,
		}},
		{file: "key_sources.bad.yaml", n: 5, want: []string{
			"accounts[0]: several API key sources (api_key, api_key_env): set exactly one",
			"accounts[1].api_key_env: environment variable EMPTY_KEY is not set or empty",
			"accounts[2].api_key_file: cannot read /nonexistent/close-key: no such file or directory",
			`accounts[3].base_url: "ftp://example.com" must be an absolute http(s) URL`,
			`jobs[0].timezone: "Mars/Olympus" is not a known IANA time zone`,
		}},
		{file: "values.bad.yaml", n: 24, want: []string{
			"database: must name a DuckDB file",
			`schema: "Close" must match ^[a-z_][a-z0-9_]*$`,
			`log.level: "warning" is not a log level (did you mean "warn"?); valid: debug, info, warn, error`,
			`log.format: "text" is not a log format; valid: auto, console, json`,
			`http.listen: ":9464x" is not host:port`,
			`accounts[0].name: "Main" must match`,
			`accounts[0].base_url: "api.close.com/api/v1" must be an absolute http(s) URL`,
			"accounts[0].max_concurrency: 0 is out of range: 1 to 64",
			"accounts[1].max_concurrency: 100 is out of range: 1 to 64",
			"accounts[1].export_above: -5 is negative",
			`accounts[2].name: "second" is already the name of accounts[1]`,
			`jobs[0].name: "my-job" must match`,
			"jobs[0].account: is required (accounts: Main, second)",
			`jobs[0].schedule: "0 */2 * * * *" is not a valid schedule: expected exactly 5 fields, found 6`,
			"(seconds are not supported)",
			`jobs[0].timezone: "Europe/Pragu" is not a known IANA time zone`,
			"jobs[0].start_date: 2999-01-01 is in the future",
			"jobs[0].timeout: -1h0m0s is negative (0 means no limit)",
			`jobs[0].on_schema_change: "Freeze" is not a schema change mode (did you mean "freeze"?)`,
			`jobs[0].reports[0].mode: "Append" is not a mode (did you mean "append"?)`,
			"jobs[0].reports[0].attribution_window: -24h0m0s is negative",
			`jobs[0].reports[0].schedule: "@every fortnight" is not a valid schedule`,
			`jobs[0].reports[1]: unknown report "zzz" (valid: leads, contacts, opportunities,`,
			"jobs[1].schedule: is required",
			"jobs[1].reports: list at least one report",
		}},
		{file: "empty.bad.yaml", n: 2, want: []string{
			"accounts: at least one account is required",
			"jobs: at least one job is required",
		}},
		{file: "bad_types.bad.yaml", n: 8, want: []string{
			"database: want a string, got a list",
			"log: want a map, got a string",
			"accounts[0].api_key: want a string, got a list",
			`accounts[0].max_concurrency: want a whole number, got "lots"`,
			"jobs[0].start_date: want a date (YYYY-MM-DD), got a list",
			"jobs[0].reports[1]: want a report name or a map with a name, got a list",
			`accounts[0].filter_nulls: want true or false, got "sometimes"`,
			"jobs[0].reports[2].filter_nulls: want true or false, got a list",
		}},
		{file: "bad_date.bad.yaml", n: 1, want: []string{
			`jobs[0].start_date: "first of may" is not a date (want YYYY-MM-DD or an RFC 3339 date-time`,
		}},
		{file: "bad_duration.bad.yaml", n: 10, want: []string{
			`lock_timeout: "2 minutes" is not a duration: write a number and a unit such as 90s, 45m, 6h, 7d, 2w or 1d12h (units: ms, s, m, h, d, w, y; largest first)`,
			"stop_grace: 30 has no unit: write a duration such as 30s (units: ms, s, m, h, d, w, y)",
			`min_interval: "12h1d" is not a duration: write`,
			`notify.delay: "1.5 seconds" is not a duration: write`,
			`notify.timeout: "10 s" is not a duration: write`,
			`jobs[0].schedule: "@every 1day" is not a valid schedule: @every needs a duration such as 30m, 2h or 7d, got "1day" (units: s, m, h, d, w)`,
			"jobs[0].timeout: 3600 has no unit: write a duration such as 3600s",
			`jobs[0].retry.delay: "soon" is not a duration: write`,
			`jobs[0].reports[0].attribution_window: "one day" is not a duration: write`,
			`jobs[0].reports[2].attribution_window: "2W" is not a duration: write`,
		}},
		{file: "patterns.bad.yaml", n: 5, want: []string{
			`jobs[0].reports[0]: pattern "activitie_*" matches no report (did you mean "activities_*"?)`,
			`jobs[0].reports[1]: pattern "*_cal" matches no report (did you mean "*_call"?)`,
			`jobs[0].reports[2]: "[a" is not a valid report pattern (all, or a glob such as activities_* (path.Match: *, ?, [a-z]))`,
			`jobs[0].reports[3]: pattern "zzz*" matches no report (see 'closesync reports')`,
			`jobs[0].reports[5]: report "activities_*" is already listed as reports[4] of this job`,
		}},
		{file: "schedules.bad.yaml", n: 10, want: []string{
			`jobs[0].schedule: "TZ=Europe/Berlin" is not a valid schedule: TZ=Europe/Berlin names a time zone but no schedule after it`,
			`jobs[0].reconcile: "CRON_TZ=" is not a valid schedule: CRON_TZ= names a time zone but no schedule after it`,
			`jobs[0].reports[0].schedule: "TZ=0" is not a valid schedule: TZ=0 names a time zone but no schedule after it`,
			`jobs[0].reports[1].schedule: "@every 0s": @every needs a positive interval such as @every 1h`,
			`jobs[0].reports[2].schedule: "@every -1h": @every needs a positive interval`,
			`jobs[1].schedule: "*/2 * * * *" fires 2m0s after`,
			`more often than min_interval (5m0s)`,
			`jobs[1].reconcile: "0 0 30 2 *" never fires: no date in the next 5 years matches it`,
			`jobs[1].verify: "@every 1m" fires every 1m0s, more often than min_interval (5m0s)`,
			`jobs[1].reports[0].schedule: "@every 1m" fires every 1m0s, more often than min_interval (5m0s)`,
			`jobs[1].reports[1].schedule: "61 * * * *" is not a valid schedule: minute field "61": end of range (61) above maximum (59)`,
		}},
		{file: "webhooks.bad.yaml", n: 3, want: []string{
			`webhooks.listen: "9465" is not host:port (e.g. 127.0.0.1:9465): where Close's deliveries come to`,
			`webhooks.public_url: "http://closesync.example.com/hooks" is plain http: Close delivers to https URLs (http only on loopback, for tests)`,
			`webhooks.debounce: -1s is negative (0 means the default, 2s)`,
		}},
		{file: "history.bad.yaml", n: 2, want: []string{
			`jobs[0].reports[0].history: needs mode upsert (one row per id, whose versions it keeps), not append`,
			`jobs[0].reports[4].history: want true or false, got "sometimes"`,
		}},
		{file: "privacy.bad.yaml", n: 6, want: []string{
			`accounts[1].hash_salt_env: the salt has 5 characters: use at least 16 (e.g. openssl rand -hex 32)`,
			`accounts[2].hash_salt_env: and hash_salt_file are both set: set one`,
			`accounts[0].hash_salt_file: is required: jobs[0].reports[0] (contacts) hashes fields; set it or hash_salt_env to a salt of at least 16 characters (e.g. openssl rand -hex 32 > hash_salt)`,
			`jobs[0].reports[0].exclude[0]: is blank: name a field, e.g. emails.email or custom.<field name>`,
			`jobs[0].reports[0].exclude[2]: "phones" is listed already (jobs[0].reports[0].exclude[1])`,
			`jobs[0].reports[2].hash[1]: "note" is listed already (jobs[0].reports[2].exclude[0])`,
		}},
		{file: "keys_and_values.bad.yaml", n: 7, want: []string{
			`databse: unknown key (did you mean "database"?)`,
			`jobs[0].shedule: unknown key (did you mean "schedule"?)`,
			`log.level: "loud" is not a log level`,
			`accounts[0].name: is required`,
			`jobs[0].account: no account named "main" (accounts[0] has no name)`,
			`jobs[0].timeout: -1h0m0s is negative`,
			`jobs[0].reports[0]: unknown report "leds" (did you mean "leads"?)`,
		}},
		{file: "database_dir_missing.bad.yaml", n: 2, want: []string{
			"database: directory " + absPath(t, "testdata/no-such-dir") + " of " + absPath(t, "testdata/no-such-dir/crm.duckdb") + " does not exist: create it (the database file itself is created by the first run)",
			"snapshot: directory " + absPath(t, "testdata/no-such-dir") + " of " + absPath(t, "testdata/no-such-dir/snapshot.duckdb") + " does not exist: create it (the snapshot file itself is created by the first run)",
		}},
		{file: "database_dir_is_file.bad.yaml", n: 2, want: []string{
			"database: " + absPath(t, "testdata/minimal.good.yaml/crm.duckdb") + ": " + absPath(t, "testdata/minimal.good.yaml") + " is not a directory",
			"snapshot: " + absPath(t, "testdata") + " is a directory: name a file in it, e.g. " + absPath(t, "testdata/crm.duckdb"),
		}},
		{file: "top_level_list.bad.yaml", want: []string{
			"read config testdata/top_level_list.bad.yaml: yaml: line 3: the file must be a map of keys (database: ..., accounts: ..., jobs: ...), got a list",
		}},
		{file: "top_level_string.bad.yaml", want: []string{
			"read config testdata/top_level_string.bad.yaml: yaml: line 1: the file must be a map of keys (database: ..., accounts: ..., jobs: ...), got a string",
		}},
		{file: "yaml_tag.bad.yaml", want: []string{
			"read config testdata/yaml_tag.bad.yaml: yaml: a string `two minutes` is not a number, as its tag says: drop the tag or fix the value",
		}},
		{file: "duckdb.bad.yaml", n: 6, want: []string{
			`duckdb.compact_free_ratio: 1.5 is not between 0 and 1 (the free share of the file at which it is compacted, e.g. 0.3; 0: never)`,
			`duckdb.compact_min_size: "big" is not a size (a number and a unit, e.g. 256MB, 1GB or 512MiB; empty: the default, 256MB)`,
			`duckdb.memory_limit: "lots" is not a size (a number and a unit, e.g. 256MB, 1GB or 512MiB; empty: the default)`,
			`duckdb.threads: -1 is not between 1 and 256 (0: the default)`,
			`duckdb.checkpoint_threshold: "64 megabytes" is not a size (a number and a unit, e.g. 256MB, 1GB or 512MiB; empty: the default)`,
			"duckdb.temp_directory: " + absPath(t, "testdata/minimal.good.yaml") + " is not a directory",
		}},
		{file: "duckdb_small.bad.yaml", n: 4, want: []string{
			`duckdb.compact_free_ratio: -0.1 is not between 0 and 1 (the free share of the file at which it is compacted, e.g. 0.3; 0: never)`,
			`duckdb.memory_limit: "16MiB" is below the minimum, 64MB: DuckDB could not type a batch of leads in less`,
			`duckdb.threads: 1000 is not between 1 and 256 (0: the default)`,
			`duckdb.checkpoint_threshold: "0MB" must be positive`,
		}},
		{file: "publish.bad.yaml", n: 3, want: []string{
			`publish.view: unknown key (did you mean "views"?)`,
			"publish.parquet: directory " + absPath(t, "testdata/no-such-dir") + " of " + absPath(t, "testdata/no-such-dir/lake") +
				" does not exist: create it (the publish directory itself is created by the first publish)",
			"publish.partition_above: -1 is negative: the rows above which a table with date_created is partitioned by month (0: every such table)",
		}},
		{file: "publish_file.bad.yaml", n: 2, want: []string{
			"publish.parquet: " + absPath(t, "testdata/minimal.good.yaml") + " is not a directory: name a directory (closesync writes a directory per table in it)",
		}},
		{file: "headers_list.bad.yaml", n: 1, want: []string{
			"notify.headers: want a map (name: value, one per line), got a list",
		}},
		{file: "base_url.bad.yaml", n: 10, want: []string{
			`accounts[0].base_url: "http://127.0.0.1:/api/v1" has an empty port after "127.0.0.1:": give the port (e.g. http://127.0.0.1:8080/api/v1) or drop the colon`,
			`accounts[1].base_url: "https://:8443/api/v1" must be an absolute http(s) URL such as https://api.close.com/api/v1: it has a port but no host`,
			`accounts[2].base_url: "ftp://api.close.com/api/v1" must be an absolute http(s) URL such as https://api.close.com/api/v1: the scheme "ftp" is not http or https`,
			`accounts[3].base_url: "https://api.close.com/api/v1?x=1" must not have a query or fragment`,
			`accounts[4].base_url: "https://api.close.com/api/v1#top" must not have a query or fragment`,
			`accounts[5].base_url: "https://api.close.com/api/v1?" must not have a query or fragment`,
			`accounts[6].base_url: "https://api.close.com:0/api/v1": port 0 is not a port number (1 to 65535)`,
			`accounts[7].base_url: "http:api.close.com" must be an absolute http(s) URL such as https://api.close.com/api/v1: it has no host`,
			`accounts[8].base_url: "api.close.com/api/v1" must be an absolute http(s) URL such as https://api.close.com/api/v1: it has no scheme (write https://...)`,
			`accounts[9].base_url: "http://[::1]:/api/v1" has an empty port after "[::1]:": give the port (e.g. http://[::1]:8080/api/v1) or drop the colon`,
		}},
		{file: "structure.bad.yaml", n: 4, want: []string{
			"log.level: unknown key; nest it: log: {level: ...}",
			`accounts: want a list (each item starting with "- "), got a map`,
			`jobs: want a list (each item starting with "- "), got a map`,
			`Database: unknown key (did you mean "database"?)`,
		}},
		{file: "structure_jobs.bad.yaml", n: 4, want: []string{
			`jobs[0].reports: want a list (each item starting with "- "), got a map`,
			"jobs[0].schedule: want a string, got a date",
		}},
		{file: "structure_reports.bad.yaml", n: 4, want: []string{
			"jobs[0].reports[0]: want a report name or a map with a name, got a number",
		}},
		{file: "yaml_syntax.bad.yaml", n: 0, want: []string{
			"read config testdata/yaml_syntax.bad.yaml: yaml: line",
		}},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			_, err := Check(filepath.Join("testdata", tt.file), reports, Needs{Keys: true, Database: true})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if got := len(problemLines(err)) - 1; tt.n > 0 && got != tt.n { // less the heading
				t.Errorf("%d problems, want %d:\n%v", got, tt.n, err)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no expectations in TestBadConfigs", f)
		}
	}
}

func TestDefaults(t *testing.T) {
	path := writeConfig(t, `
accounts:
  - name: main
jobs:
  - name: core
log: ~
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, j := cfg.Accounts[0], cfg.Jobs[0]
	for _, c := range []struct{ name, got, want string }{
		{"database", cfg.Database, filepath.Join(filepath.Dir(path), DefaultDatabase)}, // beside the config file
		{"schema", cfg.Schema, DefaultSchema},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "auto"},
		{"http.listen", cfg.HTTP.Listen, ""},
		{"base_url", a.BaseURL, "https://api.close.com/api/v1"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if a.MaxConcurrency != 8 {
		t.Errorf("max_concurrency = %d, want 8", a.MaxConcurrency)
	}
	if j.Timeout != 6*time.Hour {
		t.Errorf("timeout = %s, want 6h", j.Timeout)
	}
	if !j.StartDate.IsZero() || j.Timezone != "" {
		t.Errorf("optional keys set: %+v", j)
	}
}

// TestExplicitZeroValuesAreNotDefaulted: defaults fill absent keys only, so
// an explicit value is validated rather than silently replaced.
func TestExplicitZeroValuesAreNotDefaulted(t *testing.T) {
	cfg, err := Load(writeConfig(t, `
database: ""
accounts:
  - name: main
    api_key: api_x
    max_concurrency: 0
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    timeout: 0
    reports: [leads]
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Jobs[0].Timeout != 0 {
		t.Errorf("timeout: 0 became %s; 0 means no limit", cfg.Jobs[0].Timeout)
	}
	got := problemLines(cfg.Validate(reports))
	want := []string{"database: must name a DuckDB file, e.g. ./crm.duckdb", "accounts[0].max_concurrency: 0 is out of range: 1 to 64 requests in flight"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStartDateForms(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"2024-03-01", "2024-03-01T00:00:00Z"},                  // YAML timestamp
		{`"2024-03-01"`, "2024-03-01T00:00:00Z"},                // string
		{"'2024-03-01'", "2024-03-01T00:00:00Z"},                // string
		{"2024-03-01T10:30:00Z", "2024-03-01T10:30:00Z"},        // YAML timestamp
		{"2024-03-01T10:30:00+02:00", "2024-03-01T08:30:00Z"},   // YAML timestamp with offset
		{`"2024-03-01T10:30:00+02:00"`, "2024-03-01T08:30:00Z"}, // RFC 3339 string
		{`"2024-03-01T10:30:00.5Z"`, "2024-03-01T10:30:00.5Z"},  // fractional seconds
		{`"2024-03-01 10:30:00"`, "2024-03-01T10:30:00Z"},       // no zone: UTC
		{`""`, "0001-01-01T00:00:00Z"},                          // unset
		{"~", "0001-01-01T00:00:00Z"},                           // unset
		{`" 2024-03-01 "`, "2024-03-01T00:00:00Z"},              // trimmed
		{"2024-02-29", "2024-02-29T00:00:00Z"},                  // leap day
		{`"2024-03-01T23:59:59-05:00"`, "2024-03-02T04:59:59Z"}, // crosses a day in UTC
		{`"2024-03-01T10:30:00.123456789Z"`, "2024-03-01T10:30:00.123456789Z"},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, "jobs:\n  - name: a\n    start_date: "+tt.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Jobs[0].StartDate.UTC().Format(time.RFC3339Nano); got != tt.want {
				t.Errorf("start_date = %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`"2024-13-01"`, `"01/03/2024"`, `"2024-02-30"`, "2024", "true"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := Load(writeConfig(t, "jobs:\n  - name: a\n    start_date: "+bad+"\n"))
			if err == nil || !strings.Contains(err.Error(), "jobs[0].start_date: ") {
				t.Errorf("start_date: %s: err = %v, want one naming jobs[0].start_date", bad, err)
			}
		})
	}
}

func TestDateString(t *testing.T) {
	for _, tt := range []struct {
		d    Date
		want string
	}{
		{Date{}, ""},
		{Date{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, "2024-01-01"},
		{Date{time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC)}, "2024-01-01T10:30:00Z"},
	} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
		if b, _ := json.Marshal(tt.d); string(b) != `"`+tt.want+`"` {
			t.Errorf("JSON = %s, want %q", b, tt.want)
		}
	}
}

func TestDurations(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		yaml string
		want time.Duration
	}{
		{"24h", day},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{`"45s"`, 45 * time.Second},
		{"0", 0},
		{"0s", 0},
		{"1.5h", 90 * time.Minute}, // Go's form still reads
		{"500ms", 500 * time.Millisecond},
		{"7d", 7 * day},
		{"2w", 14 * day},
		{"1d12h", 36 * time.Hour},
		{"1w2d", 9 * day},
		{"1y", 365 * day},
		{`" 3d "`, 3 * day},
		{DefaultJobTimeout.String(), DefaultJobTimeout}, // the default as applyDefaults writes it
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, "stop_grace: "+tt.yaml+"\njobs:\n  - name: a\n    timeout: "+tt.yaml+
				"\n    retry: {delay: "+tt.yaml+"}\n    reports:\n      - {name: x, attribution_window: "+tt.yaml+"}\n"))
			if err != nil {
				t.Fatal(err)
			}
			for key, got := range map[string]time.Duration{
				"stop_grace": cfg.StopGrace, "timeout": cfg.Jobs[0].Timeout, "retry.delay": cfg.Jobs[0].Retry.Delay,
				"attribution_window": cfg.Jobs[0].Reports[0].AttributionWindow,
			} {
				if got != tt.want {
					t.Errorf("%s = %s, want %s", key, got, tt.want)
				}
			}
		})
	}
	for _, tt := range []struct{ yaml, want string }{
		{"3600", "jobs[0].timeout: 3600 has no unit"},
		{"1.5", "jobs[0].timeout: 1.5 has no unit"},
		{"12h1d", `jobs[0].timeout: "12h1d" is not a duration: write ` + DurationForms},
		{"1D", `jobs[0].timeout: "1D" is not a duration: write`},
		{"1 day", `jobs[0].timeout: "1 day" is not a duration: write`},
		{"soon", `jobs[0].timeout: "soon" is not a duration`},
		{`""`, `jobs[0].timeout: "" is not a duration`},
		{"[1h]", "jobs[0].timeout: want a duration such as 90m, 6h or 7d, got a list"},
	} {
		t.Run("bad "+tt.yaml, func(t *testing.T) {
			_, err := Load(writeConfig(t, "jobs:\n  - name: a\n    timeout: "+tt.yaml+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestEveryInDays: an @every schedule in days or weeks validates and is
// stored in the form the scheduler's robfig/cron parses.
func TestEveryInDays(t *testing.T) {
	cfg, err := Check("testdata/days.good.yaml", reports, Needs{})
	if err != nil {
		t.Fatal(err)
	}
	j := cfg.Jobs[0]
	for _, c := range []struct{ key, got, want string }{
		{"schedule", j.Schedule, "@every 24h0m0s"},
		{"reconcile", j.Reconcile, "CRON_TZ=UTC @every 168h0m0s"},
		{"reports[1].schedule", j.Reports[1].Schedule, "@every 12h0m0s"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
		if _, err := cron.ParseStandard(c.got); err != nil {
			t.Errorf("%s: robfig/cron cannot parse %q: %v", c.key, c.got, err)
		}
	}
	if j.Timeout != 36*time.Hour || j.Reports[1].AttributionWindow != 7*24*time.Hour {
		t.Errorf("timeout %s, attribution_window %s", j.Timeout, j.Reports[1].AttributionWindow)
	}
}

func TestReportsStringOrMap(t *testing.T) {
	cfg, err := Load(writeConfig(t, `
jobs:
  - name: a
    reports:
      - leads
      - name: activities
        mode: append
        attribution_window: 48h
        schedule: "@every 30m"
      - {name: tasks}
  - name: b
    reports: [users, contacts]
  - name: c
    reports: leads
`))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]ReportRef{
		{{Name: "leads"}, {Name: "activities", Mode: "append", AttributionWindow: 48 * time.Hour, Schedule: "@every 30m"}, {Name: "tasks"}},
		{{Name: "users"}, {Name: "contacts"}},
		{{Name: "leads"}}, // a single name is a list of one
	}
	for i, w := range want {
		got := cfg.Jobs[i].Reports
		if len(got) != len(w) {
			t.Errorf("jobs[%d].reports = %+v, want %+v", i, got, w)
			continue
		}
		for k := range w {
			if !reflect.DeepEqual(got[k], w[k]) {
				t.Errorf("jobs[%d].reports[%d] = %+v, want %+v", i, k, got[k], w[k])
			}
		}
	}
}

// TestFiltersNulls: a report's filter_nulls wins over its account's, a
// pattern's applies to every report it stands for, and the default is off.
func TestFiltersNulls(t *testing.T) {
	cfg, err := Load(writeConfig(t, `
database: ./crm.duckdb
accounts:
  - {name: filtered, api_key: api_x, filter_nulls: true}
  - {name: plain, api_key: api_y}
jobs:
  - name: a
    account: filtered
    schedule: "@hourly"
    reports: [leads, {name: contacts, filter_nulls: false}]
  - name: b
    account: plain
    schedule: "@hourly"
    reports: [users, {name: "activities_*", filter_nulls: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate([]string{"leads", "contacts", "users", "activities_call", "activities_email"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, j := range cfg.Jobs {
		for _, r := range j.Reports {
			got[j.Name+"/"+r.Name] = cfg.FiltersNulls(j, r)
		}
	}
	for key, want := range map[string]bool{"a/leads": true, "a/contacts": false, "b/users": false,
		"b/activities_call": true, "b/activities_email": true} {
		if g, ok := got[key]; !ok || g != want {
			t.Errorf("%s filters nulls: %v (listed %v), want %v", key, g, ok, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

// TestExampleConfigWithoutKey: as shipped, with CLOSE_API_KEY unset,
// config.example.yaml is valid for the commands that need no key (with a
// warning) and invalid for those that call Close.
func TestExampleConfigWithoutKey(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "")
	const msg = "accounts[0].api_key_env: environment variable CLOSE_API_KEY is not set or empty"
	cfg, err := Check("../../config.example.yaml", append(reports, "reporting_activity", "reporting_sent_emails"), Needs{})
	if err != nil {
		t.Fatalf("config.example.yaml without the key: %v", err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], msg) {
		t.Errorf("warnings = %q, want one starting %q", w, msg)
	}
	_, err = Check("../../config.example.yaml", append(reports, "reporting_activity", "reporting_sent_emails"), Needs{Keys: true})
	if err == nil || !strings.Contains(err.Error(), "\n  "+msg) {
		t.Errorf("with Needs.Keys: err = %v, want %q", err, msg)
	}
}

// TestPathsResolveAgainstTheConfigFile: relative database, snapshot and
// api_key_file name files beside the config file, whatever the working
// directory (as Prometheus does); a relative api_key_file is still looked up
// in $CREDENTIALS_DIRECTORY first when systemd sets it.
func TestPathsResolveAgainstTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir()) // anywhere else
	path := filepath.Join(dir, "closesync.yaml")
	if err := os.WriteFile(path, []byte(`database: ./data/crm.duckdb
snapshot: ../snap.duckdb
accounts:
  - {name: a, api_key_file: keys/close}
  - {name: b, api_key_file: /abs/key}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "close"), []byte("api_beside\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(CredentialsDirEnv, "")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "data", "crm.duckdb"); cfg.Database != want {
		t.Errorf("database = %q, want %q", cfg.Database, want)
	}
	if want := filepath.Join(filepath.Dir(dir), "snap.duckdb"); cfg.Snapshot != want {
		t.Errorf("snapshot = %q, want %q", cfg.Snapshot, want)
	}
	if got, want := cfg.Accounts[0].KeyFilePath(), filepath.Join(dir, "keys", "close"); got != want {
		t.Errorf("api_key_file = %q, want %q", got, want)
	}
	if key, err := cfg.Accounts[0].ResolveKey(); err != nil || key != "api_beside" {
		t.Errorf("ResolveKey = %q, %v", key, err)
	}
	if got := cfg.Accounts[1].KeyFilePath(); got != "/abs/key" {
		t.Errorf("absolute api_key_file = %q", got)
	}

	// systemd's credentials directory wins for a relative name.
	creds := t.TempDir()
	t.Setenv(CredentialsDirEnv, creds)
	if got, want := cfg.Accounts[0].KeyFilePath(), filepath.Join(creds, "keys", "close"); got != want {
		t.Errorf("api_key_file with $%s = %q, want %q", CredentialsDirEnv, got, want)
	}
	t.Setenv(CredentialsDirEnv, "")

	// A relative override resolves the same way; an empty database stays
	// empty (and is a problem).
	t.Setenv("CLOSESYNC_DATABASE", "other.duckdb")
	if cfg, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "other.duckdb"); cfg.Database != want {
		t.Errorf("database from CLOSESYNC_DATABASE = %q, want %q", cfg.Database, want)
	}
	t.Setenv("CLOSESYNC_DATABASE", "")
	if err := os.WriteFile(path, []byte("database: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(path); err != nil || cfg.Database != "" {
		t.Errorf("database: \"\" = %q, %v", cfg.Database, err)
	}
}

// TestDatabaseDirectoryMustBeWritable: validate refuses a database whose
// directory the user cannot write (as root every directory is writable, so
// this case runs only as another user; the missing and not-a-directory
// cases are in TestBadConfigs).
func TestDatabaseDirectoryMustBeWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write any directory")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	c := valid()
	c.Database = filepath.Join(dir, "crm.duckdb")
	v := &validator{}
	c.validate(v, reports, Needs{Keys: true, Database: true})
	if err := v.err(); err == nil || !strings.Contains(err.Error(), "database: directory "+dir+" of "+c.Database+" is not writable: permission denied") {
		t.Errorf("err = %v", err)
	}
}

// TestDuckDBSection: the duckdb keys decode, temp_directory resolves against
// the config's directory, environment variables override them, and an
// absent section leaves every engine field zero (load.DefaultEngine's
// values) and the compaction keys at their defaults.
func TestDuckDBSection(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	cfg, err := Load("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := DuckDB{MemoryLimit: "512MiB", Threads: 4, CheckpointThreshold: "256MB", TempDirectory: absPath(t, "testdata/spill"),
		CompactFreeRatio: 0.3, CompactMinSize: "1GiB"}
	if cfg.DuckDB != want {
		t.Errorf("duckdb = %+v, want %+v", cfg.DuckDB, want)
	}
	t.Setenv("CLOSESYNC_DUCKDB__MEMORY_LIMIT", "1GB")
	t.Setenv("CLOSESYNC_DUCKDB__THREADS", "1")
	cfg, err = Load("testdata/minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The compaction keys have their defaults when absent.
	if want := (DuckDB{MemoryLimit: "1GB", Threads: 1, CompactFreeRatio: DefaultCompactFreeRatio, CompactMinSize: DefaultCompactMinSize}); cfg.DuckDB != want {
		t.Errorf("duckdb from the environment = %+v, want %+v", cfg.DuckDB, want)
	}
	if got := cfg.DuckDB.CompactMinBytes(); got != 256_000_000 {
		t.Errorf("CompactMinBytes = %d, want 256000000", got)
	}
	// 0 disables compaction: an explicit 0 is not replaced by the default.
	t.Setenv("CLOSESYNC_DUCKDB__COMPACT_FREE_RATIO", "0")
	if cfg, err = Load("testdata/minimal.good.yaml"); err != nil {
		t.Fatal(err)
	}
	if cfg.DuckDB.CompactFreeRatio != 0 {
		t.Errorf("compact_free_ratio 0 from the environment = %g, want 0", cfg.DuckDB.CompactFreeRatio)
	}
}
