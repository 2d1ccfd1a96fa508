package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// TestVerifyVerdicts: verify compares the stored live rows with Close's
// count, tolerates as many more in Close as Close changed since the
// bookmark, fails the run on any other difference, and lists ids where
// Close gives no count.
func TestVerifyVerdicts(t *testing.T) {
	cases := []struct {
		name     string
		report   string
		stored   int64
		count    extract.Plan // without a bookmark
		pending  int          // records since the last sync
		bookmark string
		newest   time.Time // the newest stored date_updated
		listed   int       // ids the listing names, when count is not exact
		want     Verdict
		close    int64
		how      string
	}{
		{"equal", "leads", 10, extract.Plan{Records: 10}, 0, "2026-01-01T00:00:00Z", time.Time{}, 0, Equal, 10, "counted"},
		{"new in Close since the bookmark", "leads", 10, extract.Plan{Records: 12}, 2, "2026-01-01T00:00:00Z", time.Time{}, 0, Behind, 12, "counted"},
		{"more new in Close than changed", "leads", 10, extract.Plan{Records: 13}, 2, "2026-01-01T00:00:00Z", time.Time{}, 0, Differs, 13, "counted"},
		{"a row Close no longer has", "leads", 10, extract.Plan{Records: 9}, 0, "2026-01-01T00:00:00Z", time.Time{}, 0, Differs, 9, "counted"},
		{"no bookmark: nothing is pending", "leads", 10, extract.Plan{Records: 11}, 1, "", time.Time{}, 0, Differs, 11, "counted"},
		{"an estimate is not a count: ids are listed", "leads", 7, extract.Plan{Records: 9, Approx: true, Note: "from a first page"}, 0, "2026-01-01T00:00:00Z", time.Time{}, 7, Equal, 7, "listed ids"},
		{"new in Close after the newest stored change", "leads", 10, extract.Plan{Records: 11}, 1, "2026-01-01T00:00:00Z", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 0, Behind, 11, "counted"},
		{"no count, no listing", "event_log", 50, extract.Plan{Records: -1, Note: "a cursor walk has no count"}, 0, "", time.Time{}, 0, Unverifiable, -1, "a cursor walk has no count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newMemStore()
			st.stored, st.bookmark, st.newest = c.stored, c.bookmark, c.newest
			listings := 0
			r := &Runner{Store: st, Log: zap.NewNop(),
				Plan: func(string) (PlanFunc, error) {
					return func(_ context.Context, req extract.Request) (extract.Plan, error) {
						switch {
						case req.Bookmark.IsZero() && req.Since.IsZero():
							return c.count, nil
						case !req.Since.IsZero() && !c.newest.IsZero():
							if !req.Since.Equal(c.newest.Add(time.Second)) {
								return extract.Plan{}, fmt.Errorf("changes counted from %s, not after the newest stored %s", req.Since, c.newest)
							}
							return extract.Plan{Records: c.pending}, nil
						case !req.Bookmark.IsZero():
							return extract.Plan{Records: c.pending}, nil
						}
						return extract.Plan{Records: 0}, nil // from now: nothing
					}, nil
				},
				Extract: func(string) (ExtractFunc, error) {
					return func(_ context.Context, req extract.Request, emit func(extract.Batch) error) error {
						listings++
						if !req.IDsOnly {
							return errors.New("verify read more than ids")
						}
						b := extract.Batch{Page: 1}
						for i := range c.listed {
							b.Records = append(b.Records, schema.Record{Raw: json.RawMessage(fmt.Sprintf(`{"id":"lead_%d","date_updated":"2026-01-0%dT00:00:00Z"}`, i, i%9+1))})
						}
						return emit(b)
					}, nil
				}}
			job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"},
				Reports: []ReportRun{{Report: report(c.report), Mode: schema.Upsert}}}
			res := r.RunVerify(context.Background(), job)[0]
			v := res.Verification
			if v == nil || v.Verdict != c.want || v.Close != c.close || v.How != c.how {
				t.Fatalf("verification %+v, want %s, close %d, how %q (err %v)", v, c.want, c.close, c.how, res.Err)
			}
			if res.Trigger != runlog.Verify {
				t.Errorf("trigger %s", res.Trigger)
			}
			wantStatus := runlog.Success
			if c.want == Differs {
				wantStatus = runlog.Failed
				if !errors.Is(res.Err, ErrDiffers) || !strings.Contains(st.errs[res.ID], fmt.Sprintf("%d live rows, Close has %d", c.stored, c.close)) {
					t.Errorf("error %v, recorded %q", res.Err, st.errs[res.ID])
				}
			}
			if res.Status != wantStatus || st.finished[res.ID] != wantStatus {
				t.Errorf("status %s (recorded %s), want %s: %v", res.Status, st.finished[res.ID], wantStatus, res.Err)
			}
			if (c.how == "listed ids") != (listings == 1) {
				t.Errorf("%d listings", listings)
			}
			if c.how == "listed ids" && v.CloseNewest.Day() != 7 {
				t.Errorf("newest date_updated listed: %s", v.CloseNewest)
			}
		})
	}
}
