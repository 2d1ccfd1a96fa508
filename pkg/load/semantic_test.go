package load_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestPipelineDailyFollowsStatusChanges: an opportunity is counted, day by
// day, in the status its changes put it in (before the first: that change's
// old status), with the value the change carried, and not once it is won.
func TestPipelineDailyFollowsStatusChanges(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "x", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	run := load.Run{ID: id, Account: "main", Org: "orga_1", Report: "x"}
	day := func(n int) string {
		return time.Now().UTC().AddDate(0, 0, n-10).Format("2006-01-02") + "T12:00:00+00:00"
	}
	apply := func(report string, raws ...string) {
		t.Helper()
		r, _ := extract.Lookup(report)
		if err := s.EnsureTable(ctx, r.Table, schema.Upsert, "orga_1"); err != nil {
			t.Fatal(err)
		}
		var recs []schema.Record
		for _, raw := range raws {
			recs = append(recs, schema.Record{Raw: []byte(raw)})
		}
		if _, err := s.Apply(ctx, run, r.Table, schema.Upsert, load.Batch{Records: recs}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
	}
	apply("opportunities", fmt.Sprintf(`{"id":"o1","date_created":%q,"date_updated":%q,"status_id":"won","status_label":"Won","status_type":"won","value":300,"user_id":"u1"}`, day(1), day(5)))
	change := func(id string, n int, from, to, typ string, value int) string {
		return fmt.Sprintf(`{"id":%q,"_type":"OpportunityStatusChange","opportunity_id":"o1","date_created":%q,"activity_at":%q,
			"old_status_id":%q,"old_status_label":%q,"old_status_type":"active","new_status_id":%q,"new_status_label":%q,"new_status_type":%q,"opportunity_value":%d}`,
			id, day(n), day(n), from, from, to, to, typ, value)
	}
	apply("activities", change("a1", 3, "A", "B", "active", 100), change("a2", 5, "B", "won", "won", 300))
	got := dump(t, s, `SELECT string_agg(strftime(day, '%d') || ' ' || status_id || ' ' || value, ', ' ORDER BY day) FROM close.pipeline_daily`)
	var want []string
	for n := 1; n <= 4; n++ {
		st := "A"
		if n >= 3 {
			st = "B"
		}
		want = append(want, day(n)[8:10]+" "+st+" 100")
	}
	if strings.Join(got, "") != strings.Join(want, ", ") {
		t.Errorf("pipeline_daily = %v, want %v", got, strings.Join(want, ", "))
	}
}
