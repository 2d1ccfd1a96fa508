package schedule

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TriggerFullRefresh marks a run that re-reads a report from its start date
// (sync --full-refresh).
const TriggerFullRefresh = "full_refresh"

// RunFullRefresh re-reads each of the job's reports from the start date as
// a first run would (trigger full_refresh), upserting over the rows there
// and never moving a bookmark back; one result per report. The walk lists
// every object that exists since the start date, so for reports Close
// deletes it is followed by a reconcile run (trigger reconcile, the
// result's Followup) that marks the rows it did not list, without another
// request.
func (r *Runner) RunFullRefresh(ctx context.Context, job Job) []Result {
	var out []Result
	for _, rr := range job.Reports {
		if ctx.Err() != nil {
			out = append(out, Result{Job: job.Name, Report: rr.Report.Name, Status: load.StatusCancelled, Err: ctx.Err()})
			continue
		}
		rr.FullRefresh = true
		listing := rr.Report.Reconcilable() && rr.Report.Method == extract.Incremental && rr.Mode != schema.Replace
		var ids []string
		if listing {
			rr.listed = &ids
		}
		res := r.RunReport(ctx, job, rr, TriggerFullRefresh)
		if listing && res.Status == load.StatusSuccess {
			rc := r.reconcileListed(ctx, job, rr, ids, res.Started)
			res.Followup, res.FollowupTrigger = &rc, TriggerReconcile
		}
		out = append(out, res)
	}
	return out
}

// reconcileListed marks the rows of rr's table whose objects a complete
// listing begun at listedFrom did not name, as a reconcile run of its own
// that makes no request.
func (r *Runner) reconcileListed(ctx context.Context, job Job, rr ReportRun, ids []string, listedFrom time.Time) Result {
	return r.reconcile(ctx, job, rr, listedFrom, func(context.Context, Job, *zap.Logger) ([]string, error) {
		return ids, nil
	})
}
