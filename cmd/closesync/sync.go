package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/internal/logging"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
)

func cmdSync(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sync", "--config FILE [--job J]... [--report R]... [--dry-run | --reconcile | --full-refresh | --since DATE [--until DATE]]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	var jobs, reports multiFlag
	fs.Var(&jobs, "job", "run only this job (repeatable; default all)")
	fs.Var(&reports, "report", "run only this report (repeatable; all or a glob such as activities_* stands for the reports it matches; child reports run their parent)")
	dry := fs.Bool("dry-run", false, "print what each report would read and the requests it would take; write nothing")
	reconcile := fs.Bool("reconcile", false, "run the reconciliation pass instead: list ids only and mark rows deleted in Close")
	full := fs.Bool("full-refresh", false, "re-read the --report from start_date, upserting over the rows there (none dropped), then mark the rows deleted in Close; the bookmark never moves back")
	since := fs.String("since", "", "backfill the --report from this date (YYYY-MM-DD or RFC 3339) without moving its bookmark back")
	until := fs.String("until", "", "with --since: the window's end, exclusive (default now); the bookmark moves only if the window reaches past it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rr, err := schedule.ParseReread(*full, *since, *until, reports, *dry, *reconcile)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *dry && *reconcile {
		return usagef("--dry-run and --reconcile cannot be combined")
	}
	if *dry {
		return dryRun(ctx, cfg, jobs, reports, e)
	}
	if *reconcile {
		return syncJobs(ctx, cfg, jobs, reports, runlog.Reconcile, e)
	}
	return syncJobs(ctx, cfg, jobs, reports, rr.Trigger(runlog.Manual), e, rr)
}

// syncJobs runs the selected jobs once against the configured accounts and
// prints one line per report. It returns errFailed when any run failed.
func syncJobs(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, trigger runlog.Trigger, e *env, re ...schedule.Reread) error {
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	var w schedule.Reread
	if len(re) > 0 {
		w = re[0]
	}
	if err := w.Apply(jobs); err != nil {
		return err
	}
	var progress func(job, report string, rows int64)
	if logging.IsTerminal(e.stderr) {
		progress = newProgress(e.stderr)
	}
	failed := 0
	err = daemon.Once(ctx, daemon.OnceOptions{Config: cfg, Log: log, Jobs: jobs, Trigger: trigger, Open: opener(cfg, log),
		Progress: progress, Result: func(res schedule.Triggered) {
			printResult(e.stdout, res.Result)
			if note := w.Note(res); note != "" {
				fmt.Fprintf(e.stdout, "         %s\n", note)
			}
			if res.Err != nil {
				failed++
			}
		}})
	var ce *daemon.CloseError
	if errors.As(err, &ce) {
		fmt.Fprintf(e.stdout, "%-8s closing %s: the final checkpoint failed; the runs above are in its write-ahead log, not yet in the file\n         error: %v\n", "failed", cfg.Database, ce.Err)
		return errFailed
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return errFailed
	}
	return nil
}

// startJobs starts the logger and resolves the selected jobs, for sync
// and its dry run. The caller syncs the logger.
func startJobs(cfg *config.Config, onlyJobs, onlyReports []string, e *env) (*zap.Logger, []pipeline.Job, error) {
	log, err := startLogger(cfg, e)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := schedule.Jobs(cfg, onlyJobs, onlyReports)
	if err != nil {
		log.Sync()
		return nil, nil, err
	}
	return log, jobs, nil
}

func printResult(w io.Writer, r pipeline.Result) {
	line := fmt.Sprintf("%-8s %s/%s: %d rows written from %d extracted, %d requests", r.Status, r.Job, r.Report, r.RowsUpserted, r.RowsExtracted, r.Requests)
	if r.Retries > 0 {
		line += fmt.Sprintf(" (%d retried)", r.Retries)
	}
	if r.RowsDeleted > 0 {
		line += fmt.Sprintf(", %d marked deleted", r.RowsDeleted)
	}
	line += fmt.Sprintf(", %s", r.Duration().Round(time.Millisecond))
	if r.Err != nil {
		line += "\n         error: " + r.Err.Error()
	}
	fmt.Fprintln(w, line)
}

// newProgress prints a self-overwriting progress line on a terminal, at most
// ten times a second.
func newProgress(w io.Writer) func(job, report string, rows int64) {
	var mu sync.Mutex
	var last time.Time
	return func(job, report string, rows int64) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r\033[K%s/%s: %d rows", job, report, rows)
	}
}
