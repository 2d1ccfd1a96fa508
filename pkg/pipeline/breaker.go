package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

// breaker remembers, per account, a failure that every further request of
// the account would repeat: a rejected API key (401) or an API that could
// not be reached through a report's retries (connection refused, no route,
// DNS failure). The account's remaining reports of the run then fail at
// once with a SkippedError instead of spending their own requests and
// retries on it. A Runner is made per run, so the next run tries again.
type breaker struct {
	mu     sync.Mutex
	broken map[string]*SkippedError
}

// SkippedError is the error of a report that was not run because an
// earlier report of the run found its account unusable. It unwraps to that
// report's error, so errors.Is(err, closeapi.ErrUnauthorized) holds for a
// rejected key, and Temporary and StageOf answer as they would for the
// cause.
type SkippedError struct {
	Account string
	Report  string // the report that found it
	Cause   error
}

func (e *SkippedError) Error() string {
	if errors.Is(e.Cause, closeapi.ErrUnauthorized) {
		return fmt.Sprintf("skipped: the API key of account %s was rejected (401) by report %s", e.Account, e.Report)
	}
	return fmt.Sprintf("skipped: the Close API of account %s was unreachable in report %s: %v", e.Account, e.Report, e.Cause)
}

func (e *SkippedError) Unwrap() error { return e.Cause }

// trip records err if it condemns the account's other reports.
func (b *breaker) trip(account, report string, err error) {
	if err == nil || !(errors.Is(err, closeapi.ErrUnauthorized) || closeapi.Unreachable(err)) {
		return
	}
	var skipped *SkippedError
	if errors.As(err, &skipped) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		b.broken = map[string]*SkippedError{}
	}
	if _, ok := b.broken[account]; !ok {
		b.broken[account] = &SkippedError{Account: account, Report: report, Cause: err}
	}
}

// tripped returns why the account's reports are skipped, or nil.
func (b *breaker) tripped(account string) *SkippedError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken[account]
}

// skipReport records a report that is not run: a run row, failed with why.
func (r *Runner) skipReport(ctx context.Context, job Job, rr ReportRun, trigger runlog.Trigger, why *SkippedError) Result {
	log := r.Log.With(zap.String("job", job.Name), zap.String("report", rr.Report.Name), zap.String("account", job.Account))
	s := &run{rr: rr, stats: &closeapi.Stats{}, log: log,
		res: Result{Run: runlog.Run{Job: job.Name, Report: rr.Report.Name, Account: job.Account, Trigger: trigger, StartedAt: time.Now()}}}
	id, err := r.Store.BeginRun(ctx, load.RunInfo{Job: job.Name, Report: rr.Report.Name, Account: job.Account, Trigger: trigger})
	if err != nil {
		s.res.Status, s.res.Err = runlog.Failed, why
		log.Error("run could not start", zap.Error(err))
		return s.res
	}
	s.res.ID = id
	s.log = log.With(zap.Int64("run_id", id))
	r.finish(ctx, s, why)
	log.Error("run skipped", zap.Int64("run_id", id), zap.Error(why))
	return s.res
}
