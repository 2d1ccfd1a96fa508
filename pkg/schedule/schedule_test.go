package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

var _ Store = (*load.Store)(nil)

// memStore records what a run did.
type memStore struct {
	mu       sync.Mutex
	nextID   int64
	finished map[int64]runlog.Status
	errs     map[int64]string
	batches  [][]schema.Record
	marks    []schema.Bookmark
	applyErr error
	last     time.Time // LastSuccess's answer
}

func (m *memStore) LastSuccess(context.Context, string, []string) (time.Time, error) {
	return m.last, nil
}

func newMemStore() *memStore {
	return &memStore{finished: map[int64]runlog.Status{}, errs: map[int64]string{}}
}

func (m *memStore) EnsureTable(context.Context, schema.Table, schema.WriteMode, string) error {
	return nil
}
func (m *memStore) BeginRun(context.Context, load.RunInfo) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	return m.nextID, nil
}
func (m *memStore) Bookmark(context.Context, string, string, string) (schema.Bookmark, bool, error) {
	return schema.Bookmark{}, false, nil
}
func (m *memStore) Apply(_ context.Context, _ load.Run, _ schema.Table, _ schema.WriteMode, b load.Batch, _ load.Counters) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.applyErr != nil {
		return 0, m.applyErr
	}
	m.batches = append(m.batches, b.Records)
	m.marks = append(m.marks, b.Bookmark)
	return int64(len(b.Records)), nil
}
func (m *memStore) StartReplace(context.Context, schema.Table, string) error { return nil }
func (m *memStore) FinishReplace(context.Context, load.Run, schema.Table) (int64, error) {
	return 0, nil
}
func (m *memStore) FinishRun(_ context.Context, id int64, status runlog.Status, _ load.Counters, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished[id], m.errs[id] = status, msg
	return nil
}

// The rest of Store: nothing stored, nothing to do.
func (m *memStore) LastSuccessStart(context.Context, string, string) (time.Time, error) {
	return time.Time{}, nil
}
func (m *memStore) StoredRows(context.Context, schema.Table, string) (int64, error) { return 0, nil }
func (m *memStore) RawKeyChanges(context.Context, int64) ([]load.SchemaChange, error) {
	return nil, nil
}
func (m *memStore) EnsureVersions(context.Context, schema.Table) error { return nil }
func (m *memStore) CustomFieldIDs(_ context.Context, _, _, name string) ([]string, error) {
	return nil, fmt.Errorf("no custom field %q in the memory store", name)
}
func (m *memStore) Tally(context.Context, schema.Table, string, string) (load.Tally, error) {
	return load.Tally{}, nil
}
func (m *memStore) ApplyDeletes(context.Context, load.Run, string, []schema.Table, *[]string) (int64, error) {
	return 0, nil
}
func (m *memStore) Reconcile(context.Context, load.Run, schema.Table, []string, time.Time, *[]string) (int64, error) {
	return 0, nil
}
func (m *memStore) PurgeDeleted(context.Context, string, []schema.Table) (int64, error) {
	return 0, nil
}
func (m *memStore) RefreshCustomViews(context.Context, string, []schema.Table) error { return nil }
func (m *memStore) RecordFieldChanges(context.Context, load.Run, string, []schema.Table, bool) ([]load.SchemaChange, error) {
	return nil, nil
}
func (m *memStore) UpdatedActivities(context.Context, string, string, string, string, string, time.Time, time.Time) ([]string, error) {
	return nil, nil
}
func (m *memStore) LoadedFrom(context.Context, string, string) (schema.Bookmark, bool, error) {
	return schema.Bookmark{}, false, nil
}
func (m *memStore) SetLoadedFrom(context.Context, string, string, schema.Bookmark, bool) (bool, error) {
	return false, nil
}
func (m *memStore) SucceededBefore(context.Context, string, string, int64) (bool, error) {
	return false, nil
}
func (m *memStore) Oldest(context.Context, schema.Table, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

func report(name string) *extract.Report {
	r, ok := extract.Lookup(name)
	if !ok {
		panic(name)
	}
	return r
}

func TestPoolNeverOverlapsAJobAndClosesTheStoreAfterRuns(t *testing.T) {
	synctest.Test(t, testPoolNeverOverlapsAJobAndClosesTheStoreAfterRuns)
}

func testPoolNeverOverlapsAJobAndClosesTheStoreAfterRuns(t *testing.T) {
	var opens, closes atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	pool := NewPool(func(ctx context.Context) (Store, func() error, error) {
		opens.Add(1)
		return newMemStore(), func() error { closes.Add(1); return nil }, nil
	}, zap.NewNop())
	extractFn := func(string) (pipeline.ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}, nil
	}
	job := ScheduledJob{Job: pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users")}}}, Schedule: "@every 1h"}
	if err := pool.RunNow(job, extractFn, runlog.Manual); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := pool.RunNow(job, extractFn, runlog.Manual); !errors.Is(err, ErrRunning) {
		t.Errorf("second start while running: %v", err)
	}
	pool.tick(job, extractFn) // a scheduled tick while running is skipped, not queued
	if opens.Load() != 1 {
		t.Errorf("opens = %d", opens.Load())
	}
	close(release)
	synctest.Wait() // the run ends
	if closes.Load() != 1 {
		t.Errorf("store closes after the run = %d, want 1 (readers get the file between runs)", closes.Load())
	}
	if err := pool.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStopCancelsRunsWithinGrace(t *testing.T) {
	pool := NewPool(func(ctx context.Context) (Store, func() error, error) {
		return newMemStore(), func() error { return nil }, nil
	}, zap.NewNop())
	started := make(chan struct{})
	extractFn := func(string) (pipeline.ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}, nil
	}
	job := ScheduledJob{Job: pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users")}}}}
	pool.RunNow(job, extractFn, runlog.Manual)
	<-started
	if err := pool.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if pool.Running("j") {
		t.Error("job still running after Stop")
	}
}

func TestSchedulerRejectsBadSpecs(t *testing.T) {
	pool := NewPool(nil, zap.NewNop())
	_, err := NewScheduler(pool, []ScheduledJob{{Job: pipeline.Job{Name: "j"}, Schedule: "every tuesday"}}, nil)
	if err == nil {
		t.Fatal("bad spec accepted")
	}
	s, err := NewScheduler(pool, []ScheduledJob{{Job: pipeline.Job{Name: "j"}, Schedule: "@every 1h", Location: time.UTC}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow("nope", runlog.Manual); err == nil {
		t.Error("unknown job accepted")
	}
}

// waitIdle waits, in a synctest bubble, for the pool to finish the named
// job: an hour of fake time passes (any retry delay with it), and then
// every goroutine of the bubble is blocked or gone.
func waitIdle(t *testing.T, pool *Pool, job string) {
	t.Helper()
	time.Sleep(time.Hour)
	synctest.Wait()
	if pool.Running(job) {
		t.Fatalf("%s still running", job)
	}
}

func TestRetryRerunsOnlyFailedReportsWithTheRetryTrigger(t *testing.T) {
	tests := []struct {
		name          string
		attempts      int
		failures      int // how many tries of "users" fail
		wantTries     int
		wantFinalFail bool
	}{
		{"no retry configured", 0, 1, 1, true},
		{"succeeds on the second try", 3, 1, 2, false},
		{"gives up after the attempts", 2, 10, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var opens atomic.Int32
				pool := NewPool(func(ctx context.Context) (Store, func() error, error) {
					opens.Add(1)
					return newMemStore(), func() error { return nil }, nil
				}, zap.NewNop())
				var mu sync.Mutex
				var got []string // report:trigger:status
				pool.OnResult = func(r pipeline.Result) {
					mu.Lock()
					got = append(got, r.Report+":"+string(r.Trigger)+":"+string(r.Status))
					mu.Unlock()
				}
				var tries atomic.Int32
				extractFn := func(string) (pipeline.ExtractFunc, error) {
					return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
						if req.Report.Name == "users" && int(tries.Add(1)) <= tt.failures {
							return errors.New("503 Service Unavailable")
						}
						return nil
					}, nil
				}
				job := ScheduledJob{Job: pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users")}, {Report: report("lead_statuses")}}},
					Retry: Retry{Attempts: tt.attempts, Delay: time.Millisecond}}
				if err := pool.RunNow(job, extractFn, runlog.Schedule); err != nil {
					t.Fatal(err)
				}
				waitIdle(t, pool, "j")
				mu.Lock()
				defer mu.Unlock()
				if int(tries.Load()) != tt.wantTries {
					t.Errorf("users tried %d times, want %d (%v)", tries.Load(), tt.wantTries, got)
				}
				if got[1] != "lead_statuses:schedule:success" || len(got) != tt.wantTries+1 {
					t.Errorf("runs %v: lead_statuses must run once, users %d times", got, tt.wantTries)
				}
				for _, r := range got[2:] {
					if !strings.HasPrefix(r, "users:retry:") {
						t.Errorf("retry run %q: want report users with trigger retry", r)
					}
				}
				last := got[0] // users' last run
				if len(got) > 2 {
					last = got[len(got)-1]
				}
				if strings.HasSuffix(last, ":failed") != tt.wantFinalFail {
					t.Errorf("last run of users %q", last)
				}
				if int(opens.Load()) != tt.wantTries {
					t.Errorf("database opened %d times, want once a try (closed while waiting)", opens.Load())
				}
			})
		})
	}
}

func TestStartupRunsOnStartAndCatchesUpMissedRunsOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		job     ScheduledJob
		last    time.Time
		wantRun bool
	}{
		{"run_on_start", ScheduledJob{Schedule: "@daily", RunOnStart: true}, now, true},
		{"no catch-up configured", ScheduledJob{Schedule: "@hourly"}, time.Time{}, false},
		{"never succeeded", ScheduledJob{Schedule: "@hourly", CatchUp: true}, time.Time{}, true},
		{"missed an hourly run", ScheduledJob{Schedule: "@hourly", CatchUp: true}, now.Add(-3 * time.Hour), true},
		{"within one interval", ScheduledJob{Schedule: "@hourly", CatchUp: true}, now.Add(-30 * time.Minute), false},
		{"daily cron, ran this morning", ScheduledJob{Schedule: "0 6 * * *", CatchUp: true}, now.Add(-6 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pool := NewPool(func(ctx context.Context) (Store, func() error, error) {
					st := newMemStore()
					st.last = tt.last
					return st, func() error { return nil }, nil
				}, zap.NewNop())
				var runs []string
				var mu sync.Mutex
				pool.OnResult = func(r pipeline.Result) {
					mu.Lock()
					runs = append(runs, string(r.Trigger))
					mu.Unlock()
				}
				extractFn := func(string) (pipeline.ExtractFunc, error) {
					return func(context.Context, extract.Request, func(extract.Batch) error) error { return nil }, nil
				}
				job := tt.job
				job.Job = pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users")}}}
				s, err := NewScheduler(pool, []ScheduledJob{job}, extractFn)
				if err != nil {
					t.Fatal(err)
				}
				s.Startup(now)
				waitIdle(t, pool, "j")
				mu.Lock()
				defer mu.Unlock()
				if tt.wantRun != (len(runs) == 1) || len(runs) > 1 || (len(runs) == 1 && runs[0] != string(runlog.Startup)) {
					t.Errorf("startup runs %v, want run: %v", runs, tt.wantRun)
				}
			})
		})
	}
}

// TestSchedulerSpecZoneWinsOverLocation: a job with a timezone whose
// schedule carries its own CRON_TZ= starts (validate warns that the
// timezone is ignored); it used to fail as "CRON_TZ=A CRON_TZ=B ...".
func TestSchedulerSpecZoneWinsOverLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(nil, zap.NewNop())
	for _, spec := range []string{"CRON_TZ=America/New_York 0 6 * * *", " CRON_TZ=America/New_York 0 6 * * *"} {
		if _, err := NewScheduler(pool, []ScheduledJob{{Job: pipeline.Job{Name: "j"}, Schedule: spec, Location: berlin}}, nil); err != nil {
			t.Errorf("%q: %v", spec, err)
		}
	}
}
