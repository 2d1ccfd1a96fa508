package config

import (
	"strings"
	"testing"
	"time"
)

// valid returns a config that passes Validate, for cases to break.
func valid() *Config {
	return &Config{
		Database: "./crm.duckdb", Schema: "close",
		Log:      Log{Level: "info", Format: "console"},
		Accounts: []Account{{Name: "main", APIKey: "api_x", BaseURL: DefaultBaseURL, MaxConcurrency: 4}},
		Jobs: []Job{{Name: "core", Account: "main", Schedule: "*/30 * * * *", Timeout: time.Hour,
			Reports: []ReportRef{{Name: "leads"}}}},
	}
}

func TestValidateCases(t *testing.T) {
	if err := valid().Validate(reports); err != nil {
		t.Fatalf("the base config is invalid: %v", err)
	}
	for _, tt := range []struct {
		name   string
		change func(c *Config)
		want   string // the one problem, exactly; "" for none
	}{
		{"schema reserved", func(c *Config) { c.Schema = "sync" }, `schema: "sync" is reserved for run history and bookmarks: choose another, e.g. close`},
		{"schema empty", func(c *Config) { c.Schema = "" }, "schema: must not be empty (default close)"},
		{"schema with a dot", func(c *Config) { c.Schema = "a.b" }, `schema: "a.b" must match ^[a-z_][a-z0-9_]*$ (lower-case letters, digits and _)`},
		{"schema starting with _", func(c *Config) { c.Schema = "_crm2" }, ""},
		{"http listen all interfaces", func(c *Config) { c.HTTP.Listen = ":9464" }, ""},
		{"http listen port 0", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }, ""},
		{"http listen ipv6", func(c *Config) { c.HTTP.Listen = "[::1]:9464" }, ""},
		{"http listen no port", func(c *Config) { c.HTTP.Listen = "127.0.0.1" }, `http.listen: "127.0.0.1" is not host:port (e.g. 127.0.0.1:9464; empty turns the status endpoint off)`},
		{"http listen big port", func(c *Config) { c.HTTP.Listen = "127.0.0.1:70000" }, `http.listen: "127.0.0.1:70000" is not host:port (e.g. 127.0.0.1:9464; empty turns the status endpoint off)`},
		{"account name missing", func(c *Config) { c.Accounts[0].Name = ""; c.Jobs[0].Account = "" },
			"accounts[0].name: is required\njobs[0].account: is required (accounts[0] has no name)"},
		{"account without a name, job names one", func(c *Config) { c.Accounts[0].Name = "" },
			`accounts[0].name: is required` + "\n" + `jobs[0].account: no account named "main" (accounts[0] has no name)`},
		{"second account without a name", func(c *Config) {
			c.Accounts = append(c.Accounts, Account{APIKey: "api_y", BaseURL: DefaultBaseURL, MaxConcurrency: 4})
			c.Jobs[0].Account = "sales"
		}, `accounts[1].name: is required` + "\n" + `jobs[0].account: no account named "sales" (accounts: main; accounts[1] has no name)`},
		{"no accounts", func(c *Config) { c.Accounts = nil }, "accounts: at least one account is required\njobs[0].account: no account named \"main\" (no accounts are configured)"},
		{"account typo", func(c *Config) { c.Jobs[0].Account = "mian" }, `jobs[0].account: no account named "mian" (accounts: main) (did you mean "main"?)`},
		{"account unrelated", func(c *Config) { c.Jobs[0].Account = "sales" }, `jobs[0].account: no account named "sales" (accounts: main)`},
		{"base_url with query", func(c *Config) { c.Accounts[0].BaseURL = "https://x.test/api?x=1" }, `accounts[0].base_url: "https://x.test/api?x=1" must not have a query or fragment`},
		{"base_url http", func(c *Config) { c.Accounts[0].BaseURL = "http://127.0.0.1:8080/api/v1" }, ""},
		{"base_url no host", func(c *Config) { c.Accounts[0].BaseURL = "https:///api/v1" }, `accounts[0].base_url: "https:///api/v1" must be an absolute http(s) URL such as https://api.close.com/api/v1`},
		{"max_concurrency 64", func(c *Config) { c.Accounts[0].MaxConcurrency = 64 }, ""},
		{"max_concurrency 65", func(c *Config) { c.Accounts[0].MaxConcurrency = 65 }, "accounts[0].max_concurrency: 65 is out of range: 1 to 64 requests in flight"},
		{"job name duplicate", func(c *Config) { c.Jobs = append(c.Jobs, c.Jobs[0]) }, `jobs[1].name: "core" is already the name of jobs[0]`},
		{"job name upper case", func(c *Config) { c.Jobs[0].Name = "Core" }, `jobs[0].name: "Core" must match ^[a-z_][a-z0-9_]*$ (lower-case letters, digits and _)`},
		{"descriptor", func(c *Config) { c.Jobs[0].Schedule = "@daily" }, ""},
		{"every", func(c *Config) { c.Jobs[0].Schedule = "@every 1h30m" }, ""},
		{"cron tz", func(c *Config) { c.Jobs[0].Schedule = "CRON_TZ=Europe/Berlin 0 6 * * 1-5" }, ""},
		{"cron out of range", func(c *Config) { c.Jobs[0].Schedule = "61 * * * *" }, `jobs[0].schedule: "61 * * * *" is not a valid schedule: minute field "61": end of range (61) above maximum (59) (want 0-59, a range a-b, a list a,b or a step */n); use 5 cron fields`},
		{"unknown descriptor", func(c *Config) { c.Jobs[0].Schedule = "@fortnightly" }, `jobs[0].schedule: "@fortnightly" is not a valid schedule: unknown descriptor @fortnightly (known: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)`},
		{"timezone", func(c *Config) { c.Jobs[0].Timezone = "America/New_York" }, ""},
		{"timezone bad", func(c *Config) { c.Jobs[0].Timezone = "CEST" }, `jobs[0].timezone: "CEST" is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`},
		{"timeout zero", func(c *Config) { c.Jobs[0].Timeout = 0 }, ""},
		{"start date past", func(c *Config) { c.Jobs[0].StartDate = Date{time.Now().Add(-time.Minute)} }, ""},
		{"start date future", func(c *Config) { c.Jobs[0].StartDate = Date{time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)} }, "jobs[0].start_date: 2999-01-01 is in the future"},
		{"no reports", func(c *Config) { c.Jobs[0].Reports = nil }, "jobs[0].reports: list at least one report (see 'closesync reports')"},
		{"retry", func(c *Config) { c.Jobs[0].Retry = Retry{Attempts: 3, Delay: time.Minute} }, ""},
		{"reconcile", func(c *Config) { c.Jobs[0].Reconcile, c.Jobs[0].Deletes = "@weekly", "hard" }, ""},
		{"reconcile bad", func(c *Config) { c.Jobs[0].Reconcile = "weekly" }, `jobs[0].reconcile: "weekly" is not a valid schedule`},
		{"deletes bad", func(c *Config) { c.Jobs[0].Deletes = "purge" }, `jobs[0].deletes: "purge" is not a deletes mode; valid: soft, hard`},
		{"retry too many", func(c *Config) { c.Jobs[0].Retry.Attempts = 11 }, "jobs[0].retry.attempts: 11 is out of range: 0 (no retry) to 10"},
		{"retry delay negative", func(c *Config) { c.Jobs[0].Retry.Delay = -time.Second }, "jobs[0].retry.delay: -1s is negative"},
		{"lock timeout negative", func(c *Config) { c.LockTimeout = -time.Second }, "lock_timeout: -1s is negative (0 means the default, 2m)"},
		{"snapshot is the database", func(c *Config) { c.Snapshot = "./" + c.Database }, `snapshot: "./`},
		{"publish", func(c *Config) { c.Publish = Publish{Parquet: "./lake", PartitionAbove: 0, Views: true} }, ""},
		{"publish into the database's directory", func(c *Config) { c.Publish.Parquet = "." },
			"publish.parquet: . is the database's directory: name a directory of its own, e.g. parquet"},
		{"notify", func(c *Config) {
			c.Notify.URL, c.Notify.On = "https://hooks.example.com/x?token=s3cret", []string{"failure", "changes"}
		}, ""},
		{"notify bad url", func(c *Config) { c.Notify.URL = "hooks.example.com" }, "notify.url: "},
		{"notify bad on", func(c *Config) { c.Notify.URL, c.Notify.On = "https://h.example.com/", []string{"failures"} }, `notify.on[0]: unknown value "failures"`},
		{"notify without url", func(c *Config) { c.Notify.On = []string{"success"} }, "notify.url: is required when notify.on or notify.headers is set"},
		{"report name missing", func(c *Config) { c.Jobs[0].Reports[0].Name = "" }, "jobs[0].reports[0]: report name is required"},
		{"report typo", func(c *Config) { c.Jobs[0].Reports[0].Name = "contatcs" }, `jobs[0].reports[0]: unknown report "contatcs" (did you mean "contacts"?)`},
		{"report prefix", func(c *Config) { c.Jobs[0].Reports[0].Name = "lead_stat" }, `jobs[0].reports[0]: unknown report "lead_stat" (did you mean "lead_statuses"?)`},
		{"report duplicate", func(c *Config) {
			c.Jobs[0].Reports = []ReportRef{{Name: "leads"}, {Name: "tasks"}, {Name: "leads", Mode: "append"}}
		},
			`jobs[0].reports[2]: report "leads" is already listed as reports[0] of this job`},
		{"report in two jobs", func(c *Config) {
			c.Jobs = append(c.Jobs, Job{Name: "b", Account: "main", Schedule: "@daily", Reports: []ReportRef{{Name: "leads"}}})
		}, ""},
		{"mode", func(c *Config) { c.Jobs[0].Reports[0].Mode = "replace" }, ""},
		{"report schedule", func(c *Config) { c.Jobs[0].Reports[0].Schedule = "@every 15m" }, ""},
		{"report schedule bad", func(c *Config) { c.Jobs[0].Reports[0].Schedule = "every 15m" }, `jobs[0].reports[0].schedule: "every 15m" is not a valid schedule: expected exactly 5 fields, found 2`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(c)
			err := c.Validate(reports)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected problems:\n%v", err)
			case tt.want != "" && err == nil:
				t.Errorf("no problem, want %q", tt.want)
			case tt.want != "" && !strings.HasPrefix(err.Error(), tt.want):
				t.Errorf("problems:\n%v\nwant:\n%s", err, tt.want)
			case tt.want != "" && strings.Count(err.Error(), "\n") != strings.Count(tt.want, "\n"):
				t.Errorf("more problems than expected:\n%v", err)
			}
		})
	}
}

// TestUnknownReportsReferToTheCatalog: with a long catalog and nothing
// close, the problem refers to `closesync reports` instead of listing it.
func TestUnknownReportsReferToTheCatalog(t *testing.T) {
	long := append(append([]string{}, reports...), "a1", "a2", "a3", "a4", "a5")
	c := valid()
	c.Jobs[0].Reports[0].Name = "zzz"
	want := `jobs[0].reports[0]: unknown report "zzz" (see 'closesync reports')`
	if err := c.Validate(long); err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidateReportsEveryProblemOnce(t *testing.T) {
	c := &Config{Jobs: []Job{{Reports: []ReportRef{{Name: "x"}}}, {}}}
	got := problemLines(c.Validate(reports))
	want := []string{
		"database: must name a DuckDB file, e.g. ./crm.duckdb",
		"schema: must not be empty (default close)",
		`log.level: "" is not a log level; valid: debug, info, warn, error`,
		`log.format: "" is not a log format; valid: auto, console, json`,
		"accounts: at least one account is required",
		"jobs[0].name: is required",
		"jobs[0].account: is required (no accounts are configured)",
		"jobs[0].schedule: is required: 5 cron fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @every 1h ...",
		`jobs[0].reports[0]: unknown report "x" (valid: leads, contacts, opportunities, tasks, users, lead_statuses, opportunity_statuses, activities, custom_fields, event_log, activities_call)`,
		"jobs[1].name: is required",
		"jobs[1].account: is required (no accounts are configured)",
		"jobs[1].schedule: is required: 5 cron fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @every 1h ...",
		"jobs[1].reports: list at least one report (see 'closesync reports')",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"none", func(c *Config) {}, nil},
		{"stem equals schema", func(c *Config) { c.Database = "/data/close.duckdb" }, []string{
			`database file stem "close" equals schema name "close": DuckDB will report ambiguous references (close.<table> names both); give the file another name`}},
		{"stem equals schema, any case", func(c *Config) { c.Database = "CRM.db"; c.Schema = "crm" }, []string{
			`database file stem "CRM" equals schema name "crm"`}},
		{"stem equals sync", func(c *Config) { c.Database = "./sync.duckdb" }, []string{
			`database file stem "sync" equals schema name "sync"`}},
		{"stem without extension", func(c *Config) { c.Database = "/var/lib/closesync/close" }, []string{
			`database file stem "close" equals schema name "close"`}},
		{"listen on all interfaces", func(c *Config) { c.HTTP.Listen = ":9464" }, []string{
			`http.listen: ":9464" is reachable from other machines, and the status endpoint has no authentication`}},
		{"listen on loopback", func(c *Config) { c.HTTP.Listen = "localhost:9464" }, nil},
		{"timezone and CRON_TZ", func(c *Config) { c.Jobs[0].Timezone = "UTC"; c.Jobs[0].Schedule = "CRON_TZ=Europe/Berlin 0 6 * * *" }, []string{
			"jobs[0].timezone: ignored, since jobs[0].schedule sets its own CRON_TZ"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(c)
			if err := c.Validate(reports); err != nil {
				t.Fatalf("a warning case must be valid: %v", err)
			}
			got := c.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings = %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("warning %q, want %q", got[i], tt.want[i])
				}
			}
		})
	}
}
