package pipeline

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
)

// RunReconcile lists the ids of each of the job's reports that Close
// deletes and soft-deletes the rows whose objects no longer exist: the
// deletions the event log cannot tell (older than its 30 days, or missed
// while closesync was down). Each report is a run of its own with trigger
// reconcile; a listing that fails marks nothing.
func (r *Runner) RunReconcile(ctx context.Context, job Job) []Result {
	var reports []ReportRun
	for _, rr := range job.Reports {
		if rr.Report.Reconcilable() {
			reports = append(reports, rr)
		}
	}
	out := r.eachReport(ctx, job, runlog.Reconcile, reports, func(ctx context.Context, rr ReportRun) Result {
		res := r.reconcile(ctx, job, rr, time.Now(), r.listIDs)
		if res.ID != 0 {
			r.Watch.ended(res)
		}
		return res
	})
	if job.HardDeletes {
		if job, err := r.withOrg(ctx, job); err == nil {
			log := r.Log.With(zap.String("job", job.Name))
			if err := r.purge(ctx, job.Params["organization_id"], log); err != nil {
				log.Error(steps[extract.PurgeDeleted].failed, zap.Error(&StageError{Stage: StageStep, Err: err}))
			}
		}
	}
	return out
}

// listIDs is the walk of a reconcile run: every id of the report, read
// with the walk's IDsOnly listing.
func (r *Runner) listIDs(ctx context.Context, s *run) ([]string, error) {
	rep := s.rr.Report
	ext, err := r.Extract(s.job.Account)
	if err != nil {
		return nil, &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
	}
	var ids []string
	req := extract.Request{Report: rep, StartDate: s.job.StartDate, Now: s.res.StartedAt, Params: s.job.Params, IDsOnly: true,
		Warn: func(msg string) { s.log.Warn(msg) }}
	if err := ext(ctx, req, func(b extract.Batch) error {
		page, err := extract.RecordIDs(rep, b)
		ids = append(ids, page...)
		return err
	}); err != nil {
		return nil, &StageError{Stage: StageExtract, Report: rep.Name, Err: fmt.Errorf("list ids: %w", err)}
	}
	return ids, nil
}

// reconcileListed marks the rows of rr's table whose objects a complete
// listing begun at listedFrom did not name, as a reconcile run of its own
// that makes no request (the listing of a full refresh's walk).
func (r *Runner) reconcileListed(ctx context.Context, job Job, rr ReportRun, ids []string, listedFrom time.Time) Result {
	return r.reconcile(ctx, job, rr, listedFrom, func(context.Context, *run) ([]string, error) {
		return ids, nil
	})
}

// reconcile is one reconcile run of rr, on the scaffold of every run: list
// names every object that exists, in a listing begun at listedFrom, and
// the reconcile step marks the rows of the job's organization it did not
// name deleted. A listing that fails marks nothing.
func (r *Runner) reconcile(ctx context.Context, job Job, rr ReportRun, listedFrom time.Time,
	list func(ctx context.Context, s *run) ([]string, error)) Result {
	s, ok := r.begin(ctx, job, rr, runlog.Reconcile)
	if !ok {
		return s.res
	}
	r.finish(ctx, s, s.do(ctx, func(ctx context.Context, s *run) error {
		if err := awaitTurn(ctx); err != nil {
			return staged(StageExtract, rr.Report.Name, err)
		}
		ids, err := list(ctx, s)
		if err != nil {
			return err
		}
		var deleted *[]string
		if r.CollectChanges {
			deleted = &s.res.Deletions
		}
		n, err := r.Store.Reconcile(ctx, s.row, rr.Report.Table, ids, listedFrom, deleted)
		s.res.RowsExtracted, s.res.RowsDeleted = int64(len(ids)), n
		return staged(StageStep, rr.Report.Name, err)
	}))
	res := s.res
	fields := []zap.Field{zap.String("status", string(res.Status)), zap.Int64("ids_listed", res.RowsExtracted), zap.Int64("rows_deleted", res.RowsDeleted),
		zap.Int64("requests", res.Requests), zap.Duration("duration", res.Duration())}
	if res.Err != nil {
		s.log.Error("reconcile finished", append(fields, zap.String("stage", string(StageOf(res.Err))), zap.Error(res.Err))...)
	} else {
		s.log.Info("reconcile finished", fields...)
	}
	return res
}
