package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
)

// Retry re-runs the failed reports of a run that a retry can fix
// (pipeline.Temporary; not the cancelled ones).
type Retry struct {
	Attempts int           // retries after the first try; 0: none
	Delay    time.Duration // before each retry
}

// Store is what the pool's runs need from the database (*load.Store): the
// pipeline's store and the run history catch-up reads.
type Store interface {
	pipeline.Store
	// LastSuccess is when the job's reports last all succeeded (zero:
	// never).
	LastSuccess(ctx context.Context, job string, reports []string) (time.Time, error)
}

// Opener opens the database for a run. The returned func closes it.
type Opener func(ctx context.Context) (Store, func() error, error)

// ScheduledJob is a job with its cron schedule.
type ScheduledJob struct {
	pipeline.Job
	Schedule string         // 5-field cron or a descriptor (@hourly, @every 1h)
	Location *time.Location // nil: local time
	Timeout  time.Duration  // 0: no limit
	// Entry distinguishes the schedule entries of one job: reports with
	// their own schedule run as entries of their own ("job/report"). Empty
	// means the job's name. An entry never overlaps itself.
	Entry string
	// RunOnStart runs the entry once when the daemon starts.
	RunOnStart bool
	// CatchUp runs the entry once when the daemon starts if its last
	// success is older than one interval of its schedule (a missed run
	// while the daemon was down), instead of waiting for the next tick.
	CatchUp bool
	Retry   Retry
	// Reconcile makes the entry the job's reconciliation pass (RunReconcile)
	// instead of a sync.
	Reconcile bool
	// Verify makes the entry the job's verification (RunVerify) with Plan,
	// the accounts' estimates (Close's counts), instead of a sync.
	Verify bool
	Plan   func(account string) (pipeline.PlanFunc, error)
}

func (j ScheduledJob) key() string {
	if j.Entry != "" {
		return j.Entry
	}
	return j.Name
}

// ErrRunning reports that a job is already running.
var ErrRunning = errors.New("job is already running")

// ErrNoJob reports a run-now of a job the scheduler does not have.
var ErrNoJob = errors.New("no such job")

// ErrStopped reports a run-now after the pool was stopped.
var ErrStopped = errors.New("the scheduler is stopping: no new runs")

// Pool owns what outlives a config reload: the runs in progress, the set of
// running jobs (so no job overlaps itself, even across a reload) and the
// database handle, opened when the first run starts and closed when the
// last one ends so that readers can use the file between runs. DuckDB
// allows one writer per file, so concurrent runs share one handle.
type Pool struct {
	open Opener
	log  *zap.Logger
	// OnResult, when set before the first run, is called with every
	// finished report run (for metrics, the status endpoint and
	// notifications).
	OnResult func(res pipeline.Result)
	// collectChanges makes runs record the keys they create, update and
	// delete (SetCollectChanges; it may change on reload).
	collectChanges atomic.Bool

	ctx     context.Context // parent of every run; cancelled by Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running sync.Map // job name -> struct{}
	// startMu orders starting a run (stopped checked, then wg.Add) with
	// Stop (stopped set, then wg.Wait): no run starts once Stop waits.
	startMu sync.Mutex
	stopped bool

	mu      sync.Mutex
	refs    int
	store   Store
	closeFn func() error

	holds holds // the reports of the entries running now
}

// SetCollectChanges sets whether runs started from now on record the keys
// they change (for change notifications).
func (p *Pool) SetCollectChanges(on bool) { p.collectChanges.Store(on) }

// NewPool returns a pool opening the database with open.
func NewPool(open Opener, log *zap.Logger) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{open: open, log: log, ctx: ctx, cancel: cancel}
}

// Stop cancels every run (each stops at a batch boundary and records its
// run as cancelled) and waits for them up to grace. No run starts once
// Stop is called: a tick does nothing, RunNow returns ErrStopped.
func (p *Pool) Stop(grace time.Duration) error {
	p.startMu.Lock()
	p.stopped = true
	p.startMu.Unlock()
	p.cancel()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		return fmt.Errorf("runs still active after the %s grace period", grace)
	}
}

// Running reports whether the named job (or "job/report" entry) is running.
func (p *Pool) Running(job string) bool {
	_, ok := p.running.Load(job)
	return ok
}

// RunNow starts a job in the background unless it is running (ErrRunning)
// or the pool is stopped (ErrStopped).
func (p *Pool) RunNow(job ScheduledJob, extract func(string) (pipeline.ExtractFunc, error), trigger runlog.Trigger) error {
	if _, busy := p.running.LoadOrStore(job.key(), struct{}{}); busy {
		return ErrRunning
	}
	if !p.begin() {
		p.running.Delete(job.key())
		return ErrStopped
	}
	go func() {
		defer p.wg.Done()
		defer p.running.Delete(job.key())
		p.run(job, extract, trigger)
	}()
	return nil
}

// tick is a scheduled start: skipped, and logged, while the job runs.
func (p *Pool) tick(job ScheduledJob, extract func(string) (pipeline.ExtractFunc, error)) {
	if p.ctx.Err() != nil {
		return
	}
	if _, busy := p.running.LoadOrStore(job.key(), struct{}{}); busy {
		p.log.Warn("job still running: skipping this tick", zap.String("job", job.key()))
		return
	}
	if !p.begin() {
		p.running.Delete(job.key())
		return
	}
	defer p.wg.Done()
	defer p.running.Delete(job.key())
	p.run(job, extract, runlog.Schedule)
}

// begin counts a run starting (wg.Add) unless Stop has begun; a run it
// counts is waited for by Stop.
func (p *Pool) begin() bool {
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if p.stopped {
		return false
	}
	p.wg.Add(1)
	return true
}

// TimeoutError is the cause of a run's context that the job's timeout
// ended (context.Cause); it matches context.DeadlineExceeded.
type TimeoutError struct {
	Job   string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("job %s timed out after %s (its timeout)", e.Job, e.After)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// WithTimeout bounds a run of the job by its timeout (none when d <= 0);
// a run it ends fails with a *TimeoutError naming the job and the timeout.
func WithTimeout(ctx context.Context, job string, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, &TimeoutError{Job: job, After: d})
}

func (p *Pool) run(job ScheduledJob, extract func(string) (pipeline.ExtractFunc, error), trigger runlog.Trigger) {
	ctx, cancel := WithTimeout(p.ctx, job.key(), job.Timeout)
	defer cancel()
	// A verify runs only while no other entry writes its reports (it
	// skips otherwise, as a tick of a running entry does); a sync waits for
	// a verify of its reports to end.
	if job.Verify {
		release, ok := p.holds.try(job)
		if !ok {
			p.log.Warn("a run of the job's reports is going on: skipping this verify", zap.String("job", job.key()))
			return
		}
		defer release()
	} else {
		release, err := p.holds.wait(ctx, job)
		if err != nil {
			p.log.Warn("the run did not start: stopped or timed out while a verify of its reports ran", zap.String("job", job.key()), zap.Error(err))
			return
		}
		defer release()
	}
	failed := p.runOnce(ctx, job, extract, trigger)
	for attempt := 1; attempt <= job.Retry.Attempts && len(failed) > 0; attempt++ {
		names := make([]string, len(failed))
		for i, rr := range failed {
			names[i] = rr.Report.Name
		}
		p.log.Info("retrying failed reports", zap.String("job", job.key()), zap.Strings("reports", names),
			zap.Int("attempt", attempt), zap.Int("attempts", job.Retry.Attempts), zap.Duration("delay", job.Retry.Delay))
		// The database is closed while waiting, so readers can use it.
		select {
		case <-ctx.Done():
			return
		case <-time.After(job.Retry.Delay):
		}
		again := job
		again.Reports = failed
		failed = p.runOnce(ctx, again, extract, runlog.Retry)
	}
}

// runOnce runs the job's reports with the database open and returns the
// ones that failed (and may succeed on a retry).
func (p *Pool) runOnce(ctx context.Context, job ScheduledJob, extract func(string) (pipeline.ExtractFunc, error), trigger runlog.Trigger) []pipeline.ReportRun {
	store, err := p.acquire(ctx)
	if err != nil {
		p.log.Error("job could not open the database", zap.String("job", job.Name), zap.Error(err))
		return job.Reports
	}
	defer p.release()
	r := &pipeline.Runner{Store: store, Extract: extract, Log: p.log, CollectChanges: p.collectChanges.Load()}
	if job.Reconcile {
		for _, res := range r.RunReconcile(ctx, job.Job) {
			if p.OnResult != nil && res.ID != 0 {
				p.OnResult(res)
			}
		}
		return nil // the next pass tries again; no retry
	}
	if job.Verify {
		r.Plan = job.Plan
		for _, res := range r.RunVerify(ctx, job.Job) {
			if p.OnResult != nil && res.ID != 0 {
				p.OnResult(res)
			}
		}
		return nil // a difference is a finding, not a failure to retry
	}
	var failed []pipeline.ReportRun
	for i, res := range r.RunJob(ctx, job.Job, trigger) {
		if p.OnResult != nil && res.ID != 0 {
			p.OnResult(res)
		}
		if f := res.Followup; p.OnResult != nil && f != nil && f.ID != 0 {
			p.OnResult(*f) // a widened start_date's backfill
		}
		if res.Status == runlog.Failed && pipeline.Temporary(res.Err) {
			failed = append(failed, job.Reports[i])
		}
	}
	return failed
}

func (p *Pool) acquire(ctx context.Context) (Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs == 0 {
		st, closeFn, err := p.open(ctx)
		if err != nil {
			return nil, err
		}
		p.store, p.closeFn = st, closeFn
	}
	p.refs++
	return p.store, nil
}

func (p *Pool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refs--
	if p.refs == 0 {
		if err := p.closeFn(); err != nil {
			p.log.Error("close database", zap.Error(err))
		}
		p.store, p.closeFn = nil, nil
	}
}

// Scheduler is one config generation's cron: it starts its jobs' runs in a
// Pool. On reload a new Scheduler replaces it; runs in progress finish.
type Scheduler struct {
	pool    *Pool
	cron    *cron.Cron
	extract func(string) (pipeline.ExtractFunc, error)
	jobs    map[string]ScheduledJob
	// intervals holds each entry's schedule interval, for catch-up.
	intervals map[string]time.Duration
}

// NewScheduler schedules jobs in pool; Start begins.
func NewScheduler(pool *Pool, jobs []ScheduledJob, extract func(string) (pipeline.ExtractFunc, error)) (*Scheduler, error) {
	s := &Scheduler{pool: pool, extract: extract, jobs: map[string]ScheduledJob{}, intervals: map[string]time.Duration{},
		// Recover first: a panicking run must not kill the daemon (cron's
		// default chain does not recover, whatever its doc says).
		cron: cron.New(cron.WithChain(cron.Recover(cronLogger{pool.log})), cron.WithLogger(cronLogger{pool.log}))}
	for _, j := range jobs {
		// cron sees a zone prefix only at the very start; the spec's own
		// CRON_TZ= wins over the job's timezone, as validate warns.
		spec := strings.TrimSpace(j.Schedule)
		if j.Location != nil && !hasZonePrefix(spec) {
			spec = "CRON_TZ=" + j.Location.String() + " " + spec
		}
		job := j
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			return nil, fmt.Errorf("job %s: schedule %q: %w", j.key(), j.Schedule, err)
		}
		s.cron.Schedule(sched, cron.FuncJob(func() { pool.tick(job, extract) }))
		s.jobs[j.key()] = j
		s.intervals[j.key()] = interval(sched, time.Now())
	}
	return s, nil
}

// Start begins scheduling in the background.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops starting runs; runs in progress go on in the pool.
func (s *Scheduler) Stop() { s.cron.Stop() }

// RunNow runs the named job or "job/report" entry at once (ErrRunning if
// it runs; an error if there is no such entry).
func (s *Scheduler) RunNow(name string, trigger runlog.Trigger) error {
	j, ok := s.jobs[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoJob, name)
	}
	return s.pool.RunNow(j, s.extract, trigger)
}

// Startup starts, once, each entry that runs on start or has missed a run
// while the daemon was down (CatchUp): one run, however many ticks were
// missed. An entry's last success is when its reports last all succeeded,
// read from the pool's store (zero: never). Call it after Start, at daemon
// start only (not on reload).
func (s *Scheduler) Startup(now time.Time) {
	for _, key := range slices.Sorted(maps.Keys(s.jobs)) {
		j := s.jobs[key]
		why := ""
		switch {
		case j.RunOnStart:
			why = "run_on_start"
		case j.CatchUp:
			last, err := s.pool.lastSuccess(j)
			if err != nil {
				s.pool.log.Warn("catch-up check failed: waiting for the schedule", zap.String("job", key), zap.Error(err))
				continue
			}
			if interval := s.intervals[key]; last.IsZero() || now.Sub(last) > interval {
				why = "missed run: last success " + lastText(last) + ", interval " + interval.String()
			}
		}
		if why == "" {
			continue
		}
		s.pool.log.Info("starting a run at startup", zap.String("job", key), zap.String("reason", why))
		if err := s.pool.RunNow(j, s.extract, runlog.Startup); err != nil && !errors.Is(err, ErrRunning) {
			s.pool.log.Error("startup run", zap.String("job", key), zap.Error(err))
		}
	}
}

// lastSuccess reads when the entry's reports last all succeeded, sharing
// the store with any run already started.
func (p *Pool) lastSuccess(j ScheduledJob) (time.Time, error) {
	st, err := p.acquire(p.ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer p.release()
	names := make([]string, len(j.Reports))
	for i, rr := range j.Reports {
		names[i] = rr.Report.Name
	}
	return st.LastSuccess(p.ctx, j.Name, names)
}

func lastText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// interval is the time between two consecutive ticks of a schedule after
// now (for cron specs that vary, such as "0 9 * * 1-5", the next gap).
func interval(sched cron.Schedule, now time.Time) time.Duration {
	next := sched.Next(now)
	return sched.Next(next).Sub(next)
}

// cronLogger adapts zap to cron's logger.
type cronLogger struct{ l *zap.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Sugar().Debugw("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Sugar().Errorw("cron: "+msg, append(kv, "error", err)...)
}

// hasZonePrefix tells whether a spec sets its own zone (CRON_TZ= or TZ=).
func hasZonePrefix(spec string) bool {
	spec = strings.TrimSpace(spec)
	return strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=")
}
