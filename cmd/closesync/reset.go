package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
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
	targets, err := resetTargets(cfg, *report, *job, *drop)
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

// resetTarget is one account whose state of the report is forgotten, named
// by the first job (in config order) that syncs it there.
type resetTarget struct{ job, account string }

// resetTargets checks the command line against the config: a known root
// report, a known job, and at least one selected job that syncs the report.
// --drop empties the report's tables for every account, so with --job it
// is refused while another account's job syncs the report too.
func resetTargets(cfg *config.Config, report, job string, drop bool) ([]resetTarget, error) {
	rep, ok := extract.Lookup(report)
	if !ok {
		return nil, usagef("unknown report %q %s(see 'closesync reports')", report, hint(config.Suggest(report, extract.Names(), 0)))
	}
	if rep.Parent != "" {
		return nil, usagef("report %s is written with its parent %s: reset %s (--drop empties its child tables too)", report, rep.Parent, rep.Parent)
	}
	var jobNames []string
	for _, j := range cfg.Jobs {
		jobNames = append(jobNames, j.Name)
	}
	if job != "" && !slices.Contains(jobNames, job) {
		return nil, usagef("unknown job %q %s", job, hint(config.Suggest(job, jobNames, 10)))
	}
	syncs := func(j config.Job) bool {
		for _, ref := range j.Reports {
			if r, ok := extract.Lookup(ref.Name); ok && extract.Root(r).Name == report {
				return true
			}
		}
		return false
	}
	var out []resetTarget
	var others []string
	for _, j := range cfg.Jobs {
		if !syncs(j) {
			continue
		}
		if job != "" && j.Name != job {
			others = append(others, fmt.Sprintf("%s (account %s)", j.Name, j.Account))
			continue
		}
		if !slices.ContainsFunc(out, func(t resetTarget) bool { return t.account == j.Account }) {
			out = append(out, resetTarget{job: j.Name, account: j.Account})
		}
	}
	if len(out) == 0 {
		if job != "" {
			return nil, usagef("report %s is not among job %s's reports: nothing to reset", report, job)
		}
		return nil, usagef("report %s is in no job: nothing to reset", report)
	}
	if drop && len(others) > 0 {
		var foreign []string
		for _, o := range others {
			if !strings.HasSuffix(o, "(account "+out[0].account+")") {
				foreign = append(foreign, o)
			}
		}
		if len(foreign) > 0 {
			return nil, usagef("--drop empties the %s tables for every account, and %s sync it too: leave out --job to reset them all, or reset without --drop",
				report, strings.Join(foreign, ", "))
		}
	}
	return out, nil
}

func hint(h string) string {
	if h == "" {
		return ""
	}
	return h + " "
}

// resetOne forgets one account's state of the report as a run of its own.
func resetOne(ctx context.Context, store *load.Store, e *env, t resetTarget, rep *extract.Report, drop bool, schema string) error {
	id, err := store.BeginRun(ctx, load.RunInfo{Job: t.job, Report: rep.Name, Account: t.account, Trigger: runlog.Reset})
	if err != nil {
		return err
	}
	r, err := store.ResetReport(ctx, t.account, rep.Name, rep.Table, drop)
	if err != nil {
		if ferr := store.FinishRun(ctx, id, runlog.Failed, load.Counters{}, err.Error()); ferr != nil {
			err = errors.Join(err, ferr)
		}
		fmt.Fprintf(e.stdout, "%-8s %s/%s: %v\n", runlog.Failed, t.job, rep.Name, err)
		return errFailed
	}
	var total int64
	var parts []string
	for _, d := range r.Dropped {
		total += d.Rows
		parts = append(parts, fmt.Sprintf("%d from %s.%s", d.Rows, schema, d.Table))
	}
	if total > 0 {
		if err := store.AddDeleted(ctx, id, total); err != nil {
			return fmt.Errorf("record the rows dropped by reset %s/%s: %w", t.job, rep.Name, err)
		}
	}
	if err := store.FinishRun(ctx, id, runlog.Success, load.Counters{}, ""); err != nil {
		return err
	}
	line := fmt.Sprintf("%-8s %s/%s (account %s): ", "reset", t.job, rep.Name, t.account)
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
