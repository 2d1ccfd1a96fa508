package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

func TestRunJobGroupsPagesAndKeepsGoingAfterAFailure(t *testing.T) {
	st := newMemStore()
	boom := errors.New("API exploded")
	r := &Runner{Store: st, Log: zap.NewNop(), BatchRows: 250, Extract: func(account string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			if req.Report.Name == "users" {
				return boom
			}
			return pages(5, 100, "2026-01-02T00:00:00Z")(ctx, req, emit)
		}, nil
	}}
	job := Job{Name: "j", Account: "a", Reports: []ReportRun{{Report: report("users"), Mode: schema.Upsert}, {Report: report("leads"), Mode: schema.Upsert}}}
	res := r.RunJob(context.Background(), job, runlog.Manual)
	if res[0].Status != runlog.Failed || !errors.Is(res[0].Err, boom) || st.errs[res[0].ID] != "API exploded" {
		t.Errorf("users = %+v (%q)", res[0], st.errs[res[0].ID])
	}
	if res[1].Status != runlog.Success || res[1].RowsUpserted != 500 {
		t.Errorf("leads = %+v", res[1])
	}
	// 500 records in pages of 100 with 250 per transaction: 300, then 200
	// with the bookmark of the last page.
	if len(st.batches) != 2 || len(st.batches[0]) != 300 || len(st.batches[1]) != 200 || st.marks[0] != "" || st.marks[1] != "2026-01-02T00:00:00Z" {
		t.Errorf("batches %d, marks %q", len(st.batches), st.marks)
	}
}

func TestCancelledRunIsRecordedAsCancelled(t *testing.T) {
	st := newMemStore()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			cancel()
			<-ctx.Done()
			return fmt.Errorf("page 2: %w", ctx.Err())
		}, nil
	}}
	res := r.RunJob(ctx, Job{Name: "j", Account: "a", Reports: []ReportRun{{Report: report("leads")}, {Report: report("users")}}}, runlog.Manual)
	if res[0].Status != runlog.Cancelled || st.finished[res[0].ID] != runlog.Cancelled {
		t.Errorf("first = %+v", res[0])
	}
	if res[1].Status != runlog.Cancelled || res[1].ID != 0 {
		t.Errorf("second report should not start: %+v", res[1])
	}
}

// TestStepsAreDispatchedByDeclaration: after a successful load the
// pipeline runs exactly the steps the report declares, in order, and the
// event table comes from the catalog (the report declaring
// ApplyEventDeletes).
func TestStepsAreDispatchedByDeclaration(t *testing.T) {
	plain := *report("users")
	plain.After = nil
	events := *report("leads")
	events.Name = "some_events"
	events.After = []extract.Step{extract.ApplyEventDeletes, extract.PurgeDeleted}
	views := *report("users")
	views.After = []extract.Step{extract.RefreshCustomViews}
	tests := []struct {
		name string
		rep  *extract.Report
		hard bool
		fail bool // the store's steps fail
		want []string
	}{
		{"no steps", &plain, false, false, nil},
		{"deletes, soft", &events, false, false, []string{"deletes:leads"}},
		{"deletes, hard", &events, true, false, []string{"deletes:leads", "purge"}},
		{"deletes that fail are not purged", &events, true, true, []string{"deletes:leads"}},
		{"views", &views, false, false, []string{"views"}},
		{"a failing view is not a failed run", &views, false, true, []string{"views"}},
		{"the catalog's event log", report("event_log"), false, false, []string{"deletes:event_log"}},
		{"the catalog's custom_fields", report("custom_fields"), false, false, []string{"views"}},
		{"a custom report", report("leads"), false, false, []string{"views"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			if tt.fail {
				st.stepErr = errors.New("disk full")
			}
			r := &Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) { return pages(1, 3, "2026-01-02T00:00:00Z"), nil }}
			res := r.RunReport(context.Background(), Job{Name: "j", Account: "a", HardDeletes: tt.hard},
				ReportRun{Report: tt.rep, Mode: schema.Upsert}, runlog.Manual)
			if res.Status != runlog.Success || res.Err != nil {
				t.Fatalf("run %s: %v", res.Status, res.Err)
			}
			if !slices.Equal(st.calls, tt.want) {
				t.Errorf("steps %q, want %q", st.calls, tt.want)
			}
		})
	}
}

// TestStepsRunOnlyAfterASuccessfulLoad: a failed walk runs no step.
func TestStepsRunOnlyAfterASuccessfulLoad(t *testing.T) {
	st := newMemStore()
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) {
		return func(context.Context, extract.Request, func(extract.Batch) error) error { return errors.New("boom") }, nil
	}}
	res := r.RunReport(context.Background(), Job{Name: "j", Account: "a", HardDeletes: true},
		ReportRun{Report: report("event_log"), Mode: schema.Upsert}, runlog.Manual)
	if res.Status != runlog.Failed || len(st.calls) != 0 {
		t.Errorf("status %s, steps %q", res.Status, st.calls)
	}
}

// TestRefetchEditedIsDeclared: only a report declaring RefetchEdited asks
// the store for edited activities, from the catalog's event table, and
// they are passed to the walk.
func TestRefetchEditedIsDeclared(t *testing.T) {
	undeclared := *report("activities_call")
	undeclared.After = nil
	for _, tt := range []struct {
		rep  *extract.Report
		want []string
	}{
		{report("activities_call"), []string{"edits:event_log", "views"}},
		{&undeclared, nil},
	} {
		st := newMemStore()
		st.bookmark, st.since, st.edited = "2026-11-20T10:00:00Z", time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), []string{"acti_1"}
		var refetch []string
		r := &Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) {
			return func(_ context.Context, req extract.Request, _ func(extract.Batch) error) error {
				refetch = req.Refetch
				return nil
			}, nil
		}}
		res := r.RunReport(context.Background(), Job{Name: "j", Account: "a"}, ReportRun{Report: tt.rep, Mode: schema.Upsert}, runlog.Manual)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if !slices.Equal(st.calls, tt.want) || (tt.want != nil) != slices.Equal(refetch, []string{"acti_1"}) {
			t.Errorf("%s (after %v): store calls %q, refetch %q", tt.rep.Name, tt.rep.After, st.calls, refetch)
		}
	}
}

// TestErrorsCarryTheirStage: a failed read is an extract error, a failed
// write a load error, a failed reconcile a step error; the stored message
// is the error's own text, and Temporary tells what a retry can fix.
func TestErrorsCarryTheirStage(t *testing.T) {
	api401 := fmt.Errorf("GET /user/: %w", &closeapi.APIError{Account: "a", Method: "GET", Path: "/user/", Status: 401, Message: "Unauthorized"})
	tests := []struct {
		name      string
		extract   error // the walk's error
		apply     error // the store's Apply error
		noAccount bool
		reconcile bool
		stepErr   error
		stage     Stage
		temporary bool
	}{
		{name: "API rejects the key", extract: api401, stage: StageExtract},
		{name: "network", extract: fmt.Errorf("dial: %w", syscall.ECONNREFUSED), stage: StageExtract, temporary: true},
		{name: "no account", noAccount: true, stage: StageExtract},
		{name: "a batch does not commit", apply: errors.New("commit: IO Error"), stage: StageLoad, temporary: true},
		{name: "locked file", apply: fmt.Errorf("open: %w", load.ErrLocked), stage: StageLoad, temporary: true},
		{name: "reconcile", reconcile: true, stepErr: errors.New("constraint"), stage: StageStep, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			st.applyErr, st.stepErr = tt.apply, tt.stepErr
			var failing ExtractFunc // one that fails with tt.extract
			if tt.extract != nil {
				failing = func(context.Context, extract.Request, func(extract.Batch) error) error { return tt.extract }
			}
			r := &Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (ExtractFunc, error) {
				if tt.noAccount {
					return nil, errors.New(`no account named "a"`)
				}
				if failing != nil {
					return failing, nil
				}
				return pages(1, 3, "2026-01-02T00:00:00Z"), nil
			}}
			job := Job{Name: "j", Account: "a", Reports: []ReportRun{{Report: report("leads"), Mode: schema.Upsert}}}
			var res Result
			if tt.reconcile {
				res = r.RunReconcile(context.Background(), job)[0]
			} else {
				res = r.RunJob(context.Background(), job, runlog.Manual)[0]
			}
			var se *StageError
			if !errors.As(res.Err, &se) || se.Stage != tt.stage || se.Report != "leads" {
				t.Fatalf("err %v (%T), want stage %s", res.Err, res.Err, tt.stage)
			}
			if st.errs[res.ID] != res.Err.Error() || !strings.Contains(res.Err.Error(), se.Err.Error()) {
				t.Errorf("stored %q, error %q", st.errs[res.ID], res.Err)
			}
			if se.Temporary() != tt.temporary || Temporary(res.Err) != tt.temporary {
				t.Errorf("temporary %v, want %v", se.Temporary(), tt.temporary)
			}
		})
	}
}

// TestBatchRowsGroupsPages: the runner's BatchRows bounds each
// transaction; the default groups every page of a small run into one.
func TestBatchRowsGroupsPages(t *testing.T) {
	for _, tt := range []struct {
		rows int
		want []int
	}{
		{0, []int{1000}},
		{100, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
		{400, []int{400, 400, 200}},
	} {
		st := newMemStore()
		r := &Runner{Store: st, Log: zap.NewNop(), BatchRows: tt.rows,
			Extract: func(string) (ExtractFunc, error) { return pages(10, 100, "2026-01-02T00:00:00Z"), nil }}
		res := r.RunReport(context.Background(), Job{Name: "j", Account: "a"}, ReportRun{Report: report("leads"), Mode: schema.Upsert}, runlog.Manual)
		var got []int
		for _, b := range st.batches {
			got = append(got, len(b))
		}
		if !slices.Equal(got, tt.want) || res.RowsUpserted != 1000 || res.RowsExtracted != 1000 || res.Bookmark.String() != "2026-01-02T00:00:00Z" {
			t.Errorf("BatchRows %d: batches %v, want %v; result %+v", tt.rows, got, tt.want, res)
		}
	}
}
