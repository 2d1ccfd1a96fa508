package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// concurrentReports start in this order: leads is the heaviest (Weight),
// the others keep the job's order.
var concurrentReports = []string{"leads", "users", "lead_statuses", "opportunity_statuses", "custom_fields"}

func concurrentJob(n int) Job {
	job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"}, Concurrency: n}
	for _, name := range concurrentReports {
		job.Reports = append(job.Reports, ReportRun{Report: report(name), Mode: schema.Upsert})
	}
	return job
}

// TestRunJobRunsReportsConcurrently: a job of five reports with
// Concurrency 3 runs three at once, never more, and returns its results
// in the job's order.
func TestRunJobRunsReportsConcurrently(t *testing.T) {
	var inFlight, peak atomic.Int64
	three := make(chan struct{})
	var once sync.Once
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			// A page first: the job's first report runs alone until it has one.
			if err := pages(1, 2, "")(ctx, req, emit); err != nil {
				return err
			}
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p; p = peak.Load() {
				if peak.CompareAndSwap(p, n) {
					break
				}
			}
			if n >= 3 {
				once.Do(func() { close(three) })
			}
			select { // the first three wait for each other; a fourth would not be let in
			case <-three:
			case <-time.After(5 * time.Second):
				return errors.New("three reports never ran at once")
			}
			time.Sleep(10 * time.Millisecond)
			return nil
		}, nil
	}
	st := newMemStore()
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext}
	res := r.RunJob(context.Background(), concurrentJob(3), runlog.Manual)
	if len(res) != len(concurrentReports) {
		t.Fatalf("%d results", len(res))
	}
	for i, rs := range res {
		if rs.Report != concurrentReports[i] || rs.Status != runlog.Success || st.finished[rs.ID] != runlog.Success {
			t.Errorf("result %d: %s %s (%v), want %s success", i, rs.Report, rs.Status, rs.Err, concurrentReports[i])
		}
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak of %d reports at once, want 3", p)
	}
}

// TestRunJobConcurrentBreaker: with two reports at once, a 401 in the
// second fails it; the first, running beside it, finishes, and the reports
// not yet started are skipped with the second's cause.
func TestRunJobConcurrentBreaker(t *testing.T) {
	r := &Runner{Store: newMemStore(), Log: zap.NewNop()}
	r.Extract = func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			switch req.Report.Name {
			case "leads": // a page, then it waits for the breaker to trip
				if err := pages(1, 1, "")(ctx, req, emit); err != nil {
					return err
				}
				for r.breaker.tripped("a") == nil {
					time.Sleep(time.Millisecond)
				}
				return nil
			case "users":
				return fmt.Errorf("GET /user/: %w", closeapi.ErrUnauthorized)
			}
			return pages(1, 1, "")(ctx, req, emit)
		}, nil
	}
	res := r.RunJob(context.Background(), concurrentJob(2), runlog.Manual)
	if res[0].Status != runlog.Success || !errors.Is(res[1].Err, closeapi.ErrUnauthorized) {
		t.Fatalf("leads: %s %v; users: %v", res[0].Status, res[0].Err, res[1].Err)
	}
	skippedBy(t, res[2:], "users")
}

// skippedBy reports, and fails t unless, every result of res is a failed
// run skipped for what report found.
func skippedBy(t *testing.T, res []Result, report string) bool {
	t.Helper()
	ok := true
	for _, rs := range res {
		var skip *SkippedError
		if rs.Status != runlog.Failed || !errors.As(rs.Err, &skip) || skip.Report != report {
			t.Errorf("%s: %s %v, want skipped for %s's 401", rs.Report, rs.Status, rs.Err, report)
			ok = false
		}
	}
	return ok
}

// TestRunJobFirstReportAlone: the job's first report runs alone until it
// has read a page, so a dead key fails it and skips every other report.
func TestRunJobFirstReportAlone(t *testing.T) {
	var calls atomic.Int64
	ext := func(string) (ExtractFunc, error) {
		return func(context.Context, extract.Request, func(extract.Batch) error) error {
			calls.Add(1)
			time.Sleep(10 * time.Millisecond)
			return fmt.Errorf("GET /user/: %w", closeapi.ErrUnauthorized)
		}, nil
	}
	r := &Runner{Store: newMemStore(), Log: zap.NewNop(), Extract: ext}
	res := r.RunJob(context.Background(), concurrentJob(4), runlog.Manual)
	if n := calls.Load(); n != 1 {
		t.Errorf("%d reports ran against a dead key, want 1", n)
	}
	skippedBy(t, res[1:], "leads")
}

// TestRunJobDeadKeyAtTheOrganization: when the first report's /me/ is
// refused (a dead key), the reports beside it, waiting to set up, are
// skipped with its cause and never ask /me/ themselves. The first report
// ends and the others wake at the same instant, so it runs many times.
func TestRunJobDeadKeyAtTheOrganization(t *testing.T) {
	for range 200 {
		var asked atomic.Int64
		job := concurrentJob(4)
		job.Params = map[string]string{}
		job.Organization = func(context.Context) (string, error) {
			asked.Add(1)
			return "", fmt.Errorf("GET /me/: %w", closeapi.ErrUnauthorized)
		}
		r := &Runner{Store: newMemStore(), Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) { return pages(1, 1, ""), nil }}
		res := r.RunJob(context.Background(), job, runlog.Manual)
		if n := asked.Load(); n != 1 {
			t.Fatalf("/me/ asked %d times with a dead key, want once", n)
		}
		if !skippedBy(t, res[1:], "leads") {
			t.FailNow()
		}
	}
}

// ensureCounter is a memStore that counts the tables set up.
type ensureCounter struct {
	*memStore
	ensured atomic.Int64
}

func (e *ensureCounter) EnsureTable(ctx context.Context, t schema.Table, m schema.WriteMode, org string) error {
	e.ensured.Add(1)
	return e.memStore.EnsureTable(ctx, t, m, org)
}

// TestRunJobOthersSetUpBesideTheFirst: while the job's first report waits
// for its first page, the reports beside it set up their run rows and
// tables, but none reads before the first has its page.
func TestRunJobOthersSetUpBesideTheFirst(t *testing.T) {
	st := &ensureCounter{memStore: newMemStore()}
	var paged atomic.Bool
	var early atomic.Int64
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			if req.Report.Name != "leads" {
				if !paged.Load() {
					early.Add(1)
				}
				return pages(1, 1, "")(ctx, req, emit)
			}
			for deadline := time.Now().Add(5 * time.Second); st.ensured.Load() < 3; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					return fmt.Errorf("%d tables set up while the first report waited, want 3", st.ensured.Load())
				}
			}
			paged.Store(true)
			return pages(1, 1, "")(ctx, req, emit)
		}, nil
	}
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext}
	for _, rs := range r.RunJob(context.Background(), concurrentJob(3), runlog.Manual) {
		if rs.Status != runlog.Success {
			t.Errorf("%s: %s %v", rs.Report, rs.Status, rs.Err)
		}
	}
	if n := early.Load(); n != 0 {
		t.Errorf("%d reports read before the first report's first page", n)
	}
}

// TestRunJobConcurrentCancel: cancelled while two reports run, both are
// recorded cancelled, and the three not started are cancelled results
// without a run row.
func TestRunJobConcurrentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started sync.WaitGroup
	started.Add(2)
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			if err := pages(1, 1, "")(ctx, req, emit); err != nil {
				return err
			}
			started.Done()
			<-ctx.Done()
			return ctx.Err()
		}, nil
	}
	go func() { started.Wait(); cancel() }()
	st := newMemStore()
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext}
	res := r.RunJob(ctx, concurrentJob(2), runlog.Manual)
	for i, rs := range res {
		if rs.Report != concurrentReports[i] || rs.Status != runlog.Cancelled {
			t.Errorf("result %d: %s %s, want %s cancelled", i, rs.Report, rs.Status, concurrentReports[i])
		}
		if ran := i < 2; ran != (rs.ID != 0) || ran && st.finished[rs.ID] != runlog.Cancelled {
			t.Errorf("%s: run row %d (%s)", rs.Report, rs.ID, st.finished[rs.ID])
		}
	}
}

// TestEventReadersFollowTheEventLog: with reports running at once, a
// report that re-reads what the stored event log says was edited
// (RefetchEdited) starts only after the job's event-log report before it
// has ended, so it sees the events that run stored; the others do not
// wait.
func TestEventReadersFollowTheEventLog(t *testing.T) {
	events, readers := extract.Declaring(extract.ApplyEventDeletes), extract.Declaring(extract.RefetchEdited)
	if len(events) == 0 || len(readers) == 0 {
		t.Fatal("the catalog declares no event-log report or no event reader")
	}
	job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"}, Concurrency: 3,
		Reports: []ReportRun{{Report: events[0], Mode: schema.Upsert}, {Report: readers[0], Mode: schema.Upsert},
			{Report: report("users"), Mode: schema.Upsert}}}
	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	release := make(chan struct{})
	readerStarted := make(chan struct{})
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			note("start " + req.Report.Name)
			defer note("end " + req.Report.Name)
			if req.Report.Has(extract.RefetchEdited) {
				close(readerStarted)
			}
			if err := pages(1, 1, "")(ctx, req, emit); err != nil {
				return err
			}
			if req.Report.Has(extract.ApplyEventDeletes) {
				<-release // held until the unrelated report has run beside it
				// ... and long enough for a reader let in too early to start.
				select {
				case <-readerStarted:
				case <-time.After(200 * time.Millisecond):
				}
			}
			if req.Report.Name == "users" {
				close(release)
			}
			return nil
		}, nil
	}
	r := &Runner{Store: newMemStore(), Log: zap.NewNop(), Extract: ext}
	for _, res := range r.RunJob(context.Background(), job, runlog.Manual) {
		if res.Status != runlog.Success {
			t.Errorf("%s: %s (%v)", res.Report, res.Status, res.Err)
		}
	}
	pos := func(s string) int {
		for i, o := range order {
			if o == s {
				return i
			}
		}
		t.Fatalf("%q never happened: %q", s, order)
		return -1
	}
	if pos("start "+readers[0].Name) < pos("end "+events[0].Name) {
		t.Errorf("%s started before %s ended: %q", readers[0].Name, events[0].Name, order)
	}
	if pos("start users") > pos("end "+events[0].Name) {
		t.Errorf("users waited for the event log: %q", order)
	}
}
