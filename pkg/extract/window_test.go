package extract

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestWindowQueries: a backfill window reads from Since (not from the
// bookmark less the overlap) and every filter strategy bounds it by Until.
func TestWindowQueries(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	since, until := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 6, 1, 12, 30, 0, 0, time.UTC)
	const bm = "2026-11-20T10:30:00Z"
	tests := []struct {
		report       string
		since, until time.Time
		full         bool
		want         map[string]string
	}{
		{"leads", since, until, false, map[string]string{"query": `date_updated >= "2023-03-01T00:00" date_updated <= "2023-06-01T12:30" sort:created`}},
		{"opportunities", since, until, false, map[string]string{"date_updated__gte": "2023-03-01T00:00:00.000000", "date_updated__lt": "2023-06-01T12:30:00.000000"}},
		{"activities", since, until, false, map[string]string{"date_created__gte": "2023-03-01T00:00:00.000000", "date_created__lt": "2023-06-01T12:30:00.000000"}},
		{"event_log", since, time.Time{}, false, map[string]string{"date_updated__gte": "2023-03-01T00:00:00.000000", "date_updated__lt": ""}},
		// A full refresh reads from start_date as a first run, despite the bookmark.
		{"activities", time.Time{}, time.Time{}, true, map[string]string{"date_created__gte": "2024-01-01T00:00:00.000000"}},
		{"leads", time.Time{}, time.Time{}, true, map[string]string{"query": `date_updated >= "2024-01-01T00:00" sort:created`}},
	}
	for _, tt := range tests {
		t.Run(tt.report, func(t *testing.T) {
			rep, _ := Lookup(tt.report)
			c := &pagesClient{}
			req := Request{Report: rep, Bookmark: mark(bm), StartDate: start, Now: now, Since: tt.since, Until: tt.until, FullRefresh: tt.full}
			if err := Extract(context.Background(), c, req, func(Batch) error { return nil }); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := c.queries[0].Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestWindowBookmarks: a window never moves the bookmark back, and moves it
// forward only when it starts at or before the stored bookmark (a window
// that starts after it would skip the range between them).
func TestWindowBookmarks(t *testing.T) {
	rep, _ := Lookup("opportunities")
	page := [][]string{{`{"id":"oppo_1","date_updated":"2026-11-21T09:00:00+00:00"}`}}
	tests := []struct {
		name, bookmark string
		since          time.Time
		full           bool
		want           string
	}{
		{"window from before the bookmark to now", "2026-11-20T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false, "2026-11-21T09:00:00Z"},
		{"window starting after the bookmark", "2026-11-20T00:00:00Z", time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), false, ""},
		{"window without any bookmark", "", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false, ""},
		{"window ending before the bookmark", "2026-11-22T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), false, ""},
		{"full refresh with a later bookmark", "2026-11-22T00:00:00Z", time.Time{}, true, ""},
		{"full refresh of a first run", "", time.Time{}, true, "2026-11-21T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &pagesClient{pages: page}
			var marks []string
			req := Request{Report: rep, Bookmark: mark(tt.bookmark), Now: now, Since: tt.since, FullRefresh: tt.full}
			if err := Extract(context.Background(), c, req, func(b Batch) error {
				if b.Bookmark.String() != "" {
					marks = append(marks, b.Bookmark.String())
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(marks, ","); got != tt.want {
				t.Errorf("bookmarks committed %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWindowDaysAndSearch: a Daily report reads the window's days and
// bookmarks none at or before the stored bookmark; a search is bounded by
// a before condition.
func TestWindowDaysAndSearch(t *testing.T) {
	c := &routeClient{get: map[string]string{"/me/": meBody, "/report/sent_emails/orga_1/": `{"data": []}`}}
	rep, _ := Lookup("reporting_sent_emails")
	var days, marks []string
	req := Request{Report: rep, Bookmark: mark("2026-11-21T00:00:00Z"), Now: now,
		Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)}
	if err := Extract(context.Background(), c, req, func(b Batch) error {
		days = append(days, "x")
		if b.Bookmark.String() != "" {
			marks = append(marks, b.Bookmark.String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(days) != 3 || len(marks) != 0 {
		t.Errorf("%d days read, bookmarks %v; want Nov 1-3 and no bookmark (all before the stored one)", len(days), marks)
	}
	if !strings.Contains(c.calls[1], "date_start=2026-11-01") || !strings.Contains(c.calls[len(c.calls)-1], "date_start=2026-11-03") {
		t.Errorf("days asked: %v", c.calls)
	}

	x := &run{req: Request{Until: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)}}
	body, _ := json.Marshal(x.searchUntil(searchBody("contact", "date_updated", []string{"id"}, time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)), "contact", "date_updated"))
	if !strings.Contains(string(body), `"before":{"type":"fixed_utc","value":"2023-06-01T00:00:00.000000+00:00"}`) ||
		!strings.Contains(string(body), `"on_or_after"`) {
		t.Errorf("search body: %s", body)
	}
}
