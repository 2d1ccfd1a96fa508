package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// slowStore writes a batch only once its walk has gone on to the next
// page (fetching), or fails after a while.
type slowStore struct {
	*memStore
	fetching <-chan struct{}
}

func (s slowStore) Apply(ctx context.Context, run load.Run, t schema.Table, mode schema.WriteMode, b load.Batch, c load.Counters) (int64, error) {
	select {
	case <-s.fetching:
	case <-time.After(2 * time.Second):
		return 0, errors.New("the walk did not fetch the next page while a batch was written")
	}
	return s.memStore.Apply(ctx, run, t, mode, b, c)
}

// TestWalkFetchesAheadOnePage: while a batch is written the walk fetches
// the next page, and only one: it hands a page over only once the batch
// before has been written. Batches are written in order, with their
// bookmarks.
func TestWalkFetchesAheadOnePage(t *testing.T) {
	const n = 4
	fetching := make(chan struct{})
	st := slowStore{memStore: newMemStore(), fetching: fetching}
	var written []int // how many batches were written when each page was fetched
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			for p := range n {
				if p == 1 {
					close(fetching) // page 2 is fetched while page 1 is written
				}
				st.mu.Lock()
				written = append(written, len(st.batches))
				st.mu.Unlock()
				b := extract.Batch{Page: p + 1, Records: []schema.Record{{Raw: json.RawMessage(fmt.Sprintf(`{"id":"x%d"}`, p))}}}
				b.Bookmark, _ = schema.ParseBookmark(fmt.Sprintf("2026-01-0%dT00:00:00Z", p+1))
				if err := emit(b); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext, BatchRows: 1}
	job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"}}
	res := r.RunReport(context.Background(), job, ReportRun{Report: report("tasks"), Mode: schema.Upsert}, runlog.Manual)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	// Page p+1 is fetched once page p-1 is written (p written), not before.
	for p, w := range written {
		if p >= 2 && w < p-1 {
			t.Errorf("page %d fetched with %d batches written: more than one page ahead", p+1, w)
		}
	}
	want := []string{"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"}
	if fmt.Sprint(st.marks) != fmt.Sprint(want) {
		t.Errorf("bookmarks written %v, want %v", st.marks, want)
	}
}

// TestWalkStopsWhenAWriteFails: a batch that cannot be written stops the
// walk, and the run fails at the load stage with the write's error.
func TestWalkStopsWhenAWriteFails(t *testing.T) {
	st := newMemStore()
	st.applyErr = errors.New("disk full")
	fetched := 0
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			for p := range 100 {
				fetched++
				if err := emit(extract.Batch{Page: p + 1, Records: []schema.Record{{Raw: json.RawMessage(`{"id":"x"}`)}}}); err != nil {
					return fmt.Errorf("page %d: %w", p+1, err)
				}
			}
			return nil
		}, nil
	}
	r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext, BatchRows: 1}
	job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"}}
	res := r.RunReport(context.Background(), job, ReportRun{Report: report("tasks"), Mode: schema.Upsert}, runlog.Manual)
	if !errors.Is(res.Err, st.applyErr) || StageOf(res.Err) != StageLoad {
		t.Errorf("run error %v (stage %q), want the write's, at the load stage", res.Err, StageOf(res.Err))
	}
	if fetched > 3 {
		t.Errorf("%d pages fetched after the first write failed", fetched)
	}
}
