package daemon

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
)

// OnceOptions is a run of jobs in the foreground (closesync sync, the demo).
type OnceOptions struct {
	Config  *config.Config
	Log     *zap.Logger
	Jobs    []schedule.Job // schedule.Jobs, with any re-read applied
	Trigger string         // TriggerReconcile or TriggerFullRefresh run those; else the jobs run
	Hooks   Hooks
	Open    schedule.Opener // the database, open for the whole run
	Extract func(account string) (schedule.ExtractFunc, error)
	// Progress, if not nil, sees the rows of the report in progress.
	Progress func(job, report string, rows int64)
	// Result receives every result, each followed by the run it led to.
	Result func(schedule.Triggered)
}

// CloseError is Once's error when closing the database (its final
// checkpoint) failed: the runs are in its write-ahead log, not yet in the
// file.
type CloseError struct{ Err error }

func (e *CloseError) Error() string { return fmt.Sprintf("close database: %v", e.Err) }
func (e *CloseError) Unwrap() error { return e.Err }

// Once runs the jobs one after another, each bounded by its job's timeout
// as in the daemon, then closes the database. Closing the file is part of
// the run: its failure is a *CloseError (and the history says so,
// load.Store.Close). Runs that fail are results, not errors.
func Once(ctx context.Context, o OnceOptions) error {
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
		o.Hooks.Closed()
		return nil
	}
	defer func() {
		if !closed {
			_ = closeOnce()
		}
	}()
	runner := &schedule.Runner{Store: store, Extract: o.Extract, Log: o.Log, CollectChanges: o.Hooks.WantsChanges(), Progress: o.Progress}
	timeouts := map[string]time.Duration{}
	for _, j := range o.Config.Jobs {
		timeouts[j.Name] = j.Timeout
	}
	for _, job := range o.Jobs {
		ctx, cancel := schedule.WithTimeout(ctx, job.Name, timeouts[job.Name])
		run := runner.RunJob
		if o.Trigger == schedule.TriggerReconcile {
			run = func(ctx context.Context, job schedule.Job, _ string) []schedule.Result {
				return runner.RunReconcile(ctx, job)
			}
		}
		if o.Trigger == schedule.TriggerFullRefresh {
			run = func(ctx context.Context, job schedule.Job, _ string) []schedule.Result {
				return runner.RunFullRefresh(ctx, job)
			}
		}
		for _, res := range schedule.WithFollowups(run(ctx, job, o.Trigger)) {
			o.Result(res)
		}
		cancel()
	}
	return closeOnce()
}
