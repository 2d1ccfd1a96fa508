package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/privacy"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

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
	// Concurrency is how many of the job's reports run at once (the
	// account's max_concurrency); 0 or 1: one after another. They share
	// the account's request budget, so requests in flight stay bounded by
	// it whatever this is.
	Concurrency int
	// ExportAbove is the account's export_above: a first run or full
	// refresh of leads or opportunities above this many records reads
	// Close's Export API (extract.Request.ExportAbove); 0 never does.
	ExportAbove int
	// OnSchemaChange is what a custom field change in Close does to the
	// _custom views: SchemaEvolve (or "") they follow it, SchemaFreeze they
	// stay, SchemaFail they stay and the custom_fields run fails. The
	// change is recorded in sync.schema_changes either way.
	OnSchemaChange string
}

// on_schema_change values.
const (
	SchemaEvolve = "evolve"
	SchemaFreeze = "freeze"
	SchemaFail   = "fail"
)

// ReportRun is one report of a job with its options.
type ReportRun struct {
	Report *extract.Report // a root report (children are written with it)
	Mode   schema.WriteMode
	Window time.Duration
	// FilterNulls drops the null-valued keys of each record's _raw
	// (filter_nulls; see package rawjson).
	FilterNulls bool
	// Privacy excludes or hashes fields of each record (exclude, hash;
	// package privacy); nil: none.
	Privacy *privacy.Spec
	// History keeps every version of the report's rows in its versions
	// table (upsert mode only; load.EnsureVersions).
	History bool
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
	runlog.Run
	// Changes are the keys the run created and updated, when the Runner
	// collects them (committed batches only).
	Changes load.Changes
	// Deletions are the keys the run soft-deleted (its ApplyEventDeletes
	// step, or a reconcile), when the Runner collects changes.
	Deletions []string
	// Followup is a run this one led to (its own Trigger tells which): the
	// backfill of a widened start_date, or a full refresh's reconcile.
	Followup *Result
	// Verification is what a verify run found (RunVerify); nil for other
	// runs.
	Verification *Verification
	// SchemaChanges are the custom field changes a run of custom_fields
	// found pending (New: recorded by this run); nil for other reports.
	SchemaChanges []load.SchemaChange
}

// Runner runs jobs against one store.
type Runner struct {
	Store   Store
	Extract func(account string) (ExtractFunc, error)
	// Plan gives an account's estimates of report runs (Close's counts),
	// for RunVerify; nil: verify lists ids where it can, and no more.
	Plan func(account string) (PlanFunc, error)
	Log  *zap.Logger
	// Watch is told how the runs go (a progress display); see Watch.
	Watch Watch
	// BatchRows is how many records one transaction commits at most
	// (default load.DefaultBatchRows).
	BatchRows int
	// CollectChanges fills Result.Changes and Result.Deletions (for change
	// notifications).
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

// RunJob runs the reports of the job, job.Concurrency at once (one
// after another when it is 0 or 1), never two runs of one report at once.
// It returns one result per report, in the job's order; a failed report
// does not stop the others, but cancellation does, and so does an account
// found unusable (a rejected key, an unreachable API): the account's
// reports of this Runner not yet started then fail at once with a
// SkippedError, recorded in their run rows.
func (r *Runner) RunJob(ctx context.Context, job Job, trigger runlog.Trigger) []Result {
	return r.eachReport(ctx, job, trigger, job.Reports, func(ctx context.Context, rr ReportRun) Result {
		return r.RunReport(ctx, job, rr, trigger)
	})
}

// eachReport runs run for each of reports, job.Concurrency at once, the
// heaviest first (startOrder), unless ctx has ended (cancelled, without a
// run row) or the account was found unusable (a skipped run). The first
// report to start sends its requests alone until it has read a page or
// ended, so that a dead key or an unreachable API fails one report and
// skips the others, as one after another would; the others start beside it
// and do what needs no request (their run rows and tables), and wait at a
// gate before their first request (gate.go). A report that reads the
// stored event log (RefetchEdited) starts only when the reports before it
// in the job that store the event log (ApplyEventDeletes) have ended, so it
// sees the edits they stored, as one after another would. The reports
// share their reads of the custom field lists (extract.WithSharedLists).
// Results are in the order of reports.
func (r *Runner) eachReport(ctx context.Context, job Job, trigger runlog.Trigger, reports []ReportRun, run func(context.Context, ReportRun) Result) []Result {
	ctx = extract.WithSharedLists(ctx)
	out := make([]Result, len(reports))
	n := max(job.Concurrency, 1)
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	var locks reportLocks
	ended := make([]chan struct{}, len(reports))
	for i := range ended {
		ended[i] = make(chan struct{})
	}
	var lead *first          // the first report's, when others start beside it (gate.go)
	var prev <-chan struct{} // the last started report is set up
	for k, i := range startOrder(reports) {
		rr := reports[i]
		taken := false
		select {
		case slots <- struct{}{}:
			taken = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if taken {
				<-slots
			}
			out[i] = Result{Run: runlog.Run{Job: job.Name, Report: rr.Report.Name, Account: job.Account, Trigger: trigger, Status: runlog.Cancelled, Err: context.Cause(ctx)}}
			close(ended[i])
			continue
		}
		if why := r.breaker.tripped(job.Account); why != nil {
			out[i] = r.skipReport(ctx, job, rr, trigger, why)
			<-slots
			close(ended[i])
			continue
		}
		// The reports it must follow started before it (slots are taken
		// in order), so waiting on them holds no slot they need.
		var after []chan struct{}
		for _, j := range waitsFor(reports, i) {
			after = append(after, ended[j])
		}
		rctx := ctx
		switch {
		case k == 0 && n > 1 && len(reports) > 1:
			lead = newFirst()
			rctx, prev = context.WithValue(ctx, firstKey{}, lead), lead.ready
		case lead != nil:
			g := newGate(lead, prev, job.Account, &r.breaker)
			rctx, prev = context.WithValue(ctx, gateKey{}, g), g.ready
		}
		wg.Go(func() {
			defer close(ended[i])
			defer func() { <-slots }()
			defer runEnded(rctx)
			for _, ch := range after {
				<-ch
			}
			unlock := locks.lock(rr.Report.Name)
			defer unlock()
			res := run(rctx, rr)
			r.breaker.trip(job.Account, rr.Report.Name, res.Err)
			out[i] = res
		})
	}
	wg.Wait()
	return out
}

// reportLocks keeps two runs of one report (by name) from overlapping.
type reportLocks struct {
	mu    sync.Mutex
	names map[string]*sync.Mutex
}

func (l *reportLocks) lock(name string) (unlock func()) {
	l.mu.Lock()
	if l.names == nil {
		l.names = map[string]*sync.Mutex{}
	}
	m := l.names[name]
	if m == nil {
		m = &sync.Mutex{}
		l.names[name] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// RunReport runs one report: a sync.runs row from start to finish, batches
// committed with their bookmark, the report's declared steps, and the
// outcome logged once.
func (r *Runner) RunReport(ctx context.Context, job Job, rr ReportRun, trigger runlog.Trigger) Result {
	res := r.runReport(ctx, job, rr, trigger)
	if res.ID != 0 {
		r.Watch.ended(res)
	}
	return res
}

// runReport is RunReport without telling Watch.Ended (a backfill is told
// as its run's Followup).
func (r *Runner) runReport(ctx context.Context, job Job, rr ReportRun, trigger runlog.Trigger) Result {
	s, ok := r.begin(ctx, job, rr, trigger)
	if !ok {
		return s.res
	}
	r.finish(ctx, s, s.do(ctx, r.walk))
	if s.res.Status == runlog.Success {
		if err := r.runSteps(ctx, s); err != nil {
			r.finish(ctx, s, err) // the rows stay; the run is failed
		}
	}
	res := s.res
	fields := []zap.Field{zap.String("status", string(res.Status)), zap.Int64("rows_extracted", res.RowsExtracted), zap.Int64("rows_upserted", res.RowsUpserted),
		zap.Int64("rows_deleted", res.RowsDeleted),
		zap.Int64("requests", res.Requests), zap.Int64("retries", res.Retries), zap.Duration("duration", res.Duration())}
	switch res.Status {
	case runlog.Failed:
		s.log.Error("run failed", append(fields, zap.String("stage", string(StageOf(res.Err))), zap.Error(res.Err))...)
	default:
		s.log.Info("run finished", fields...)
	}
	if b := r.backfillWidened(ctx, s.job, rr, res, s.log); b != nil {
		res.Followup = b
	}
	return res
}

// run is one run in progress: the job with its organization told, the
// sync.runs row it writes and the requests it made.
type run struct {
	job   Job
	rr    ReportRun
	org   string
	row   load.Run
	res   Result
	stats *closeapi.Stats
	watch *closeapi.Watch // the Runner's Watch.Started's, or nil
	log   *zap.Logger
	// orgErr is why the organization could not be told: the run fails.
	orgErr error
}

// begin is the start of every run: it tells the job's organization and
// writes the run's sync.runs row. When the row cannot be written it
// returns false, with the failed result.
func (r *Runner) begin(ctx context.Context, job Job, rr ReportRun, trigger runlog.Trigger) (*run, bool) {
	rep := rr.Report
	s := &run{rr: rr, stats: &closeapi.Stats{},
		log: r.Log.With(zap.String("job", job.Name), zap.String("report", rep.Name), zap.String("account", job.Account)),
		res: Result{Run: runlog.Run{Job: job.Name, Report: rep.Name, Account: job.Account, Trigger: trigger, StartedAt: time.Now()}}}
	s.job, s.orgErr = job, awaitSetUp(ctx)
	if s.orgErr == nil {
		s.job, s.orgErr = r.withOrg(ctx, job)
	}
	s.org = s.job.Params["organization_id"]
	if s.orgErr != nil && ctx.Err() != nil && heldBack(ctx) {
		// Held at the gate until the job ended: not started, as a report
		// still waiting for its slot is not (no run row).
		s.res.Status, s.res.Err = runlog.Cancelled, context.Cause(ctx)
		return s, false
	}
	beginCtx := ctx
	if s.orgErr != nil {
		// The organization could not be told (a job's timeout may have
		// ended ctx meanwhile): the failed run is still recorded, as
		// FinishRun records a cancelled one.
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		beginCtx = c
	}
	id, err := r.Store.BeginRun(beginCtx, load.RunInfo{Job: job.Name, Report: rep.Name, Account: job.Account, Trigger: trigger, Org: s.org})
	if err != nil {
		s.res.Status, s.res.Err = runlog.Failed, namedDeadline(ctx, &StageError{Stage: StageLoad, Report: rep.Name, Err: err})
		s.log.Error("run could not start", zap.Error(err))
		return s, false
	}
	s.res.ID = id
	s.row = load.Run{ID: id, Account: job.Account, Org: s.org, Report: rep.Name}
	s.log = s.log.With(zap.Int64("run_id", id))
	s.watch = r.Watch.started(job.Name, rep.Name)
	return s, true
}

// do runs the body of a begun run with a context counting its requests.
func (s *run) do(ctx context.Context, body func(ctx context.Context, s *run) error) error {
	if s.orgErr != nil {
		return staged(StageExtract, s.rr.Report.Name, s.orgErr)
	}
	return body(closeapi.WithWatch(closeapi.WithStats(ctx, s.stats), s.watch), s)
}

// counters are the run's request counters so far.
func (s *run) counters() load.Counters {
	return load.Counters{Requests: s.stats.Requests.Load(), Retries: s.stats.Retries.Load()}
}

// finish records a run's outcome in its result and sync.runs: its status
// from err (cancelled when the run's own context ended it), counters and
// duration.
func (r *Runner) finish(ctx context.Context, s *run, err error) {
	res := &s.res
	c := s.counters()
	res.Requests, res.Retries = c.Requests, c.Retries
	finished := time.Now()
	res.FinishedAt = &finished
	res.Status = runlog.Success
	msg := ""
	if skipped := (*SkippedError)(nil); errors.As(err, &skipped) {
		err = skipped // a run held at the gate and then skipped says why, as skipReport's does
	}
	if err != nil {
		err = namedDeadline(ctx, err)
		res.Err, res.Status, msg = err, runlog.Failed, err.Error()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			res.Status = runlog.Cancelled
		}
	}
	if ferr := r.Store.FinishRun(ctx, res.ID, res.Status, c, msg); ferr != nil {
		s.log.Error("run outcome could not be recorded", zap.Error(ferr))
		if res.Err == nil {
			res.Err, res.Status = &StageError{Stage: StageLoad, Report: res.Report, Err: ferr}, runlog.Failed
		}
	}
}
