package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
)

func cmdSync(ctx context.Context, args []string, e *env) error {
	fs := newFlags("sync", "--config FILE [--job J]... [--report R]... [--dry-run | --reconcile]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	var jobs, reports multiFlag
	fs.Var(&jobs, "job", "run only this job (repeatable; default all)")
	fs.Var(&reports, "report", "run only this report (repeatable; child reports run their parent)")
	dry := fs.Bool("dry-run", false, "print what each report would read and the requests it would take; write nothing")
	reconcile := fs.Bool("reconcile", false, "run the reconciliation pass instead: list ids only and mark rows deleted in Close")
	if err := parseFlags(fs, args); err != nil {
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
		return syncJobs(ctx, cfg, jobs, reports, schedule.TriggerReconcile, e)
	}
	return syncJobs(ctx, cfg, jobs, reports, "manual", e)
}

// syncJobs runs the selected jobs once against the configured accounts and
// prints one line per report. It returns errFailed when any run failed.
func syncJobs(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, trigger string, e *env) error {
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	cs, err := newClients(cfg, log, nil)
	if err != nil {
		return err
	}
	cs.withOrganizations(jobs)
	hooks, err := newRunHooks(cfg, log, nil)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hooks.stop(ctx)
	}()
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close database", zapErr(err))
			return
		}
		hooks.closed()
	}()
	runner := &schedule.Runner{Store: store, Extract: cs.extractor, Log: log, CollectChanges: hooks.wantsChanges()}
	if isTerminal(e.stderr) {
		runner.Progress = newProgress(e.stderr)
	}
	failed := 0
	for _, job := range jobs {
		run := runner.RunJob
		if trigger == schedule.TriggerReconcile {
			run = func(ctx context.Context, job schedule.Job, _ string) []schedule.Result {
				return runner.RunReconcile(ctx, job)
			}
		}
		for _, res := range run(ctx, job, trigger) {
			printResult(e.stdout, res)
			if res.RunID != 0 {
				hooks.observe(trigger, res)
			}
			if res.Err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		return errFailed
	}
	return nil
}

// startJobs starts the logger and resolves the selected jobs, for sync
// and its dry run. The caller syncs the logger.
func startJobs(cfg *config.Config, onlyJobs, onlyReports []string, e *env) (*zap.Logger, []schedule.Job, error) {
	log, err := startLogger(cfg, e)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := resolveJobs(cfg, onlyJobs, onlyReports)
	if err != nil {
		log.Sync()
		return nil, nil, err
	}
	return log, jobs, nil
}

func printResult(w io.Writer, r schedule.Result) {
	line := fmt.Sprintf("%-8s %s/%s: %d rows written from %d extracted, %d requests", r.Status, r.Job, r.Report, r.Rows, r.Extract, r.Requests)
	if r.Retries > 0 {
		line += fmt.Sprintf(" (%d retried)", r.Retries)
	}
	if r.Deleted > 0 {
		line += fmt.Sprintf(", %d marked deleted", r.Deleted)
	}
	line += fmt.Sprintf(", %s", r.Duration.Round(time.Millisecond))
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
