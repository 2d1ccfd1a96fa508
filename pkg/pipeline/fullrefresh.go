package pipeline

import (
	"context"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

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
			out = append(out, Result{Run: runlog.Run{Job: job.Name, Report: rr.Report.Name, Account: job.Account, Trigger: runlog.FullRefresh, Status: runlog.Cancelled, Err: ctx.Err()}})
			continue
		}
		rr.FullRefresh = true
		listing := rr.Report.Reconcilable() && rr.Report.Method == extract.Incremental && rr.Mode != schema.Replace
		var ids []string
		if listing {
			rr.listed = &ids
		}
		// Watch is told of the run once its reconcile (a Followup, as a
		// backfill is) has ended too.
		res := r.runReport(ctx, job, rr, runlog.FullRefresh)
		if listing && res.Status == runlog.Success {
			rc := r.reconcileListed(ctx, job, rr, ids, res.StartedAt)
			res.Followup = &rc
		}
		if res.ID != 0 {
			r.Watch.ended(res)
		}
		out = append(out, res)
	}
	return out
}
