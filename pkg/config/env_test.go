package config

import (
	"strings"
	"testing"
	"time"
)

const envBase = `
database: ./crm.duckdb
accounts:
  - name: main
    api_key_env: CLOSE_API_KEY
  - name: other
    api_key_env: CLOSE_API_KEY
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    reports: [leads, contacts]
  - name: calls
    account: main
    schedule: "@every 1h"
    reports:
      - {name: activities_call, mode: append}
`

func TestEnvOverrides(t *testing.T) {
	path := writeConfig(t, envBase)
	t.Setenv("CLOSE_API_KEY", "api_test")
	t.Setenv("CLOSESYNC_DATABASE", "/tmp/other.duckdb")
	t.Setenv("CLOSESYNC_SCHEMA", "crm")
	t.Setenv("CLOSESYNC_LOG__LEVEL", "debug")
	t.Setenv("CLOSESYNC_LOG__FORMAT", "json")
	t.Setenv("CLOSESYNC_HTTP__LISTEN", "127.0.0.1:9464")
	t.Setenv("CLOSESYNC_ACCOUNTS__1__MAX_CONCURRENCY", "12")             // a number from a string
	t.Setenv("CLOSESYNC_ACCOUNTS__1__BASE_URL", "http://127.0.0.1:1/v1") // a single _ stays in the key
	t.Setenv("CLOSESYNC_JOBS__1__TIMEOUT", "1d2h")                       // a duration, in days too
	t.Setenv("CLOSESYNC_JOBS__0__START_DATE", "2024-05-01")              // a date
	t.Setenv("CLOSESYNC_JOBS__0__REPORTS__1__MODE", "replace")           // a report given by name
	t.Setenv("CLOSESYNC_JOBS__1__REPORTS__0__ATTRIBUTION_WINDOW", "48h") // a report given as a map
	t.Setenv("CLOSESYNC_JOBS__0__SCHEDULE", "")                          // empty: ignored
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(reports); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"database", cfg.Database, "/tmp/other.duckdb"},
		{"schema", cfg.Schema, "crm"},
		{"log.level", cfg.Log.Level, "debug"},
		{"log.format", cfg.Log.Format, "json"},
		{"http.listen", cfg.HTTP.Listen, "127.0.0.1:9464"},
		{"accounts[1].base_url", cfg.Accounts[1].BaseURL, "http://127.0.0.1:1/v1"},
		{"accounts[0].base_url", cfg.Accounts[0].BaseURL, DefaultBaseURL},
		{"jobs[0].schedule", cfg.Jobs[0].Schedule, "@hourly"},
		{"jobs[0].start_date", cfg.Jobs[0].StartDate.String(), "2024-05-01"},
		{"jobs[0].reports[1]", cfg.Jobs[0].Reports[1].Name + "/" + cfg.Jobs[0].Reports[1].Mode, "contacts/replace"},
		{"jobs[0].reports[0]", cfg.Jobs[0].Reports[0].Name + "/" + cfg.Jobs[0].Reports[0].Mode, "leads/"},
		{"jobs[1].reports[0].mode", cfg.Jobs[1].Reports[0].Mode, "append"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Accounts[1].MaxConcurrency != 12 || cfg.Accounts[0].MaxConcurrency != DefaultMaxConcurrency {
		t.Errorf("max_concurrency = %d, %d", cfg.Accounts[0].MaxConcurrency, cfg.Accounts[1].MaxConcurrency)
	}
	if cfg.Jobs[1].Timeout != 26*time.Hour || cfg.Jobs[0].Timeout != DefaultJobTimeout {
		t.Errorf("timeouts = %s, %s", cfg.Jobs[0].Timeout, cfg.Jobs[1].Timeout)
	}
	if cfg.Jobs[1].Reports[0].AttributionWindow != 48*time.Hour {
		t.Errorf("attribution_window = %s", cfg.Jobs[1].Reports[0].AttributionWindow)
	}
}

// TestEnvOverrideSetsAbsentKeys: an override may set a key the file lacks,
// in a section the file lacks too.
func TestEnvOverrideSetsAbsentKeys(t *testing.T) {
	t.Setenv("CLOSESYNC_LOG__LEVEL", "warn")
	t.Setenv("CLOSESYNC_JOBS__0__TIMEZONE", "Europe/Berlin")
	cfg, err := Load(writeConfig(t, "jobs:\n  - name: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "warn" || cfg.Log.Format != DefaultLogFormat || cfg.Jobs[0].Timezone != "Europe/Berlin" {
		t.Errorf("log = %+v, timezone = %q", cfg.Log, cfg.Jobs[0].Timezone)
	}
}

// TestEnvOverrideProblems: a variable that names no key, or a key it cannot
// set, is an error naming the variable, all of them at once.
func TestEnvOverrideProblems(t *testing.T) {
	path := writeConfig(t, envBase)
	vars := map[string]string{
		"CLOSESYNC_LOG_LEVEL":                 "debug",
		"CLOSESYNC_ACCOUNTS__0__API_KEY_FIEL": "close",
		"CLOSESYNC_ACCOUNTS__5__NAME":         "x",
		"CLOSESYNC_LOG":                       "debug",
		"CLOSESYNC_JOBS__0__REPORTS":          "leads,contacts",
		"CLOSESYNC_JOBS__NAME":                "x",
		"CLOSESYNC_DATABASE__PATH":            "x",
		"CLOSESYNC_BOGUS":                     "1",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	_, err := Load(path)
	want := []string{
		"CLOSESYNC_ACCOUNTS__0__API_KEY_FIEL: no config key accounts[0].api_key_fiel: api_key_fiel is not a key of accounts[0] (did you mean \"api_key_file\"?)",
		"CLOSESYNC_ACCOUNTS__5__NAME: accounts has 2 items in the config file, so there is no accounts[5]",
		"CLOSESYNC_BOGUS: no config key bogus: bogus is not a key of the config (valid: database, schema, log, http, accounts, jobs, lock_timeout, stop_grace, min_interval, snapshot, publish, notify, duckdb, webhooks)",
		"CLOSESYNC_DATABASE__PATH: no config key database.path: database is a single value",
		"CLOSESYNC_JOBS__0__REPORTS: jobs[0].reports is a list; set its keys one by one (CLOSESYNC_JOBS__0__REPORTS__...)",
		"CLOSESYNC_JOBS__NAME: no config key jobs.name: jobs is a list; follow it with an index (CLOSESYNC_JOBS__0__...)",
		"CLOSESYNC_LOG: log is a section; set its keys one by one (CLOSESYNC_LOG__...)",
		"CLOSESYNC_LOG_LEVEL: no config key log_level (did you mean CLOSESYNC_LOG__LEVEL? a double underscore separates levels)",
	}
	got := problemLines(err)
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(got), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), path+": "+w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestEnvOverrideIntoMissingList(t *testing.T) {
	t.Setenv("CLOSESYNC_ACCOUNTS__0__API_KEY_ENV", "X")
	_, err := Load(writeConfig(t, "database: x.duckdb\n"))
	if err == nil || !strings.Contains(err.Error(), "CLOSESYNC_ACCOUNTS__0__API_KEY_ENV: accounts has no items in the config file to override") {
		t.Errorf("err = %v", err)
	}
}

// TestProblemsNameTheOverridingVariable: a bad value from the environment
// is reported at its key path and with the variable that set it.
func TestProblemsNameTheOverridingVariable(t *testing.T) {
	path := writeConfig(t, envBase)
	t.Setenv("CLOSE_API_KEY", "api_test")
	t.Setenv("CLOSESYNC_LOG__LEVEL", "loud")
	t.Setenv("CLOSESYNC_JOBS__0__REPORTS__0__MODE", "merge")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(reports)
	for _, w := range []string{
		`log.level: "loud" is not a log level; valid: debug, info, warn, error (set by CLOSESYNC_LOG__LEVEL)`,
		`jobs[0].reports[0].mode: "merge" is not a mode; valid: upsert, append, replace (set by CLOSESYNC_JOBS__0__REPORTS__0__MODE)`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}

	t.Setenv("CLOSESYNC_ACCOUNTS__0__MAX_CONCURRENCY", "many")
	_, err = Load(path)
	if w := `accounts[0].max_concurrency: want a whole number, got "many" (set by CLOSESYNC_ACCOUNTS__0__MAX_CONCURRENCY)`; err == nil || !strings.Contains(err.Error(), w) {
		t.Errorf("error lacks %q:\n%v", w, err)
	}
}

func TestUnderscoreFix(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"log_level", "CLOSESYNC_LOG__LEVEL"},
		{"http_listen", "CLOSESYNC_HTTP__LISTEN"},
		{"accounts__0_api_key_env", "CLOSESYNC_ACCOUNTS__0__API_KEY_ENV"},
		{"jobs__0_timeout", "CLOSESYNC_JOBS__0__TIMEOUT"},
		{"bogus_key", ""},
	} {
		if got := underscoreFix(strings.Split(tt.key, "__")); got != tt.want {
			t.Errorf("underscoreFix(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
