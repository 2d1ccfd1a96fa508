package schedule

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
)

// The Pool tests run in a synctest bubble: time is fake and advances only
// when every goroutine of the test is blocked, so a cron tick, a retry
// delay or a grace period is exact and costs no wall-clock time.

// poolProbe is a pool over in-memory stores that records the times its
// job's extraction starts and the triggers of the finished runs.
type poolProbe struct {
	pool  *Pool
	opens atomic.Int32

	mu       sync.Mutex
	starts   []time.Duration // since t0
	triggers []string
	t0       time.Time
}

func newPoolProbe() *poolProbe {
	p := &poolProbe{t0: time.Now()}
	p.pool = NewPool(func(context.Context) (Store, func() error, error) {
		p.opens.Add(1)
		return newMemStore(), func() error { return nil }, nil
	}, zap.NewNop())
	p.pool.OnResult = func(r pipeline.Result) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.triggers = append(p.triggers, string(r.Trigger))
	}
	return p
}

// extract returns an extraction that notes its start and then runs body.
func (p *poolProbe) extract(body func(ctx context.Context) error) func(string) (pipeline.ExtractFunc, error) {
	return func(string) (pipeline.ExtractFunc, error) {
		return func(ctx context.Context, _ extract.Request, _ func(extract.Batch) error) error {
			p.mu.Lock()
			p.starts = append(p.starts, time.Since(p.t0))
			p.mu.Unlock()
			return body(ctx)
		}, nil
	}
}

func (p *poolProbe) startTimes() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.starts...)
}

func (p *poolProbe) runTriggers() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.triggers, ",")
}

func usersJob(schedule string) ScheduledJob {
	return ScheduledJob{Job: pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users")}}}, Schedule: schedule}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPoolRunsAJobOnItsCronTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		s, err := NewScheduler(p.pool, []ScheduledJob{usersJob("@every 1h")}, p.extract(func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if got := p.startTimes(); len(got) != 0 {
			t.Fatalf("runs before the first tick: %v", got)
		}
		time.Sleep(2*time.Hour + time.Minute)
		synctest.Wait()
		if got, want := p.startTimes(), []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}; !equalDurations(got, want) {
			t.Errorf("runs started at %v, want %v", got, want)
		}
		if got := p.runTriggers(); got != "schedule,schedule,schedule" {
			t.Errorf("triggers = %s", got)
		}
		s.Stop()
		if err := p.pool.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPoolSkipsTicksWhileTheJobRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		release := make(chan struct{})
		fn := p.extract(func(ctx context.Context) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		job := usersJob("@every 1h")
		s, err := NewScheduler(p.pool, []ScheduledJob{job}, fn)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		// The run of the first tick outlasts the next two.
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		if got, want := p.startTimes(), []time.Duration{time.Hour}; !equalDurations(got, want) {
			t.Errorf("runs started at %v, want %v (ticks while running are skipped, not queued)", got, want)
		}
		if !p.pool.Running("j") {
			t.Error("the job is not running")
		}
		if err := s.RunNow("j", runlog.Manual); !errors.Is(err, ErrRunning) {
			t.Errorf("run-now while running: %v, want ErrRunning", err)
		}
		close(release)
		synctest.Wait()
		if p.pool.Running("j") {
			t.Error("the job still runs after its extraction returned")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got, want := p.startTimes(), []time.Duration{time.Hour, 4 * time.Hour}; !equalDurations(got, want) {
			t.Errorf("runs started at %v, want %v (the next tick after the run runs)", got, want)
		}
		if n := p.opens.Load(); n != 2 {
			t.Errorf("database opened %d times, want once a run", n)
		}
		s.Stop()
		if err := p.pool.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPoolRetriesAfterTheirDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		fn := p.extract(func(context.Context) error { return errors.New("503 Service Unavailable") })
		job := usersJob("")
		job.Retry = Retry{Attempts: 2, Delay: 10 * time.Minute}
		if err := p.pool.RunNow(job, fn, runlog.Manual); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got, want := p.startTimes(), []time.Duration{0}; !equalDurations(got, want) {
			t.Errorf("tries before the delay: %v, want %v", got, want)
		}
		if n := p.opens.Load(); n != 1 || !p.pool.Running("j") {
			t.Errorf("opens = %d, running = %v: want the job waiting with the database closed", n, p.pool.Running("j"))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got, want := p.startTimes(), []time.Duration{0, 10 * time.Minute, 20 * time.Minute}; !equalDurations(got, want) {
			t.Errorf("tries at %v, want %v", got, want)
		}
		if got := p.runTriggers(); got != "manual,retry,retry" {
			t.Errorf("triggers = %s", got)
		}
		if p.pool.Running("j") {
			t.Error("still running after the last attempt")
		}
		if err := p.pool.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// stoppingRun is an extraction that, once cancelled, takes d to finish
// (its last batch) and then sets done.
func stoppingRun(d time.Duration, done *atomic.Bool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(d)
		done.Store(true)
		return ctx.Err()
	}
}

func TestPoolStopWaitsForRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		var done atomic.Bool
		if err := p.pool.RunNow(usersJob(""), p.extract(stoppingRun(30*time.Second, &done)), runlog.Manual); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		if err := p.pool.Stop(time.Minute); err != nil {
			t.Fatal(err)
		}
		if !done.Load() || p.pool.Running("j") {
			t.Errorf("Stop returned before the run ended (done %v, running %v)", done.Load(), p.pool.Running("j"))
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("Stop took %s, want the run's 30s", d)
		}
		if got := p.runTriggers(); got != "manual" {
			t.Errorf("finished runs %q, want the one run recorded", got)
		}
	})
}

func TestPoolStopGivesUpAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		var done atomic.Bool
		if err := p.pool.RunNow(usersJob(""), p.extract(stoppingRun(time.Minute, &done)), runlog.Manual); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		err := p.pool.Stop(10 * time.Second)
		if err == nil || !strings.Contains(err.Error(), "grace") {
			t.Errorf("Stop = %v, want a grace period error", err)
		}
		if d := time.Since(start); d != 10*time.Second || done.Load() {
			t.Errorf("Stop returned after %s (run done %v), want at the 10s grace with the run going on", d, done.Load())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if !done.Load() || p.pool.Running("j") {
			t.Error("the run did not finish after the grace")
		}
	})
}

func TestPoolStartsNothingAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoolProbe()
		fn := p.extract(func(context.Context) error { return nil })
		if err := p.pool.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
		if err := p.pool.RunNow(usersJob(""), fn, runlog.Manual); !errors.Is(err, ErrStopped) {
			t.Errorf("RunNow after Stop = %v, want ErrStopped", err)
		}
		p.pool.tick(usersJob("@every 1h"), fn)
		synctest.Wait()
		if n := p.opens.Load(); n != 0 || p.pool.Running("j") {
			t.Errorf("after Stop: %d opens, running %v; want nothing started", n, p.pool.Running("j"))
		}
	})
}

// TestPoolStopRacesStart starts runs (a cron tick, a run-now) while Stop
// runs: every run either starts before Stop waits, and Stop waits for it,
// or does not start at all; none opens the database after Stop returned.
// Before Pool.begin, a tick could pass its stopped check, let Stop's
// wg.Wait return, and then wg.Add (REVIEW.md §2). That window is a few
// instructions wide, so this stress test (real concurrency, no bubble)
// seldom lands in it; it guards begin's locking under -race, and
// TestPoolStartsNothingAfterStop pins the contract.
func TestPoolStopRacesStart(t *testing.T) {
	for range 100 {
		var stopped atomic.Bool
		var late atomic.Int32
		pool := NewPool(func(context.Context) (Store, func() error, error) {
			if stopped.Load() {
				late.Add(1)
			}
			return newMemStore(), func() error { return nil }, nil
		}, zap.NewNop())
		fn := func(string) (pipeline.ExtractFunc, error) {
			return func(context.Context, extract.Request, func(extract.Batch) error) error { return nil }, nil
		}
		var callers sync.WaitGroup
		callers.Go(func() { pool.tick(usersJob("@every 1h"), fn) })
		callers.Go(func() {
			job := usersJob("")
			job.Entry = "j/now"
			if err := pool.RunNow(job, fn, runlog.Manual); err != nil && !errors.Is(err, ErrStopped) {
				t.Errorf("RunNow: %v", err)
			}
		})
		if err := pool.Stop(time.Minute); err != nil {
			t.Fatal(err)
		}
		stopped.Store(true)
		callers.Wait()
		if pool.Running("j") || pool.Running("j/now") {
			t.Fatal("a run is going on after Stop returned")
		}
		if n := late.Load(); n > 0 {
			t.Fatalf("%d run(s) opened the database after Stop returned", n)
		}
	}
}
