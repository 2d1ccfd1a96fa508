package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
)

// cmdReset forgets a report's bookmark, so that its next sync reads from
// start_date, and with --drop empties its tables (children included). Each
// account's reset is a sync.runs row with trigger reset. It needs no API
// key, and waits for the database file like a run does.
func cmdReset(ctx context.Context, args []string, e *env) error {
	fs := newFlags("reset", "--config FILE --report R [--job J] [--drop]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	report := fs.String("report", "", "the report whose bookmark to forget (a root report: children go with their parent)")
	job := fs.String("job", "", "only the account of this job (default: every job that syncs the report)")
	drop := fs.Bool("drop", false, "also delete the rows of the report's table and of its child tables")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *report == "" {
		return usagef("--report is required (see 'closesync reports')")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	targets, err := schedule.ResetTargets(cfg, *report, *job, *drop)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		return fmt.Errorf("nothing to reset: database %s: %w", cfg.Database, err)
	}
	log, err := startLogger(cfg, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	rep, _ := extract.Lookup(*report)
	var errs []error
	for i, t := range targets {
		// The tables hold every account's rows: empty them once.
		if err := resetOne(ctx, store, e, t, rep, *drop && i == 0, store.Schema()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// resetOne forgets one account's state of the report as a run of its own.
func resetOne(ctx context.Context, store *load.Store, e *env, t schedule.ResetTarget, rep *extract.Report, drop bool, schema string) error {
	r, err := store.ResetRun(ctx, load.RunInfo{Job: t.Job, Report: rep.Name, Account: t.Account, Trigger: runlog.Reset}, rep.Table, drop)
	var failed *load.ResetError
	switch {
	case errors.As(err, &failed):
		fmt.Fprintf(e.stdout, "%-8s %s/%s: %v\n", runlog.Failed, t.Job, rep.Name, failed.Err)
		return errFailed
	case err != nil:
		return err
	}
	var total int64
	var parts []string
	for _, d := range r.Dropped {
		total += d.Rows
		parts = append(parts, fmt.Sprintf("%d from %s.%s", d.Rows, schema, d.Table))
	}
	line := fmt.Sprintf("%-8s %s/%s (account %s): ", "reset", t.Job, rep.Name, t.Account)
	if !r.Bookmark.IsZero() {
		line += "bookmark " + r.Bookmark.String() + " forgotten"
	} else {
		line += "no bookmark stored"
	}
	if drop {
		line += fmt.Sprintf("; %d rows dropped", total)
		if len(parts) > 0 {
			line += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	fmt.Fprintln(e.stdout, line+"; the next sync reads it from start_date")
	return nil
}
