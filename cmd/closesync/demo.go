package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/internal/demo"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
)

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
	fake, err := demo.Start(*seed, *scale)
	if err != nil {
		return err
	}
	defer func() { _ = fake.Close() }() // the loopback fake: nothing to lose

	cfg := demo.Config(filepath.Join(*dir, "closesync-demo.duckdb"), fake.BaseURL())
	if err := cfg.Validate(extract.Names()); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	fmt.Fprintf(e.stdout, "Fake Close API with %d leads on %s; syncing every report into %s\n\n", *scale, fake.Addr(), cfg.Database)
	syncErr := syncJobs(ctx, cfg, nil, nil, "manual", e)
	if syncErr != nil && !errors.Is(syncErr, errFailed) {
		return syncErr
	}
	if err := demoSummary(ctx, cfg, e); err != nil {
		return err
	}
	return syncErr
}

// demoSummary prints row counts per table, the run history and the sample
// queries with their results.
func demoSummary(ctx context.Context, cfg *config.Config, e *env) error {
	opts := daemon.StoreOptions(cfg)
	opts.ReadOnly, opts.LockTimeout = true, 0 // the demo's own file: nothing else holds it
	store, err := load.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }() // read-only: nothing to lose
	fmt.Fprintln(e.stdout, "\nRows per table (schema close):")
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	counts, err := demo.Counts(ctx, store)
	if err != nil {
		return err
	}
	for _, c := range counts {
		fmt.Fprintf(tw, "  %s\t%d\t\n", c.Table, c.Rows)
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
	for _, q := range demo.Queries {
		fmt.Fprintf(e.stdout, "\n-- %s\n%s\n", q.Title, q.SQL)
		if err := store.Query(ctx, func(rows *sql.Rows) error { return printRows(e, rows) }, q.SQL); err != nil {
			return fmt.Errorf("sample query %q: %w", q.Title, err)
		}
	}
	return nil
}

// printRows renders a small result set as an aligned table.
func printRows(e *env, rows *sql.Rows) error {
	cols, all, err := load.ScanAll(rows)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	for _, vals := range all {
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
