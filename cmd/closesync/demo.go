package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

// demoQueries are printed, run and shown by the demo, ready to paste into
// the DuckDB CLI.
var demoQueries = []struct{ title, sql string }{
	{"Leads by status", `SELECT status_label, count(*) AS leads FROM close.leads WHERE _deleted_at IS NULL GROUP BY 1 ORDER BY 2 DESC;`},
	{"Open pipeline by opportunity status", `SELECT status_label, count(*) AS opportunities, printf('%,.2f', sum(value) / 100) AS value
FROM close.opportunities WHERE status_type = 'active' AND _deleted_at IS NULL GROUP BY 1 ORDER BY sum(value) DESC;`},
	{"Activity mix over the last 90 days", `SELECT _type, count(*) AS activities FROM close.activities
WHERE date_created > now() - INTERVAL 90 DAY GROUP BY 1 ORDER BY 2 DESC;`},
	{"Leads by a custom field, by its name (the typed view leads_custom)", `SELECT "Lead Source", count(*) AS leads FROM close.leads_custom
WHERE _deleted_at IS NULL GROUP BY 1 ORDER BY 2 DESC;`},
}

func cmdDemo(ctx context.Context, args []string, e *env) error {
	fs := newFlags("demo", "[--dir D] [--scale N]", e)
	dir := fs.String("dir", ".", "directory for closesync-demo.duckdb")
	scale := fs.Int("scale", 300, "number of leads in the fake organisation")
	seed := fs.Int64("seed", 1, "seed of the fake data")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *scale < 1 {
		return usagef("--scale must be at least 1")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	// The demo's fake is as strict as the tests' (a small max_skip on every
	// offset resource, nginx's HTML 502/503/504 pages, Basic auth only):
	// closesync handles all of it, so the demo relaxes nothing and shows
	// what a real organisation does, keyset restarts included. Its
	// failure injection is simply off (no FailureRate, no rate limit).
	fake := closefake.New(closefake.Options{Seed: *seed, Scale: *scale})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start fake Close API: %w", err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cfg := demoConfig(filepath.Join(*dir, "closesync-demo.duckdb"), "http://"+ln.Addr().String()+"/api/v1")
	if err := cfg.Validate(extract.Names()); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	fmt.Fprintf(e.stdout, "Fake Close API with %d leads on %s; syncing every report into %s\n\n", *scale, ln.Addr(), cfg.Database)
	syncErr := syncJobs(ctx, cfg, nil, nil, runlog.Manual, e)
	if syncErr != nil && !errors.Is(syncErr, errFailed) {
		return syncErr
	}
	if err := demoSummary(ctx, cfg, e); err != nil {
		return err
	}
	return syncErr
}

func demoConfig(dbPath, baseURL string) *config.Config {
	var reports []config.ReportRef
	for _, r := range extract.Catalog() {
		if r.Parent == "" {
			reports = append(reports, config.ReportRef{Name: r.Name})
		}
	}
	return &config.Config{
		Database: dbPath,
		Schema:   "close",
		Log:      config.Log{Level: "warn", Format: "console"},
		Accounts: []config.Account{{Name: "demo", APIKey: config.Secret(closefake.DefaultAPIKey), BaseURL: baseURL, MaxConcurrency: 4}},
		Jobs:     []config.Job{{Name: "demo", Account: "demo", Schedule: "@hourly", Timeout: time.Hour, Reports: reports}},
	}
}

// demoSummary prints row counts per table, the run history and the sample
// queries with their results.
func demoSummary(ctx context.Context, cfg *config.Config, e *env) error {
	store, err := load.Open(ctx, load.Options{Path: cfg.Database, Schema: cfg.Schema, Migrations: closesync.SQL, ReadOnly: true})
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintln(e.stdout, "\nRows per table (schema close):")
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range extract.Catalog() {
		var n int64
		err := store.Query(ctx, func(rows *sql.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&n); err != nil {
					return err
				}
			}
			return nil
		}, fmt.Sprintf(`SELECT count(*) FROM close.%q`, r.Name))
		if err != nil {
			return fmt.Errorf("count %s: %w", r.Name, err)
		}
		fmt.Fprintf(tw, "  %s\t%d\t\n", r.Name, n)
	}
	tw.Flush()
	runs, err := store.Runs(ctx, len(extract.Catalog()))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nRun history (sync.runs, newest first):")
	if err := printRuns(e, runs, false); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nTry these in the DuckDB CLI (duckdb -readonly %s):\n", cfg.Database)
	for _, q := range demoQueries {
		fmt.Fprintf(e.stdout, "\n-- %s\n%s\n", q.title, q.sql)
		if err := store.Query(ctx, func(rows *sql.Rows) error { return printRows(e, rows) }, q.sql); err != nil {
			return fmt.Errorf("sample query %q: %w", q.title, err)
		}
	}
	return nil
}

// printRows renders a small result set as an aligned table.
func printRows(e *env, rows *sql.Rows) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				cells[i] = "NULL"
			} else {
				cells[i] = fmt.Sprint(v)
			}
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
