package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/daemon"
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
// prints one line per report as it finishes (on a terminal, above a line
// per running report), then one line naming the reports cancelled, if any.
// It returns errFailed when any run failed, errInterrupted when a signal
// cancelled runs.
func syncJobs(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, trigger runlog.Trigger, e *env, re ...schedule.Reread) error {
	le, logs := routedLogs(e)
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, le)
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
	obs := newObserver(e, logs)
	failed := 0
	var cancelled cancellations
	err = daemon.Once(ctx, daemon.OnceOptions{Config: cfg, Log: log, Jobs: jobs, Trigger: trigger, Open: observedOpener(cfg, log, obs),
		Watch: watch(obs), Result: func(res schedule.Triggered) {
			obs.ended(res.Job, res.Report)
			if res.Err != nil {
				failed++
			}
			if res.Status == runlog.Cancelled {
				cancelled.add(ctx, res.Result)
				return
			}
			printResult(obs.out(), res.Result)
			if note := w.Note(res); note != "" {
				fmt.Fprintf(obs.out(), "         %s\n", note)
			}
		}})
	obs.stop()
	cancelled.print(e.stdout)
	var ce *daemon.CloseError
	if errors.As(err, &ce) {
		fmt.Fprintf(e.stdout, "%-8s closing %s: the final checkpoint failed; the runs above are in its write-ahead log, not yet in the file\n         error: %v\n", "failed", cfg.Database, ce.Err)
		return errFailed
	}
	if err != nil {
		return err
	}
	var sig signalled
	if len(cancelled.reports) > 0 && errors.As(context.Cause(ctx), &sig) {
		return errInterrupted
	}
	if failed > 0 {
		return errFailed
	}
	return nil
}

// cancellations are the reports a sync cancelled, printed together at its
// end, one line per reason (the signal, a job's timeout), not an error
// line each.
type cancellations struct {
	reasons []string
	reports map[string][]string // by reason
}

// add notes res, cancelled: by the signal when ctx ended with one, else
// by its own cause (its job's timeout).
func (c *cancellations) add(ctx context.Context, res pipeline.Result) {
	reason := "cancelled"
	var sig signalled
	switch {
	case errors.As(context.Cause(ctx), &sig):
		reason = sig.Error()
	case res.Err != nil:
		reason = res.Err.Error()
	}
	if c.reports == nil {
		c.reports = map[string][]string{}
	}
	if _, ok := c.reports[reason]; !ok {
		c.reasons = append(c.reasons, reason)
	}
	c.reports[reason] = append(c.reports[reason], res.Job+"/"+res.Report)
}

func (c *cancellations) print(w io.Writer) {
	for _, reason := range c.reasons {
		fmt.Fprintf(w, "%-8s %s: %s\n", runlog.Cancelled, strings.Join(c.reports[reason], ", "), reason)
	}
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

// units is n with its unit, singular for one: "1 request", "12 requests".
func units(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func printResult(w io.Writer, r pipeline.Result) {
	line := fmt.Sprintf("%-8s %s/%s: %s written from %d extracted, %s", r.Status, r.Job, r.Report,
		units(r.RowsUpserted, "row"), r.RowsExtracted, units(r.Requests, "request"))
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
