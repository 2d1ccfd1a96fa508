package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var reports = []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
	"activities", "custom_fields", "event_log", "activities_call"}

func TestExampleConfigIsValid(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	cfg, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(reports); err != nil {
		t.Fatalf("config.example.yaml does not validate:\n%v", err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	j := cfg.Jobs[1]
	if j.Reports[0].Name != "activities_call" || j.Reports[0].Mode != "append" || j.Reports[0].AttributionWindow != 24*time.Hour {
		t.Errorf("report map not decoded: %+v", j.Reports[0])
	}
	if cfg.Jobs[0].Reports[0].Name != "leads" {
		t.Errorf("bare report names not decoded: %+v", cfg.Jobs[0].Reports)
	}
	if got := cfg.Jobs[0].StartDate.Format(time.RFC3339); got != "2024-01-01T00:00:00Z" {
		t.Errorf("unquoted start_date = %s", got)
	}
}

// TestGoodConfigs loads testdata/*.good.yaml; TestBadConfigs pairs each
// testdata/*.bad.yaml with the problems it must report (Prometheus style).
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

func TestBadConfigs(t *testing.T) {
	t.Setenv("EMPTY_KEY", "")
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_key.bad.yaml", []string{"jobs", "invalid keys", "shedule"}},
		{"many_problems.bad.yaml", []string{
			`jobs[0].account: no account named "mian" (accounts: main) (did you mean "main"?)`,
			`jobs[0].reports[0]: unknown report "leds" (did you mean "leads"?)`,
			`jobs[0].schedule: "every tuesday" is not a cron schedule`,
			`accounts[0]: no API key source`,
			`jobs[1].name: "core" is used by another job`,
			`jobs[1].reports[1]: report "users" is listed twice`,
			`jobs[1].reports[2].mode: "merge" is not a mode`,
			`log.level: "loud" is not a level`,
			`schema: "sync" is reserved`,
			`http.listen: the status endpoint`,
		}},
		{"key_sources.bad.yaml", []string{
			"accounts[0]: several API key sources (api_key, api_key_env)",
			"accounts[1]: api_key_env: environment variable EMPTY_KEY is not set or empty",
			"accounts[2]: api_key_file: open /nonexistent/close-key",
			`accounts[3].base_url: "ftp://example.com" must be an absolute http(s) URL`,
			`jobs[0].timezone: "Mars/Olympus" is not an IANA time zone`,
		}},
		{"bad_date.bad.yaml", []string{`"first of may" is not a date`}},
		{"bad_duration.bad.yaml", []string{"attribution_window", "invalid duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.file))
			if err == nil {
				err = cfg.Validate(reports)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	t.Setenv("CLOSESYNC_DATABASE", "/tmp/other.duckdb")
	t.Setenv("CLOSESYNC_LOG__LEVEL", "debug")
	t.Setenv("CLOSESYNC_SCHEMA", "crm")
	cfg, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "/tmp/other.duckdb" || cfg.Log.Level != "debug" || cfg.Schema != "crm" {
		t.Errorf("overrides not applied: %q %q %q", cfg.Database, cfg.Log.Level, cfg.Schema)
	}
}

func TestStartDateForms(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"2024-03-01", "2024-03-01T00:00:00Z"},
		{`"2024-03-01"`, "2024-03-01T00:00:00Z"},
		{`"2024-03-01T10:30:00+02:00"`, "2024-03-01T08:30:00Z"},
		{"2024-03-01T10:30:00Z", "2024-03-01T10:30:00Z"},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(fmt.Sprintf("jobs:\n  - name: a\n    start_date: %s\n", tt.yaml)), 0o600)
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Jobs[0].StartDate.UTC().Format(time.RFC3339); got != tt.want {
				t.Errorf("start_date = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestResolveKey(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "close"), []byte("api_fromfile\n"), 0o600)
	t.Setenv("MY_KEY", " api_fromenv ")
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	for _, tt := range []struct {
		a    Account
		want string
	}{
		{Account{APIKey: "api_inline"}, "api_inline"},
		{Account{APIKeyEnv: "MY_KEY"}, "api_fromenv"},
		{Account{APIKeyFile: "close"}, "api_fromfile"},
		{Account{APIKeyFile: filepath.Join(dir, "close")}, "api_fromfile"},
	} {
		got, err := tt.a.ResolveKey()
		if err != nil || got != tt.want {
			t.Errorf("%+v: %q, %v", tt.a, got, err)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	const key = "api_SuperSecret123"
	cfg := &Config{Accounts: []Account{{Name: "main", APIKey: key, APIKeyEnv: "X"}}}
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, key) {
			t.Errorf("key printed: %s", s)
		}
	}
	err := cfg.Validate(reports)
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("validate error leaks the key or is nil: %v", err)
	}
	if !errors.Is(err, err) {
		t.Fatal("unreachable")
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string
	}{
		{"leds", `(did you mean "leads"?)`},
		{"activites", `(did you mean "activities"?)`},
		{"opportunity", `(did you mean "opportunities"?)`},
		{"zzzzzz", ""},
	} {
		if got := didYouMean(tt.name, reports); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWarnsWhenFileStemIsASchema(t *testing.T) {
	cfg := &Config{Database: "/data/close.duckdb", Schema: "close"}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "ambiguous") {
		t.Errorf("warnings = %v", w)
	}
}
