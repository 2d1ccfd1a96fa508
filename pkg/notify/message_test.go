package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

func TestMessagesEvents(t *testing.T) {
	ids := Changes{Created: []string{"a"}}
	tests := []struct {
		on     []string
		status runlog.Status
		ch     Changes
		want   []string
	}{
		{on: []string{OnFailure}, status: runlog.Failed, want: []string{EventFailed}},
		{on: []string{OnFailure}, status: runlog.Cancelled, want: []string{EventFailed}},
		{on: []string{OnFailure}, status: "running", want: []string{EventFailed}},
		{on: []string{OnFailure}, status: runlog.Success, ch: ids, want: nil},
		{on: []string{OnSuccess}, status: runlog.Success, want: []string{EventSucceeded}},
		{on: []string{OnSuccess}, status: runlog.Failed, want: nil},
		{on: []string{OnChanges}, status: runlog.Success, want: nil},
		{on: []string{OnChanges}, status: runlog.Success, ch: ids, want: []string{EventChanges}},
		{on: []string{OnChanges}, status: runlog.Failed, ch: ids, want: []string{EventChanges}},
		{on: []string{OnFailure, OnSuccess, OnChanges}, status: runlog.Success, ch: ids, want: []string{EventSucceeded, EventChanges}},
		{on: []string{OnFailure, OnSuccess, OnChanges}, status: runlog.Failed, ch: ids, want: []string{EventFailed, EventChanges}},
		{on: []string{OnFailure, OnSuccess}, status: runlog.Cancelled, ch: ids, want: []string{EventFailed}},
		{on: []string{OnChanges, OnChanges}, status: runlog.Success, ch: Changes{Deleted: []string{"d"}}, want: []string{EventChanges}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s/%d", tt.on, tt.status, tt.ch.Len()), func(t *testing.T) {
			var got []string
			for _, m := range messages(tt.on, DefaultChangesBatch, runlog.Run{ID: 1, Status: tt.status}, tt.ch) {
				got = append(got, m.Event)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%d", prefix, i)
	}
	return out
}

func TestChangesBatches(t *testing.T) {
	tests := []struct {
		name    string
		ch      Changes
		size    int
		wantLen []int // ids per batch
	}{
		{name: "2500 ids in batches of 1000", ch: Changes{Created: ids("c", 1200), Updated: ids("u", 1000), Deleted: ids("d", 300)},
			size: 1000, wantLen: []int{1000, 1000, 500}},
		{name: "exactly one batch", ch: Changes{Updated: ids("u", 1000)}, size: 1000, wantLen: []int{1000}},
		{name: "one over", ch: Changes{Created: ids("c", 500), Deleted: ids("d", 501)}, size: 1000, wantLen: []int{1000, 1}},
		{name: "batch of one", ch: Changes{Created: ids("c", 1), Updated: ids("u", 1), Deleted: ids("d", 1)}, size: 1, wantLen: []int{1, 1, 1}},
		{name: "no ids", ch: Changes{Created: []string{}}, size: 1000, wantLen: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := messages([]string{OnChanges}, tt.size, runlog.Run{ID: 7, Status: runlog.Success}, tt.ch)
			if len(msgs) != len(tt.wantLen) {
				t.Fatalf("%d messages, want %d", len(msgs), len(tt.wantLen))
			}
			var all Changes
			keys := map[string]bool{}
			for i, m := range msgs {
				if m.Batch == nil || m.Batch.Index != i+1 || m.Batch.Count != len(msgs) {
					t.Errorf("message %d batch = %+v, want {%d %d}", i, m.Batch, i+1, len(msgs))
				}
				if m.Changes.Created == nil || m.Changes.Updated == nil || m.Changes.Deleted == nil {
					t.Errorf("message %d has a nil list: %+v", i, m.Changes)
				}
				if got := m.Changes.Len(); got != tt.wantLen[i] {
					t.Errorf("message %d holds %d ids, want %d", i, got, tt.wantLen[i])
				}
				keys[m.ID] = true
				all.Created = append(all.Created, m.Changes.Created...)
				all.Updated = append(all.Updated, m.Changes.Updated...)
				all.Deleted = append(all.Deleted, m.Changes.Deleted...)
			}
			if len(keys) != len(msgs) {
				t.Errorf("%d distinct ids for %d messages", len(keys), len(msgs))
			}
			if len(msgs) > 0 && (!slices.Equal(all.Created, tt.ch.Created) || !slices.Equal(all.Updated, tt.ch.Updated) ||
				!slices.Equal(all.Deleted, tt.ch.Deleted)) {
				t.Error("batches do not add up to the run's changes in order")
			}
		})
	}
}

// TestMessageJSON pins the documented shape: changing it breaks receivers.
func TestMessageJSON(t *testing.T) {
	s := runlog.Run{ID: 42, Job: "hourly", Report: "leads", Account: "main", Trigger: "schedule", Status: runlog.Failed,
		StartedAt:     time.Date(2026, 8, 1, 14, 0, 0, 500, time.FixedZone("CEST", 2*3600)),
		RowsExtracted: 10, RowsUpserted: 9, RowsDeleted: 1, Requests: 3, Retries: 2, Error: "list leads: boom"}
	ch := Changes{Created: []string{"lead_a"}, Deleted: []string{"lead_b"}}
	msgs := messages([]string{OnFailure, OnChanges}, 1000, s, ch)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	run := `"run":{"run_id":42,"job":"hourly","report":"leads","account":"main","trigger":"schedule","status":"failed",` +
		`"started_at":"2026-08-01T12:00:00Z","finished_at":null,"rows_extracted":10,"rows_upserted":9,"rows_deleted":1,` +
		`"requests":3,"retries":2,"error":"list leads: boom"}`
	want := []string{
		`{"event":"run.failed","id":"` + msgs[0].ID + `",` + run + `}`,
		`{"event":"run.changes","id":"` + msgs[1].ID + `",` + run +
			`,"changes":{"created":["lead_a"],"updated":[],"deleted":["lead_b"]},"batch":{"index":1,"count":1}}`,
	}
	for i, m := range msgs {
		b, err := encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, b, want[i])
		}
		var back Message
		if err := json.Unmarshal(b, &back); err != nil || back.Event != m.Event {
			t.Errorf("message %d does not decode into Message: %v", i, err)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	start := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	s := runlog.Run{ID: 42, Job: "j", Report: "leads", Account: "a", StartedAt: start}
	base := idempotencyKey(s, EventChanges, 1)
	if again := idempotencyKey(s, EventChanges, 1); again != base {
		t.Errorf("key not stable: %q then %q", base, again)
	}
	other := s
	other.ID = 0
	zero := other
	zero.StartedAt = start.Add(time.Second)
	differs := map[string]string{
		"batch":         idempotencyKey(s, EventChanges, 2),
		"event":         idempotencyKey(s, EventFailed, 1),
		"run":           idempotencyKey(runlog.Run{ID: 43, Job: "j", Report: "leads", Account: "a", StartedAt: start}, EventChanges, 1),
		"unrecorded":    idempotencyKey(other, EventChanges, 1),
		"start of id 0": idempotencyKey(zero, EventChanges, 1),
	}
	for name, k := range differs {
		if k == base || (name == "start of id 0" && k == differs["unrecorded"]) {
			t.Errorf("%s: key %q collides", name, k)
		}
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"3600", maxDelay, true},
		{"99999999999999999999", 0, false},
		{"-1", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), maxDelay, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestWireRunGolden pins the "run" object built from a complete runlog.Run:
// what the run record holds beyond the wire format (organization, bookmark)
// is not sent, the error is Err's text when no message is stored, and times
// are sent in UTC to the second.
func TestWireRunGolden(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	finished := time.Date(2026, 8, 1, 14, 1, 30, 999, cest)
	r := runlog.Run{ID: 7, Job: "hourly", Report: "event_log", Account: "main", Org: "orga_1", Trigger: runlog.Retry,
		Status: runlog.Cancelled, StartedAt: time.Date(2026, 8, 1, 14, 0, 0, 0, cest), FinishedAt: &finished,
		RowsExtracted: 5, RowsUpserted: 4, RowsDeleted: 2, Requests: 6, Retries: 1,
		Err: errors.New("context canceled"), Bookmark: schema.BookmarkAt(finished)}
	b, err := json.Marshal(wireRun(r))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"run_id":7,"job":"hourly","report":"event_log","account":"main","trigger":"retry","status":"cancelled",` +
		`"started_at":"2026-08-01T12:00:00Z","finished_at":"2026-08-01T12:01:30Z","rows_extracted":5,"rows_upserted":4,` +
		`"rows_deleted":2,"requests":6,"retries":1,"error":"context canceled"}`
	if string(b) != want {
		t.Errorf("wire run:\n got %s\nwant %s", b, want)
	}
	r.Err, r.Error, r.FinishedAt = nil, "", nil
	b, _ = json.Marshal(wireRun(r))
	if !strings.Contains(string(b), `"finished_at":null,`) || !strings.HasSuffix(string(b), `"error":""}`) {
		t.Errorf("a run without a finish or an error: %s", b)
	}
}
