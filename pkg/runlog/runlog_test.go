package runlog

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// TestRunJSON pins the shape closesync history --json prints: the columns
// of sync.runs in their order; neither Err nor Bookmark is sent.
func TestRunJSON(t *testing.T) {
	start := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Second)
	r := Run{ID: 3, Job: "hourly", Report: "leads", Account: "main", Trigger: Schedule, StartedAt: start, FinishedAt: &end,
		Status: Failed, RowsExtracted: 5, RowsUpserted: 4, RowsDeleted: 1, Requests: 2, Retries: 1, Error: "boom", Org: "orga_1",
		Err: errors.New("boom"), Bookmark: schema.BookmarkAt(end)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"run_id":3,"job":"hourly","report":"leads","account":"main","trigger":"schedule",` +
		`"started_at":"2026-08-01T12:00:00Z","finished_at":"2026-08-01T12:01:30Z","status":"failed",` +
		`"rows_extracted":5,"rows_upserted":4,"rows_deleted":1,"requests":2,"retries":1,"error":"boom","organization_id":"orga_1"}`
	if string(b) != want {
		t.Errorf("run JSON:\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(Run{ID: 4, Trigger: Manual, Status: Running, StartedAt: start})
	want = `{"run_id":4,"job":"","report":"","account":"","trigger":"manual","started_at":"2026-08-01T12:00:00Z",` +
		`"finished_at":null,"status":"running","rows_extracted":0,"rows_upserted":0,"rows_deleted":0,"requests":0,"retries":0}`
	if string(b) != want {
		t.Errorf("running run JSON:\n got %s\nwant %s", b, want)
	}
}

func TestErrorTextAndDuration(t *testing.T) {
	start := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(time.Minute)
	for _, tt := range []struct {
		r    Run
		want string
	}{
		{Run{}, ""},
		{Run{Err: errors.New("list leads: 503")}, "list leads: 503"},
		{Run{Error: "as stored", Err: errors.New("in process")}, "as stored"},
	} {
		if got := tt.r.ErrorText(); got != tt.want {
			t.Errorf("ErrorText of %+v = %q, want %q", tt.r, got, tt.want)
		}
	}
	if d := (Run{StartedAt: start, FinishedAt: &end}).Duration(); d != time.Minute {
		t.Errorf("Duration = %v, want 1m", d)
	}
	if d := (Run{StartedAt: time.Now().Add(-time.Hour)}).Duration(); d < time.Hour {
		t.Errorf("a running run's Duration = %v, want up to now", d)
	}
}
