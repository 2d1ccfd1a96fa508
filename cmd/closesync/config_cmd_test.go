package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
