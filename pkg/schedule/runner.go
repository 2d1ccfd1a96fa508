package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// Store is what a run needs from the database (*load.Store).
type Store interface {
	EnsureTable(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error
	BeginRun(ctx context.Context, info load.RunInfo) (int64, error)
	Bookmark(ctx context.Context, account, org, report string) (schema.Bookmark, bool, error)
	Apply(ctx context.Context, run load.Run, t schema.Table, mode schema.WriteMode, b load.Batch, c load.Counters) (int64, error)
	StartReplace(ctx context.Context, t schema.Table, org string) error
	FinishReplace(ctx context.Context, run load.Run, t schema.Table) (int64, error)
	FinishRun(ctx context.Context, id int64, status string, c load.Counters, errMsg string) error
}

// eventLogReport is the report whose deletion events soft-delete rows.
const eventLogReport = "event_log"

// deleter is implemented by stores that apply the event log's deletions.
type deleter interface {
	ApplyDeletes(ctx context.Context, run load.Run, eventTable string, tables []schema.Table, deletedIDs *[]string) (int64, error)
}

// deleteRules are the catalog's tables that declare which events delete
// their rows (schema.Table.Deletes).
func deleteRules() []schema.Table {
	return extract.DeletableTables()
}

// viewRefresher is implemented by stores that keep <table>_custom views,
// rebuilt after custom field definitions or custom-bearing tables change.
type viewRefresher interface {
	RefreshCustomViews(ctx context.Context, definitions string, tables []schema.Table) error
}

// ExtractFunc streams a report's batches (extract.Extract with a client).
type ExtractFunc func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error

// Job is a configured job resolved against the catalog.
type Job struct {
	Name      string
	Account   string
	StartDate time.Time
	Reports   []ReportRun
	// Params fill {organization_id} and {user_id} in report sources.
	Params map[string]string
	// HardDeletes removes rows deleted in Close instead of keeping them
	// with _deleted_at (config deletes: hard).
	HardDeletes bool
	// Organization tells the account's Close organization when Params
	// names none (from /me/, asked once per account). Every row the job
	// writes carries it. Nil: Params' or "".
	Organization func(ctx context.Context) (string, error)
}

// ReportRun is one report of a job with its options.
type ReportRun struct {
	Report *extract.Report // a root report (children are written with it)
	Mode   schema.WriteMode
	Window time.Duration
	// Since, Until and FullRefresh re-read part or all of the report
	// without moving its bookmark back (see backfill.go).
	Since, Until time.Time
	FullRefresh  bool
	// listed, when set, collects the ids of every record the walk read
	// (a full refresh's listing, reconciled afterwards).
	listed *[]string
}

// Result is the outcome of one report run.
type Result struct {
	RunID    int64
	Job      string
	Report   string
	Account  string
	Status   string
	Rows     int64 // rows written (a replace: rows swapped in, 0 when it never was)
	Extract  int64 // records extracted
	Deleted  int64 // rows soft-deleted
	Requests int64
	Retries  int64
	Started  time.Time
	Duration time.Duration
	Err      error
	// Bookmark is the last bookmark the run committed ("" if none).
	Bookmark string
	// Changes are the keys the run created and updated, when the Runner
	// collects them (committed batches only).
	Changes load.Changes
	// Deletions are the keys the event log run soft-deleted, when the
	// Runner collects changes.
	Deletions []string
	// Followup is a run this one led to, recorded with FollowupTrigger: the
	// backfill of a widened start_date, or a full refresh's reconcile.
	Followup        *Result
	FollowupTrigger string
}

// Runner runs jobs against one store.
type Runner struct {
	Store   Store
	Extract func(account string) (ExtractFunc, error)
	Log     *zap.Logger
	// Progress, when set, is called after every committed batch.
	Progress func(job, report string, rows int64)
	// BatchRows is how many records one transaction commits at most
	// (default DefaultBatchRows).
	BatchRows int
	// CollectChanges fills Result.Changes (for change notifications).
	CollectChanges bool

	breaker breaker // accounts whose remaining reports are skipped
}

// withOrg returns the job with Params["organization_id"] set to the
// account's organization, which every row the job writes carries.
func (r *Runner) withOrg(ctx context.Context, job Job) (Job, error) {
	if job.Params["organization_id"] != "" || job.Organization == nil {
		return job, nil
	}
	org, err := job.Organization(ctx)
	if err != nil {
		return job, fmt.Errorf("tell the organization of account %s: %w", job.Account, err)
	}
	if org == "" {
		return job, fmt.Errorf("account %s: /me/ names no organization: set organization_id on the account", job.Account)
	}
	params := map[string]string{}
	for k, v := range job.Params {
		params[k] = v
	}
	params["organization_id"] = org
	job.Params = params
	return job, nil
}

// DefaultBatchRows bounds a transaction; at about 2 KB a lead it keeps a
// batch near 10 MB.
const DefaultBatchRows = 5000

// maxBatchAge flushes a partial batch so a slow run still commits progress.
const maxBatchAge = 5 * time.Second

func (r *Runner) batchRows() int {
	if r.BatchRows > 0 {
		return r.BatchRows
	}
	return DefaultBatchRows
}

// RunJob runs every report of the job in order. It returns one result per
// report; a failed report does not stop the others, but cancellation does,
// and so does an account found unusable (a rejected key, an unreachable
// API): the account's remaining reports of this Runner fail at once with a
// SkippedError, recorded in their run rows.
func (r *Runner) RunJob(ctx context.Context, job Job, trigger string) []Result {
	var out []Result
	for _, rr := range job.Reports {
		if ctx.Err() != nil {
			out = append(out, Result{Job: job.Name, Report: rr.Report.Name, Status: load.StatusCancelled, Err: context.Cause(ctx)})
			continue
		}
		if why := r.breaker.tripped(job.Account); why != nil {
			out = append(out, r.skipReport(ctx, job, rr, trigger, why))
			continue
		}
		res := r.RunReport(ctx, job, rr, trigger)
		r.breaker.trip(job.Account, rr.Report.Name, res.Err)
		out = append(out, res)
	}
	return out
}

// RunReport runs one report: a sync.runs row from start to finish, batches
// committed with their bookmark, and the outcome logged once.
func (r *Runner) RunReport(ctx context.Context, job Job, rr ReportRun, trigger string) Result {
	rep := rr.Report
	log := r.Log.With(zap.String("job", job.Name), zap.String("report", rep.Name), zap.String("account", job.Account))
	start := time.Now()
	res := Result{Job: job.Name, Report: rep.Name, Account: job.Account, Started: start}
	job, orgErr := r.withOrg(ctx, job)
	org := job.Params["organization_id"]
	beginCtx := ctx
	if orgErr != nil {
		// The organization could not be told (a job's timeout may have
		// ended ctx meanwhile): the failed run is still recorded, as
		// FinishRun records a cancelled one.
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		beginCtx = c
	}
	id, err := r.Store.BeginRun(beginCtx, load.RunInfo{Job: job.Name, Report: rep.Name, Account: job.Account, Trigger: trigger, Org: org})
	if err != nil {
		res.Status, res.Err = load.StatusFailed, namedDeadline(ctx, err)
		log.Error("run could not start", zap.Error(err))
		return res
	}
	res.RunID = id
	log = log.With(zap.Int64("run_id", id))
	stats := &closeapi.Stats{}
	err = orgErr
	if err == nil {
		err = r.runReport(closeapi.WithStats(ctx, stats), job, rr, id, stats, &res, log)
	}
	r.finish(ctx, &res, stats, err, log)
	if res.Status == load.StatusSuccess && rep.Name == eventLogReport {
		if d, ok := r.Store.(deleter); ok {
			var ids *[]string
			if r.CollectChanges {
				ids = &res.Deletions
			}
			n, err := d.ApplyDeletes(ctx, load.Run{ID: id, Account: job.Account, Org: org, Report: rep.Name}, rep.Table.Name, deleteRules(), ids)
			if err != nil {
				// The events are stored; the next event_log run applies them.
				log.Error("deletes from the event log not applied", zap.Error(err))
			}
			res.Deleted = n
			if err == nil && job.HardDeletes {
				r.purge(ctx, org, log)
			}
		}
	}
	if res.Status == load.StatusSuccess && (rep.Custom || rep.Name == "custom_fields") {
		if vr, ok := r.Store.(viewRefresher); ok {
			// The data landed; a view that cannot be rebuilt is logged, not
			// a failed run.
			if err := vr.RefreshCustomViews(ctx, extract.CustomFieldsReport, extract.CustomViewTables()); err != nil {
				log.Error("custom field views not refreshed", zap.Error(err))
			}
		}
	}
	fields := []zap.Field{zap.String("status", res.Status), zap.Int64("rows_extracted", res.Extract), zap.Int64("rows_upserted", res.Rows),
		zap.Int64("rows_deleted", res.Deleted),
		zap.Int64("requests", res.Requests), zap.Int64("retries", res.Retries), zap.Duration("duration", res.Duration)}
	switch res.Status {
	case load.StatusFailed:
		log.Error("run failed", append(fields, zap.Error(res.Err))...)
	default:
		log.Info("run finished", fields...)
	}
	if b := r.backfillWidened(ctx, job, rr, res, log); b != nil {
		res.Followup, res.FollowupTrigger = b, TriggerBackfill
	}
	return res
}

func (r *Runner) runReport(ctx context.Context, job Job, rr ReportRun, id int64, stats *closeapi.Stats, res *Result, log *zap.Logger) error {
	rep := rr.Report
	org := job.Params["organization_id"]
	ext, err := r.Extract(job.Account)
	if err != nil {
		return configError{err}
	}
	if err := r.Store.EnsureTable(ctx, rep.Table, rr.Mode, org); err != nil {
		return configError{err}
	}
	req := extract.Request{Report: rep, StartDate: job.StartDate, Window: rr.Window, Now: time.Now(), Params: job.Params,
		Warn: func(msg string) { log.Warn(msg) }}
	if rr.Mode != schema.Replace {
		// A replaced table is rebuilt from a full read: no bookmark.
		bm, _, err := r.Store.Bookmark(ctx, job.Account, org, rep.Name)
		if err != nil {
			return err
		}
		req.Bookmark = bm.String()
	} else if err := r.Store.StartReplace(ctx, rep.Table, org); err != nil {
		return err
	}
	windowRequest(rr, &req)
	if ids, err := r.editedActivities(ctx, job, rr, req); err != nil {
		log.Warn("edited activities not looked up; they are read when their next edit falls in the window", zap.Error(err))
	} else if len(ids) > 0 {
		req.Refetch = ids
		log.Info("re-reading activities edited after their attribution window", zap.Int("activities", len(ids)))
	}
	run := load.Run{ID: id, Account: job.Account, Org: org, Report: rep.Name}
	// Pages are committed in groups: each transaction has a fixed cost, and
	// the newest-version check scans the table, so one per API page would
	// make a large first sync quadratic. A group is flushed by size or age,
	// so progress stays durable under a slow, rate-limited API.
	var pending load.Batch
	var staged int64 // rows in a replace's shadow: written only once swapped in
	lastFlush := time.Now()
	flush := func() error {
		if len(pending.Records) == 0 && pending.Bookmark.IsZero() {
			return nil
		}
		if r.CollectChanges {
			pending.Changes = &res.Changes
		}
		n, err := r.Store.Apply(ctx, run, rep.Table, rr.Mode, pending, load.Counters{Requests: stats.Requests.Load(), Retries: stats.Retries.Load()})
		if err != nil {
			return err
		}
		if rr.Mode == schema.Replace {
			staged += n
		} else {
			res.Rows += n
		}
		res.Extract += int64(len(pending.Records))
		if !pending.Bookmark.IsZero() {
			res.Bookmark = pending.Bookmark.String()
		}
		pending, lastFlush = load.Batch{}, time.Now()
		if r.Progress != nil {
			r.Progress(job.Name, rep.Name, res.Rows+staged)
		}
		return nil
	}
	emit := func(b extract.Batch) error {
		if rr.listed != nil {
			ids, err := extract.RecordIDs(rep, b)
			if err != nil {
				return err
			}
			*rr.listed = append(*rr.listed, ids...)
		}
		pending.Records = append(pending.Records, b.Records...)
		if b.Bookmark != "" && rr.Mode != schema.Replace {
			bm, err := schema.ParseBookmark(b.Bookmark)
			if err != nil {
				return fmt.Errorf("%s: %w", rep.Name, err)
			}
			pending.Bookmark = bm
		}
		if len(pending.Records) >= r.batchRows() || time.Since(lastFlush) >= maxBatchAge {
			return flush()
		}
		return nil
	}
	err = ext(ctx, req, emit)
	if err != nil {
		// Whole pages already read are valid data with a valid bookmark:
		// keep them unless the run was cancelled.
		if ctx.Err() == nil {
			if ferr := flush(); ferr != nil {
				log.Warn("could not save the pages read before the error", zap.Error(ferr))
			}
		}
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if rr.Mode == schema.Replace {
		if err := r.confirmEmpty(ctx, rep, org, res, log, func() error {
			if err := ext(ctx, req, emit); err != nil {
				return err
			}
			return flush()
		}); err != nil {
			return err
		}
		if _, err := r.Store.FinishReplace(ctx, run, rep.Table); err != nil {
			return fmt.Errorf("replace %s: %w", rep.Name, err)
		}
		res.Rows = staged
	}
	return nil
}

// rowCounter is implemented by stores that can say how many live rows a
// table holds (*load.Store), for the zero-row replace guard.
type rowCounter interface {
	StoredRows(ctx context.Context, t schema.Table, org string) (int64, error)
}

// confirmEmpty is the zero-row replace guard. A full refresh that read no
// record would empty its table, and a gateway or a backend in trouble can
// answer a well-formed empty page. So when the read found nothing and the
// table has live rows, the whole listing is read once more (reread: one
// request per source when it is empty again) into the same shadow. The
// replace goes ahead only when that second read is again a well-formed
// listing: if it is empty again, the endpoint has answered an empty page
// twice and the table is emptied (with a warning); if it has records, they
// are what is swapped in. A second read that fails fails the run, and the
// old rows stay.
func (r *Runner) confirmEmpty(ctx context.Context, rep *extract.Report, org string, res *Result, log *zap.Logger, reread func() error) error {
	if res.Extract > 0 {
		return nil
	}
	rc, ok := r.Store.(rowCounter)
	if !ok {
		return nil
	}
	stored, err := rc.StoredRows(ctx, rep.Table, org)
	if err != nil || stored == 0 {
		return err
	}
	log.Warn("the full refresh read no records where the table has rows; reading it again before replacing",
		zap.Int64("stored_rows", stored))
	if err := reread(); err != nil {
		return fmt.Errorf("%s read no records where close.%s has %d; reading it again failed, the rows stay: %w",
			rep.Name, rep.Table.Name, stored, err)
	}
	if res.Extract == 0 {
		log.Warn("the endpoint answered an empty listing twice: the table is emptied", zap.Int64("rows_removed", stored))
	}
	return nil
}

// finish records a run's outcome in res and sync.runs: its status from err
// (cancelled when the run's own context ended it), counters and duration.
// namedDeadline names the deadline that ended ctx (a job's timeout) in err,
// rather than a bare "context deadline exceeded".
func namedDeadline(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

func (r *Runner) finish(ctx context.Context, res *Result, stats *closeapi.Stats, err error, log *zap.Logger) {
	res.Requests, res.Retries = stats.Requests.Load(), stats.Retries.Load()
	res.Duration = time.Since(res.Started)
	res.Status = load.StatusSuccess
	msg := ""
	if err != nil {
		err = namedDeadline(ctx, err)
		res.Err, res.Status, msg = err, load.StatusFailed, err.Error()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			res.Status = load.StatusCancelled
		}
	}
	if ferr := r.Store.FinishRun(ctx, res.RunID, res.Status, load.Counters{Requests: res.Requests, Retries: res.Retries}, msg); ferr != nil {
		log.Error("run outcome could not be recorded", zap.Error(ferr))
		if res.Err == nil {
			res.Err, res.Status = ferr, load.StatusFailed
		}
	}
}

// reconciler is implemented by stores that can mark rows missing from a
// complete id listing (*load.Store).
type reconciler interface {
	Reconcile(ctx context.Context, run load.Run, t schema.Table, ids []string, listedFrom time.Time, deletedIDs *[]string) (int64, error)
}

// purger is implemented by stores that remove soft-deleted rows.
type purger interface {
	PurgeDeleted(ctx context.Context, org string, tables []schema.Table) (int64, error)
}

// TriggerReconcile marks the runs of the reconciliation pass.
const TriggerReconcile = "reconcile"

// RunReconcile lists the ids of each of the job's reports that Close
// deletes and soft-deletes the rows whose objects no longer exist: the
// deletions the event log cannot tell (older than its 30 days, or missed
// while closesync was down). Each report is a run of its own with trigger
// reconcile; a listing that fails marks nothing.
func (r *Runner) RunReconcile(ctx context.Context, job Job) []Result {
	var out []Result
	for _, rr := range job.Reports {
		if !rr.Report.Reconcilable() {
			continue
		}
		if ctx.Err() != nil {
			out = append(out, Result{Job: job.Name, Report: rr.Report.Name, Status: load.StatusCancelled, Err: ctx.Err()})
			continue
		}
		if why := r.breaker.tripped(job.Account); why != nil {
			out = append(out, r.skipReport(ctx, job, rr, TriggerReconcile, why))
			continue
		}
		res := r.reconcileReport(ctx, job, rr)
		r.breaker.trip(job.Account, rr.Report.Name, res.Err)
		out = append(out, res)
	}
	if job.HardDeletes {
		if job, err := r.withOrg(ctx, job); err == nil {
			r.purge(ctx, job.Params["organization_id"], r.Log.With(zap.String("job", job.Name)))
		}
	}
	return out
}

func (r *Runner) reconcileReport(ctx context.Context, job Job, rr ReportRun) Result {
	start := time.Now()
	return r.reconcile(ctx, job, rr, start, func(ctx context.Context, job Job, log *zap.Logger) ([]string, error) {
		ext, err := r.Extract(job.Account)
		if err != nil {
			return nil, err
		}
		var ids []string
		req := extract.Request{Report: rr.Report, StartDate: job.StartDate, Now: start, Params: job.Params, IDsOnly: true,
			Warn: func(msg string) { log.Warn(msg) }}
		if err := ext(ctx, req, func(b extract.Batch) error {
			page, err := extract.RecordIDs(rr.Report, b)
			ids = append(ids, page...)
			return err
		}); err != nil {
			return nil, fmt.Errorf("list ids: %w", err)
		}
		return ids, nil
	})
}

// reconcile is one reconcile run of rr: list (given a context that counts
// its requests) names every object that exists, in a listing begun at
// listedFrom, and the rows of the job's organization it did not name are
// marked deleted. A listing that fails marks nothing.
func (r *Runner) reconcile(ctx context.Context, job Job, rr ReportRun, listedFrom time.Time,
	list func(ctx context.Context, job Job, log *zap.Logger) ([]string, error)) Result {
	rep := rr.Report
	log := r.Log.With(zap.String("job", job.Name), zap.String("report", rep.Name), zap.String("account", job.Account))
	res := Result{Job: job.Name, Report: rep.Name, Account: job.Account, Started: time.Now()}
	rc, ok := r.Store.(reconciler)
	if !ok {
		res.Status, res.Err = load.StatusFailed, errors.New("this store cannot reconcile")
		return res
	}
	job, orgErr := r.withOrg(ctx, job)
	org := job.Params["organization_id"]
	id, err := r.Store.BeginRun(ctx, load.RunInfo{Job: job.Name, Report: rep.Name, Account: job.Account, Trigger: TriggerReconcile, Org: org})
	if err != nil {
		res.Status, res.Err = load.StatusFailed, err
		return res
	}
	res.RunID = id
	stats := &closeapi.Stats{}
	err = func() error {
		if orgErr != nil {
			return orgErr
		}
		ids, err := list(closeapi.WithStats(ctx, stats), job, log)
		if err != nil {
			return err
		}
		var deleted *[]string
		if r.CollectChanges {
			deleted = &res.Deletions
		}
		n, err := rc.Reconcile(ctx, load.Run{ID: id, Account: job.Account, Org: org, Report: rep.Name}, rep.Table, ids, listedFrom, deleted)
		res.Extract, res.Deleted = int64(len(ids)), n
		return err
	}()
	r.finish(ctx, &res, stats, err, log)
	fields := []zap.Field{zap.String("status", res.Status), zap.Int64("ids_listed", res.Extract), zap.Int64("rows_deleted", res.Deleted),
		zap.Int64("requests", res.Requests), zap.Duration("duration", res.Duration)}
	if res.Err != nil {
		log.Error("reconcile finished", append(fields, zap.Error(res.Err))...)
	} else {
		log.Info("reconcile finished", fields...)
	}
	return res
}

// purge removes the organization's soft-deleted rows of every deletable
// table (deletes: hard); a failure is logged, and the rows stay marked until
// the next try.
func (r *Runner) purge(ctx context.Context, org string, log *zap.Logger) {
	p, ok := r.Store.(purger)
	if !ok {
		return
	}
	n, err := p.PurgeDeleted(ctx, org, deleteRules())
	if err != nil {
		log.Error("hard deletes not applied; the rows stay marked deleted", zap.Error(err))
		return
	}
	if n > 0 {
		log.Info("deleted rows removed (deletes: hard)", zap.Int64("rows", n))
	}
}

// activityEdits is implemented by stores that can tell which activities the
// stored event log reports edited.
type activityEdits interface {
	LastSuccessStart(ctx context.Context, job, report string) (time.Time, error)
	UpdatedActivities(ctx context.Context, eventTable, activityTable, org, typ string, storedSince, createdBefore time.Time) ([]string, error)
}

// editedActivities lists, for an activity report with a bookmark, the
// activities the event log reports edited since the report last ran and
// that its walk will not read (created before the walk's window), so that
// edits older than the attribution window are seen too.
func (r *Runner) editedActivities(ctx context.Context, job Job, rr ReportRun, req extract.Request) ([]string, error) {
	typ, ok := rr.Report.ActivityType()
	st, canAsk := r.Store.(activityEdits)
	if !ok || !canAsk || req.Bookmark == "" || rr.Mode == schema.Replace || req.FullRefresh {
		return nil, nil
	}
	since, err := st.LastSuccessStart(ctx, job.Name, rr.Report.Name)
	if err != nil || since.IsZero() {
		return nil, err
	}
	from, err := time.Parse(time.RFC3339Nano, req.Bookmark)
	if err != nil {
		return nil, nil // the extraction reports a bad bookmark
	}
	window := rr.Report.Strategy.Window
	if rr.Window > 0 {
		window = rr.Window
	}
	return st.UpdatedActivities(ctx, eventLogReport, rr.Report.Table.Name, job.Params["organization_id"], typ, since, from.Add(-window-rr.Report.Strategy.Overlap))
}
