package pipeline

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// eventLogRetention is how long Close keeps event log entries (the report
// that declares ApplyEventDeletes, eventLog).
const eventLogRetention = 30 * 24 * time.Hour

// oldestLoaded derives where the loaded range of a report without a
// recorded one starts: the oldest replication value among its rows, when
// the report succeeded before this run (so this was not its first load).
// The event log (30 days kept) and Daily reports (days without rows) are
// not derived: they adopt the configured start.
func (r *Runner) oldestLoaded(ctx context.Context, job Job, rr ReportRun, res Result) (time.Time, bool) {
	rep := rr.Report
	st := r.Store
	_, daily := rep.Walk.(extract.Daily)
	if rep.Has(extract.ApplyEventDeletes) || daily || res.ID == 0 {
		return time.Time{}, false
	}
	if before, err := st.SucceededBefore(ctx, job.Account, rep.Name, res.ID); err != nil || !before {
		return time.Time{}, false
	}
	t, ok, err := st.Oldest(ctx, rep.Table, rep.Strategy.Field)
	if err != nil || !ok {
		return time.Time{}, false
	}
	return t, true
}

// windowRequest passes a report run's window or full refresh to its
// extraction. A replaced table is rebuilt from a full read every run: a
// window would replace it with part of the data, so it gets none.
func windowRequest(rr ReportRun, req *extract.Request) {
	if rr.Mode == schema.Replace {
		return
	}
	req.Since, req.Until, req.FullRefresh = rr.Since, rr.Until, rr.FullRefresh
}

// backfillWidened follows an ordinary run of an incremental report. It
// records where the report's loaded range starts (the configured start, on
// the first load or on a file from before loaded_from existed); and when
// start_date has since been moved earlier than that, it reads the missing
// range [start_date, loaded_from) as a run of its own (trigger backfill),
// which never moves the bookmark back, and then records the new start. A
// range Close no longer holds (event log entries older than 30 days) is
// reported in a warning instead. A full refresh records the start date.
func (r *Runner) backfillWidened(ctx context.Context, job Job, rr ReportRun, res Result, log *zap.Logger) *Result {
	rep := rr.Report
	st := r.Store
	if rep.Method != extract.Incremental || rr.Mode == schema.Replace || !rr.Since.IsZero() || ctx.Err() != nil {
		return nil
	}
	now := time.Now()
	start := rep.StartOf(job.StartDate, now)
	if rr.FullRefresh {
		// Everything since the start date was read again.
		if res.Status == runlog.Success {
			if _, err := st.SetLoadedFrom(ctx, job.Account, rep.Name, schema.BookmarkAt(start), false); err != nil {
				log.Warn("loaded range not recorded", zap.Error(err))
			}
		}
		return nil
	}
	loaded, known, err := st.LoadedFrom(ctx, job.Account, rep.Name)
	if err != nil {
		log.Warn("loaded range not read; a widened start_date is not backfilled this run", zap.Error(err))
		return nil
	}
	from := loaded.Time()
	if !known {
		// The first load (from start), or a file written before
		// loaded_from existed: then the oldest row loaded tells.
		if from, known = r.oldestLoaded(ctx, job, rr, res); !known || !start.Before(from) {
			if _, err := st.SetLoadedFrom(ctx, job.Account, rep.Name, schema.BookmarkAt(start), true); err != nil {
				log.Warn("loaded range not recorded", zap.Error(err))
			}
			return nil
		}
		log.Info("no loaded range recorded (a file from an older closesync): it starts at the oldest row loaded", zap.Time("loaded_from", from))
	}
	if !start.Before(from) || res.Status != runlog.Success {
		return nil
	}
	fix := fmt.Sprintf("closesync sync --since %s --until %s --job %s --report %s", start.Format(time.DateOnly),
		from.Format(time.DateOnly), job.Name, rep.Name)
	since := start
	if rep.Has(extract.ApplyEventDeletes) {
		oldest := now.Add(-eventLogRetention)
		if !from.After(oldest) {
			log.Warn("start_date is earlier than "+rep.Name+" was first loaded from, but Close keeps events for 30 days only: "+
				"nothing older can be read; deletions older than that are found by 'closesync sync --reconcile'",
				zap.Time("start_date", start), zap.Time("loaded_from", from))
			if _, err := st.SetLoadedFrom(ctx, job.Account, rep.Name, schema.BookmarkAt(start), false); err != nil {
				log.Warn("loaded range not recorded", zap.Error(err))
			}
			return nil
		}
		if since.Before(oldest) {
			log.Warn("Close keeps events for 30 days only: the backfill reads the last 30 days; deletions older than that "+
				"are found by 'closesync sync --reconcile'", zap.Time("start_date", start))
			since = oldest
		}
	}
	log.Warn("start_date is earlier than the report was first loaded from: backfilling the missing range (the bookmark stays)",
		zap.Time("since", since), zap.Time("until", from))
	bf := rr
	bf.Since, bf.Until = since, from
	b := r.runReport(ctx, job, bf, runlog.Backfill)
	if b.Status != runlog.Success {
		log.Error("backfill of the widened start_date failed; the next run tries again, or run: "+fix, zap.Error(b.Err))
		return &b
	}
	if _, err := st.SetLoadedFrom(ctx, job.Account, rep.Name, schema.BookmarkAt(start), false); err != nil {
		log.Warn("loaded range not recorded; the next run reads the range again", zap.Error(err))
	}
	return &b
}
