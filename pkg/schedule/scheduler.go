package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Trigger values recorded in sync.runs.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerStartup  = "startup"
)

// Opener opens the database for a run. The returned func closes it.
type Opener func(ctx context.Context) (Store, func() error, error)

// ScheduledJob is a job with its cron schedule.
type ScheduledJob struct {
	Job
	Schedule string         // 5-field cron or a descriptor (@hourly, @every 1h)
	Location *time.Location // nil: local time
	Timeout  time.Duration  // 0: no limit
	// Entry distinguishes the schedule entries of one job: reports with
	// their own schedule run as entries of their own ("job/report"). Empty
	// means the job's name. An entry never overlaps itself.
	Entry string
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

// Pool owns what outlives a config reload: the runs in progress, the set of
// running jobs (so no job overlaps itself, even across a reload) and the
// database handle, opened when the first run starts and closed when the
// last one ends so that readers can use the file between runs. DuckDB
// allows one writer per file, so concurrent runs share one handle.
type Pool struct {
	open Opener
	log  *zap.Logger
	// OnResult, when set before the first run, is called with every
	// finished report run (for metrics and the status endpoint).
	OnResult func(trigger string, res Result)

	ctx     context.Context // parent of every run; cancelled by Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running sync.Map // job name -> struct{}

	mu      sync.Mutex
	refs    int
	store   Store
	closeFn func() error
}

// NewPool returns a pool opening the database with open.
func NewPool(open Opener, log *zap.Logger) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{open: open, log: log, ctx: ctx, cancel: cancel}
}

// Stop cancels every run (each stops at a batch boundary and records its
// run as cancelled) and waits for them up to grace.
func (p *Pool) Stop(grace time.Duration) error {
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

// RunNow starts a job in the background unless it is running (ErrRunning).
func (p *Pool) RunNow(job ScheduledJob, extract func(string) (ExtractFunc, error), trigger string) error {
	if _, busy := p.running.LoadOrStore(job.key(), struct{}{}); busy {
		return ErrRunning
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.running.Delete(job.key())
		p.run(job, extract, trigger)
	}()
	return nil
}

// tick is a scheduled start: skipped, and logged, while the job runs.
func (p *Pool) tick(job ScheduledJob, extract func(string) (ExtractFunc, error)) {
	if p.ctx.Err() != nil {
		return
	}
	if _, busy := p.running.LoadOrStore(job.key(), struct{}{}); busy {
		p.log.Warn("job still running: skipping this tick", zap.String("job", job.key()))
		return
	}
	p.wg.Add(1)
	defer p.wg.Done()
	defer p.running.Delete(job.key())
	p.run(job, extract, TriggerSchedule)
}

func (p *Pool) run(job ScheduledJob, extract func(string) (ExtractFunc, error), trigger string) {
	ctx := p.ctx
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	store, err := p.acquire(ctx)
	if err != nil {
		p.log.Error("job could not open the database", zap.String("job", job.Name), zap.Error(err))
		return
	}
	defer p.release()
	r := &Runner{Store: store, Extract: extract, Log: p.log}
	for _, res := range r.RunJob(ctx, job.Job, trigger) {
		if p.OnResult != nil && res.RunID != 0 {
			p.OnResult(trigger, res)
		}
	}
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
	extract func(string) (ExtractFunc, error)
	jobs    map[string]ScheduledJob
}

// NewScheduler schedules jobs in pool; Start begins.
func NewScheduler(pool *Pool, jobs []ScheduledJob, extract func(string) (ExtractFunc, error)) (*Scheduler, error) {
	s := &Scheduler{pool: pool, extract: extract, jobs: map[string]ScheduledJob{},
		// Recover first: a panicking run must not kill the daemon (cron's
		// default chain does not recover, whatever its doc says).
		cron: cron.New(cron.WithChain(cron.Recover(cronLogger{pool.log})), cron.WithLogger(cronLogger{pool.log}))}
	for _, j := range jobs {
		spec := j.Schedule
		if j.Location != nil {
			spec = "CRON_TZ=" + j.Location.String() + " " + spec
		}
		job := j
		if _, err := s.cron.AddFunc(spec, func() { pool.tick(job, extract) }); err != nil {
			return nil, fmt.Errorf("job %s: schedule %q: %w", j.key(), j.Schedule, err)
		}
		s.jobs[j.key()] = j
	}
	return s, nil
}

// Start begins scheduling in the background.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops starting runs; runs in progress go on in the pool.
func (s *Scheduler) Stop() { s.cron.Stop() }

// RunNow runs the named job or "job/report" entry at once (ErrRunning if
// it runs; an error if there is no such entry).
func (s *Scheduler) RunNow(name, trigger string) error {
	j, ok := s.jobs[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoJob, name)
	}
	return s.pool.RunNow(j, s.extract, trigger)
}

// cronLogger adapts zap to cron's logger.
type cronLogger struct{ l *zap.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Sugar().Debugw("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Sugar().Errorw("cron: "+msg, append(kv, "error", err)...)
}
