package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// TestDeadKeyStopsTheAccountAtOnce: with a key Close rejects, the first
// report's 401 stops the account's other reports: a handful of requests in
// all instead of one (or more) per report, one clear error, and run rows
// that say why each report was skipped.
func TestDeadKeyStopsTheAccountAtOnce(t *testing.T) {
	h := newHarness(t, closefake.Options{Seed: 3, Scale: 20}, coreReports...)
	h.config = h.writeConfig("api_revokedKeyThatCloseRejects", coreReports)
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	if n := h.fake.Requests(); n > 2 {
		t.Errorf("%d requests with a rejected key, want at most 2", n)
	}
	if strings.Contains(out+errOut, "api_revokedKeyThatCloseRejects") {
		t.Errorf("the key is in the output")
	}
	rows := h.query(`SELECT report, status, error FROM sync.runs ORDER BY run_id`)
	if len(rows) != len(coreReports) {
		t.Fatalf("%d run rows, want %d: %v", len(rows), len(coreReports), rows)
	}
	// A job starts its heaviest reports first (pipeline's startOrder):
	// the first to meet the 401 is one of those.
	first := fmt.Sprint(rows[0][0])
	want := fmt.Sprintf("skipped: the API key of account main was rejected (401) by report %s", first)
	if (first != "activities" && first != "event_log") || rows[0][1] != "failed" || !strings.Contains(fmt.Sprint(rows[0][2]), "API key rejected by Close for account main (401") {
		t.Errorf("first run row %v", rows[0])
	}
	for _, r := range rows[1:] {
		if r[1] != "failed" || r[2] != want {
			t.Errorf("run row of %v: %v, %q; want failed, %q", r[0], r[1], r[2], want)
		}
	}
	if n := strings.Count(out, want); n != len(coreReports)-1 {
		t.Errorf("%d skipped lines in the output, want %d:\n%s", n, len(coreReports)-1, out)
	}
}

// TestSyncAppliesTheJobTimeout: `closesync sync` bounds a job by its
// timeout as the daemon does. With timeout 2s and a Close that never
// answers, the sync fails within about the timeout (not after 8 attempts
// of 60 s) with an error that names the timeout, and exits 1.
func TestSyncAppliesTheJobTimeout(t *testing.T) {
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a request that never gets an answer
	}))
	t.Cleanup(hung.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "closesync.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database: %s
log: {level: warn}
accounts:
  - name: main
    api_key: %q
    base_url: %s/api/v1
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    timeout: 2s
    reports: [leads, users]
`, filepath.Join(dir, "crm.duckdb"), closefake.DefaultAPIKey, hung.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: filepath.Join(dir, "crm.duckdb"), config: cfg}
	start := time.Now()
	code, out, errOut := h.run("sync", "--config", cfg)
	took := time.Since(start)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	if took < 2*time.Second || took > 8*time.Second {
		t.Errorf("the sync took %v with a 2s timeout", took)
	}
	const want = "job core timed out after 2s"
	if strings.Count(out, want) != 2 {
		t.Errorf("the output does not say, for both reports, %q:\n%s", want, out)
	}
	t.Logf("took %v:\n%s", took.Round(time.Millisecond), out)
	rows := h.query(`SELECT report, status, error FROM sync.runs ORDER BY run_id`)
	if len(rows) != 1 || rows[0][0] != "leads" || rows[0][1] != "failed" || !strings.HasPrefix(fmt.Sprint(rows[0][2]), want) {
		t.Errorf("run rows %v: want leads failed with %q", rows, want)
	}
}

// TestLockWaitSaysHowLongItWaited: with the file held by another closesync
// process, a sync waits lock_timeout and its error says how long it really
// waited (the backoff used to give up early and name the timeout instead).
func TestLockWaitSaysHowLongItWaited(t *testing.T) {
	started := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	dir := t.TempDir()
	db := filepath.Join(dir, "crm.duckdb")
	cfg := filepath.Join(dir, "closesync.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`database: %s
lock_timeout: 2s
log: {level: warn}
accounts:
  - name: main
    api_key: %q
    base_url: %s/api/v1
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    timeout: 1m
    reports: [users]
`, db, closefake.DefaultAPIKey, hung.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The holder: a real closesync sync, stuck on its first request with
	// the file open.
	holder, _ := startDaemon(t, "sync", "--config", cfg)
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the holder never sent a request")
	}
	h := &harness{t: t, db: db, config: cfg}
	start := time.Now()
	code, out, errOut := h.run("sync", "--config", cfg)
	took := time.Since(start)
	holder.Process.Kill()
	if code != exitFailed || !strings.Contains(errOut, "database file is locked by another process") {
		t.Fatalf("exit %d, want %d and the lock error\n%s\n%s", code, exitFailed, out, errOut)
	}
	m := regexp.MustCompile(`\(waited ([0-9.]+m?s), lock_timeout 2s;`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("the error does not say how long it waited:\n%s", errOut)
	}
	waited, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	// The message rounds to 10 ms, so it may read up to 5 ms past took.
	if waited < 2*time.Second || waited > took+10*time.Millisecond {
		t.Errorf("the error says it waited %v; the sync took %v with lock_timeout 2s", waited, took)
	}
	t.Logf("took %v: %s", took.Round(time.Millisecond), errOut)
}
