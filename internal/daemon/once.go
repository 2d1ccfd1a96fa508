package daemon

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
)

// OnceOptions is a run of jobs in the foreground (closesync sync, the demo).
type OnceOptions struct {
	Config  *config.Config
	Log     *zap.Logger
	Jobs    []pipeline.Job  // schedule.Jobs, with any re-read applied
	Trigger runlog.Trigger  // runlog.Reconcile, runlog.Verify or runlog.FullRefresh run those; else the jobs run
	Open    schedule.Opener // the database, open for the whole run
	// Watch sees the runs as they go (Started, Read; Once sets its
	// Ended).
	Watch pipeline.Watch
	// Result receives every result as its run ends, each followed by the
	// run it led to, before the hooks (status, notifications) see it; the
	// runs that never began (cancelled before their turn, skipped) at their
	// job's end. It is called from one goroutine at a time.
	Result func(schedule.Triggered)
}

// CloseError is Once's error when closing the database (its final
// checkpoint) failed: the runs are in its write-ahead log, not yet in the
// file.
type CloseError struct{ Err error }

func (e *CloseError) Error() string { return fmt.Sprintf("close database: %v", e.Err) }
func (e *CloseError) Unwrap() error { return e.Err }

// Once runs the jobs one after another against the config's accounts,
// each bounded by its job's timeout as in the daemon, then closes the
// database and delivers the notifications. Closing the file is part of
// the run: its failure is a *CloseError (and the history says so,
// load.Store.Close). Runs that fail are results, not errors.
func Once(ctx context.Context, o OnceOptions) error {
	cs, err := accounts.New(o.Config, closeapi.NewBudgets(), o.Log, nil)
	if err != nil {
		return err
	}
	cs.WithOrganizations(o.Jobs)
	after, err := hooks.New(o.Config, o.Log, nil)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		after.Stop(ctx)
	}()
	store, closeStore, err := o.Open(ctx)
	if err != nil {
		return err
	}
	closed := false
	closeOnce := func() error {
		closed = true
		if err := closeStore(); err != nil {
			o.Log.Error("close database", zap.Error(err))
			return &CloseError{Err: err}
		}
		after.Closed()
		return nil
	}
	defer func() {
		if !closed {
			_ = closeOnce()
		}
	}()
	deliver := newDelivery(o.Result, after)
	watch := o.Watch
	watch.Ended = func(res pipeline.Result) { deliver.each([]pipeline.Result{res}) }
	runner := &pipeline.Runner{Store: store, Extract: cs.Extractor, Plan: cs.Planner, Log: o.Log, CollectChanges: after.WantsChanges(), Watch: watch}
	timeouts := map[string]time.Duration{}
	for _, j := range o.Config.Jobs {
		timeouts[j.Name] = j.Timeout
	}
	for _, job := range o.Jobs {
		ctx, cancel := schedule.WithTimeout(ctx, job.Name, timeouts[job.Name])
		run := runner.RunJob
		if o.Trigger == runlog.Reconcile {
			run = func(ctx context.Context, job pipeline.Job, _ runlog.Trigger) []pipeline.Result {
				return runner.RunReconcile(ctx, job)
			}
		}
		if o.Trigger == runlog.Verify {
			run = func(ctx context.Context, job pipeline.Job, _ runlog.Trigger) []pipeline.Result {
				return runner.RunVerify(ctx, job)
			}
		}
		if o.Trigger == runlog.FullRefresh {
			run = func(ctx context.Context, job pipeline.Job, _ runlog.Trigger) []pipeline.Result {
				return runner.RunFullRefresh(ctx, job)
			}
		}
		deliver.each(run(ctx, job, o.Trigger))
		cancel()
	}
	return closeOnce()
}
