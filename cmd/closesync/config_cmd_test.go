package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/load"
)

// runIn runs closesync with args and the given environment only (nothing
// from the process's own), returning the exit code, stdout and stderr.
func runIn(t *testing.T, environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValidateReportsKeysAndValuesAtOnce: unknown keys used to hide every
// bad value until they were fixed; one run of validate lists both, and an
// account without a name is named as such.
func TestValidateReportsKeysAndValuesAtOnce(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "bad.yaml"), `databse: ./x.duckdb
accounts:
  - api_key: api_x
jobs:
  - name: core
    account: main
    schedule: "every tuesday"
    timout: 1h
    reports: [leds]
`)
	code, _, errOut := runIn(t, nil, "validate", "--config", path)
	if code != 2 {
		t.Errorf("exit = %d, want 2", code)
	}
	for _, want := range []string{
		path + " is invalid:",
		`  databse: unknown key (did you mean "database"?)`,
		`  jobs[0].timout: unknown key (did you mean "timeout"?)`,
		`  accounts[0].name: is required`,
		`  jobs[0].account: no account named "main" (accounts[0] has no name)`,
		`  jobs[0].schedule: "every tuesday" is not a valid schedule: expected exactly 5 fields, found 2`,
		`  jobs[0].reports[0]: unknown report "leds" (did you mean "leads"?)`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "no accounts are configured") {
		t.Errorf("validate says no accounts are configured:\n%s", errOut)
	}
}

// runBare runs this test binary as closesync in dir with an empty
// environment (no CLOSE_API_KEY, no CLOSESYNC_*, no CREDENTIALS_DIRECTORY),
// as a new user's shell or cron would.
func runBare(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = []string{"TEST_CLOSESYNC_AS_MAIN=1", "GORACE=" + childRace}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// TestCommandsWithoutAKey: history, reports and offline validate work on
// config.example.yaml with an empty environment; the commands that call
// Close still refuse without the key. Before, every command refused.
func TestCommandsWithoutAKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, filepath.Join(dir, "closesync.yaml"), string(example))
	// A database with its run-history table, as a first sync leaves it.
	store, err := load.Open(context.Background(), load.Options{Path: filepath.Join(dir, "crm.duckdb"), Schema: "close", Migrations: closesync.SQL})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	const keyMsg = "accounts[0].api_key_env: environment variable CLOSE_API_KEY is not set or empty"
	for _, tt := range []struct {
		args       []string
		code       int
		out, err   string
		notInError string
	}{
		{args: []string{"validate", "--config", cfg}, code: 0,
			out: "warning: " + keyMsg + ": sync, run, sync --dry-run and validate --check need the key\n" +
				"jobs reporting: reporting_* is 1 report: reporting_activity\njobs core: leads, contacts, opportunities, tasks keep every version in <table>_versions (history)\n" +
				"duckdb: memory_limit 90MB, the default for the 17 tables the jobs write (duckdb.memory_limit)\n" + cfg + ": ok (1 accounts, 3 jobs)"},
		{args: []string{"history", "--config", cfg}, code: 0, out: "RUN  JOB  REPORT", notInError: "CLOSE_API_KEY"},
		{args: []string{"history", "--config", cfg, "--json"}, code: 0, out: "[]"},
		{args: []string{"reports"}, code: 0, out: "leads"},
		{args: []string{"validate", "--config", cfg, "--check"}, code: 2, err: keyMsg},
		{args: []string{"sync", "--config", cfg}, code: 2, err: keyMsg},
		{args: []string{"sync", "--config", cfg, "--dry-run"}, code: 2, err: keyMsg},
		{args: []string{"run", "--config", cfg}, code: 2, err: keyMsg},
	} {
		t.Run(strings.Join(tt.args[:1], " "), func(t *testing.T) {
			code, out, errOut := runBare(t, dir, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Errorf("%v: exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", tt.args, code, tt.code, tt.out, out, tt.err, errOut)
			}
			if tt.notInError != "" && strings.Contains(errOut, tt.notInError) {
				t.Errorf("stderr mentions %s:\n%s", tt.notInError, errOut)
			}
		})
	}
}

// TestValidateSaysTheMemoryLimit: validate prints the memory_limit a
// config without one gets, and warns of one set below it.
func TestValidateSaysTheMemoryLimit(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const commented = "  # memory_limit: 256MB\n"
	if !strings.Contains(string(example), commented) {
		t.Fatalf("config.example.yaml has no line %q", commented)
	}
	const def = "duckdb: memory_limit 90MB, the default for the 17 tables the jobs write"
	const warn = "warning: duckdb.memory_limit: 64MB is below 90MB, the default for the 17 tables the jobs write"
	for _, c := range []struct {
		line, want, not string
	}{
		{commented, def, "warning: duckdb.memory_limit"},
		{"  memory_limit: 64MB\n", warn, "duckdb: memory_limit"},
		{"  memory_limit: 1GB\n", "ok (1 accounts, 3 jobs)", "memory_limit"},
	} {
		dir := t.TempDir()
		cfg := writeFile(t, filepath.Join(dir, "closesync.yaml"), strings.Replace(string(example), commented, c.line, 1))
		code, out, errOut := runBare(t, dir, "validate", "--config", cfg)
		if code != 0 || !strings.Contains(out, c.want) || strings.Contains(out, c.not) {
			t.Errorf("memory_limit line %q: exit %d\nstdout (want %q, not %q):\n%s\nstderr:\n%s", c.line, code, c.want, c.not, out, errOut)
		}
	}
}

// TestRelativePathsFollowTheConfigFile: a relative database lands beside
// the config file, not in the directory sync runs in (it did), and validate
// refuses a database directory that does not exist, naming it.
func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	t.Parallel()
	fake := closefake.New(closefake.Options{Seed: 3, Scale: 5})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	confDir, workDir := t.TempDir(), t.TempDir()
	cfg := writeFile(t, filepath.Join(confDir, "closesync.yaml"), fmt.Sprintf(`database: ./crm.duckdb
log: {level: warn}
accounts:
  - name: main
    api_key: %q
    base_url: %s/api/v1
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    reports: [users]
`, closefake.DefaultAPIKey, srv.URL))
	if code, out, errOut := runBare(t, workDir, "validate", "--config", cfg); code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runBare(t, workDir, "sync", "--config", cfg); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(confDir, "crm.duckdb")); err != nil {
		t.Errorf("database not beside the config file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(workDir, "crm.duckdb")); err == nil {
		t.Errorf("database created in the working directory")
	}
	if code, out, errOut := runBare(t, workDir, "history", "--config", cfg); code != 0 || !strings.Contains(out, "users") {
		t.Errorf("history: exit %d\n%s%s", code, out, errOut)
	}

	missing := writeFile(t, filepath.Join(confDir, "missing.yaml"), strings.Replace(mustRead(t, cfg), "./crm.duckdb", "./data/crm.duckdb", 1))
	code, _, errOut := runBare(t, workDir, "validate", "--config", missing)
	want := "database: directory " + filepath.Join(confDir, "data") + " of " + filepath.Join(confDir, "data", "crm.duckdb") + " does not exist"
	if code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("validate: exit %d, want 2 and %q:\n%s", code, want, errOut)
	}
}
