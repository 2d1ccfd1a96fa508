package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
)

// cmdVerify compares each selected report's live rows with Close's own
// count (pipeline.RunVerify), prints a table and records a run row per
// report with trigger verify. It exits 1 when a report differs by more
// than Close changed after the file's newest change, or a check failed.
func cmdVerify(ctx context.Context, args []string, e *env) error {
	fs := newFlags("verify", "--config FILE [--job J]... [--report R]...", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	var jobs, reports multiFlag
	fs.Var(&jobs, "job", "verify only this job's reports (repeatable; default all)")
	fs.Var(&reports, "report", "verify only this report (repeatable; all or a glob such as activities_* stands for the reports it matches)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log, selected, err := startJobs(cfg, jobs, reports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	var results []pipeline.Result
	err = daemon.Once(ctx, daemon.OnceOptions{Config: cfg, Log: log, Jobs: selected, Trigger: runlog.Verify,
		Open:   observedOpener(cfg, log, noObserver{w: e.stdout}),
		Result: func(res schedule.Triggered) { results = append(results, res.Result) }})
	failed := printVerification(e, results)
	var ce *daemon.CloseError
	if errors.As(err, &ce) {
		fmt.Fprintf(e.stdout, "closing %s failed: %v\n", cfg.Database, ce.Err)
		return errFailed
	}
	if err != nil {
		return err
	}
	var sig signalled
	if errors.As(context.Cause(ctx), &sig) {
		return errInterrupted
	}
	if failed {
		return errFailed
	}
	return nil
}

// printVerification prints one line per report and what to do about the
// differences, and reports whether any check failed or differed.
func printVerification(e *env, results []pipeline.Result) bool {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tREPORT\tDUCKDB\tCLOSE\tNEWEST IN DUCKDB\tNEWEST IN CLOSE\tVERDICT\tHOW")
	slices.SortStableFunc(results, func(a, b pipeline.Result) int {
		return cmp.Or(cmp.Compare(a.Job, b.Job), cmp.Compare(a.Report, b.Report))
	})
	failed, differs, behind := false, 0, 0
	var errs []string
	for _, r := range results {
		v := r.Verification
		if v == nil || (r.Err != nil && !errors.Is(r.Err, pipeline.ErrDiffers)) {
			failed = true
			msg := "did not run"
			if r.Err != nil {
				msg = r.Err.Error()
			}
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t%s\t\n", r.Job, r.Report, r.Status)
			errs = append(errs, fmt.Sprintf("%s/%s: %s", r.Job, r.Report, msg))
			continue
		}
		closeCount := "?"
		if v.Close >= 0 {
			closeCount = fmt.Sprint(v.Close)
		}
		verdict := string(v.Verdict)
		switch v.Verdict {
		case pipeline.Equal, pipeline.Unverifiable:
		case pipeline.Differs:
			failed = true
			differs++
			verdict = fmt.Sprintf("DIFFERS by %+d", v.Difference())
		case pipeline.Behind:
			behind++
			verdict = fmt.Sprintf("behind by %d", v.Difference())
		}
		how := v.How
		if v.Pending >= 0 {
			how += fmt.Sprintf("; %d changed in Close since the last sync", v.Pending)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Job, r.Report, v.Stored.Rows, closeCount,
			stamp(v.Stored.Newest), stamp(v.CloseNewest), verdict, how)
	}
	tw.Flush()
	for _, msg := range errs {
		fmt.Fprintf(e.stdout, "error: %s\n", msg)
	}
	if behind > 0 {
		fmt.Fprintf(e.stdout, "%d report(s) behind: Close changed since their last sync, which the next sync reads.\n", behind)
	}
	if differs > 0 {
		fmt.Fprintf(e.stdout, "%d report(s) differ beyond what Close changed since their last sync: `closesync sync --reconcile` marks rows Close no longer has; `closesync sync --full-refresh --report R` re-reads one.\n", differs)
	}
	return failed
}

// stamp is t to the second in UTC, or "?" when unknown.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}
