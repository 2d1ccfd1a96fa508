package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// recording is a conversation with Close recorded as JSON under testdata/:
// each listing call (ListOffset, ListCursor, Search) gets the next
// listing, and each Get the body recorded for its path.
type recording struct {
	Listings []struct {
		Pages [][]json.RawMessage `json:"pages"`
		// End is how the listing ends after its pages: "" (the end),
		// "max_skip <n>" or "cursor_expired".
		End string `json:"end"`
	} `json:"listings"`
	// Gets are response bodies by path; a count probe (_limit=0) is
	// "<path> count".
	Gets map[string]json.RawMessage `json:"gets"`
}

// replay is a Client that answers from a recording and keeps what it was
// asked.
type replay struct {
	rec    recording
	next   int
	calls  []string         // "<kind> <path>", in order
	params []url.Values     // the query of each listing call
	bodies []map[string]any // the body of each search
}

func loadRecording(t *testing.T, name string) *replay {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	c := &replay{}
	if err := json.Unmarshal(b, &c.rec); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func (c *replay) Get(_ context.Context, path string, q url.Values, out any) error {
	key := path
	if q.Get("_limit") == "0" {
		key += " count"
	}
	c.calls = append(c.calls, "GET "+key)
	body, ok := c.rec.Gets[key]
	if !ok {
		return fmt.Errorf("GET %s: %w", key, closeapi.ErrNotFound)
	}
	return json.Unmarshal(body, out)
}

func (c *replay) list(kind, path string, q url.Values, fn func(closeapi.Page) error) error {
	c.calls, c.params = append(c.calls, kind+" "+path), append(c.params, q)
	if c.next >= len(c.rec.Listings) {
		return fmt.Errorf("%s %s: no listing recorded for call %d", kind, path, c.next+1)
	}
	l := c.rec.Listings[c.next]
	c.next++
	for i, data := range l.Pages {
		p := closeapi.Page{Data: data, HasMore: i < len(l.Pages)-1 || l.End != "", Number: i + 1}
		if err := fn(p); err != nil {
			return err
		}
	}
	switch l.End {
	case "":
		return nil
	case "cursor_expired":
		return closeapi.ErrCursorExpired
	}
	var n int
	if _, err := fmt.Sscanf(l.End, "max_skip %d", &n); err == nil {
		return &closeapi.MaxSkipError{Skip: 2 * len(l.Pages), Max: n}
	}
	return fmt.Errorf("recorded end %q", l.End)
}

func (c *replay) ListOffset(_ context.Context, path string, q url.Values, _ int, fn func(closeapi.Page) error) error {
	return c.list("OFFSET", path, q, fn)
}

func (c *replay) ListCursor(_ context.Context, path string, q url.Values, _ int, fn func(closeapi.Page) error) error {
	return c.list("CURSOR", path, q, fn)
}

func (c *replay) Search(_ context.Context, body map[string]any, fn func(closeapi.Page) error) error {
	c.bodies = append(c.bodies, body)
	return c.list("SEARCH", "/data/search/", nil, fn)
}

func (c *replay) Post(_ context.Context, path string, _, _ any) error {
	return fmt.Errorf("POST %s: nothing recorded", path)
}

// recordedDay reads a day of the daily recording: GET /day/<date>/.
func recordedDay(ctx context.Context, c Client, day time.Time, _ *DayContext) ([]json.RawMessage, error) {
	var resp closeapi.SinglePage
	err := c.Get(ctx, "/day/"+day.Format(time.DateOnly)+"/", nil, &resp)
	return resp.Data, err
}

// walkerReport declares a test report of the walker w.
func walkerReport(w Walker, method Method, st Strategy, sources ...Source) *Report {
	return &Report{Name: "things", Sources: sources, Walk: w, Method: method, Strategy: st,
		Table: deletedBy(&schema.DeleteRule{ObjectType: "thing"}, table("things", []schema.Column{ts("date_created"), ts("date_updated")}))}
}

func TestWalkers(t *testing.T) {
	keyset := Strategy{Filter: ParamFilter, Field: "date_updated", OrderBy: "date_created", Overlap: 2 * time.Minute, Keyset: "date_created"}
	// The recordings answer the count probe: Counts.
	offset := walkerReport(Offset{PageSize: 2, Counts: true}, Incremental, keyset, Source{Path: "/thing/"})
	cursor := walkerReport(Cursor{PageSize: 2}, Incremental,
		Strategy{Filter: ParamFilter, Field: "date_updated", Overlap: 2 * time.Minute, Lag: 5 * time.Minute}, Source{Path: "/event/"})
	search := walkerReport(Search{}, Incremental, Strategy{Field: "date_updated", Overlap: 2 * time.Minute, Ordered: true},
		Source{Path: "/data/search/", Params: url.Values{"object_type": {"thing"}}})
	daily := &Report{Name: "daily_things", Sources: src("/day/"), Walk: Daily{Day: recordedDay}, Method: Incremental,
		Strategy: Strategy{Field: "date", Window: 48 * time.Hour},
		Table:    schema.Table{Name: "daily_things", Columns: []schema.Column{str("id")}, Key: []string{"id"}}}
	single := walkerReport(Single{}, Full, Strategy{}, Source{Path: "/status/"})
	object := walkerReport(Object{}, Full, Strategy{}, Source{Path: "/me/"})
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

	keysetBatches := [][]string{{"t1", "t2"}, {"t3", "t4"}, {"t4", "t5"}, {"t6", "t7"}, {"t7", "t8"}, {"t9"}}
	tests := []struct {
		name, recording string
		req             Request
		// batches are the ids of each batch, in order; marks the bookmark
		// of each batch ("" none).
		batches [][]string
		marks   []string
		// calls are the requests the walk makes; param names one query
		// parameter (or the search's on_or_after) of each listing call.
		calls  []string
		param  string
		values []string
		plan   Plan
	}{{
		name: "offset: a max_skip cap and a restart of its own, from the last key", recording: "walk_offset_keyset.json",
		req:     Request{Report: offset},
		batches: append(slices.Clone(keysetBatches), nil),
		marks:   []string{"", "", "", "", "", "", "2026-11-21T11:30:00Z"},
		calls:   []string{"OFFSET /thing/", "OFFSET /thing/", "OFFSET /thing/"},
		param:   "date_created__gte", values: []string{"", "2026-11-01T00:00:04.000000", "2026-11-01T00:00:07.000000"},
		plan: Plan{Report: "things", Window: "_order_by=date_created", Records: 9, Requests: 5, Probes: 1},
	}, {
		name: "offset: resume from the bookmark less the overlap", recording: "walk_offset_keyset.json",
		req:     Request{Report: offset, Bookmark: mark("2026-11-20T12:00:00Z"), StartDate: start},
		batches: append(slices.Clone(keysetBatches), nil),
		marks:   []string{"", "", "", "", "", "", "2026-11-21T11:30:00Z"},
		calls:   []string{"OFFSET /thing/", "OFFSET /thing/", "OFFSET /thing/"},
		param:   "date_updated__gte", values: []string{"2026-11-20T11:58:00.000000", "2026-11-20T11:58:00.000000", "2026-11-20T11:58:00.000000"},
		plan: Plan{Report: "things", Window: "_order_by=date_created date_updated__gte=2026-11-20T11:58:00.000000", Records: 9, Requests: 5, Probes: 1},
	}, {
		name: "offset: a stored bookmark newer than every record stays", recording: "walk_offset_keyset.json",
		req:     Request{Report: offset, Bookmark: mark("2026-11-22T00:00:00Z")},
		batches: keysetBatches,
		marks:   []string{"", "", "", "", "", ""},
		calls:   []string{"OFFSET /thing/", "OFFSET /thing/", "OFFSET /thing/"},
		param:   "date_updated__gte", values: []string{"2026-11-21T23:58:00.000000", "2026-11-21T23:58:00.000000", "2026-11-21T23:58:00.000000"},
		plan: Plan{Report: "things", Window: "_order_by=date_created date_updated__gte=2026-11-21T23:58:00.000000", Records: 9, Requests: 5, Probes: 1},
	}, {
		name: "offset: ids only, from the start date, without bookmarks", recording: "walk_offset_keyset.json",
		req:     Request{Report: offset, Bookmark: mark("2026-11-20T12:00:00Z"), IDsOnly: true},
		batches: keysetBatches,
		marks:   []string{"", "", "", "", "", ""},
		calls:   []string{"OFFSET /thing/", "OFFSET /thing/", "OFFSET /thing/"},
		param:   "_fields", values: []string{"id,date_created,date_updated", "id,date_created,date_updated", "id,date_created,date_updated"},
		plan: Plan{Report: "things", Window: "_order_by=date_created date_updated__gte=2026-11-20T11:58:00.000000", Records: 9, Requests: 5, Probes: 1},
	}, {
		name: "cursor: the bookmark lags now", recording: "walk_cursor.json",
		req:     Request{Report: cursor, StartDate: start},
		batches: [][]string{{"ev_1", "ev_2"}, {"ev_3"}, nil},
		marks:   []string{"", "", "2026-11-22T11:55:00Z"},
		calls:   []string{"CURSOR /event/"},
		param:   "date_updated__gte", values: []string{"2026-11-01T00:00:00.000000"},
		plan: Plan{Report: "things", Window: "date_updated__gte=2026-11-01T00:00:00.000000", Records: -1, Requests: -1, Note: noteNoSpan, Probes: 1},
	}, {
		name: "search: an expired cursor re-queries from the position", recording: "walk_search.json",
		req:     Request{Report: search},
		batches: [][]string{{"s1", "s2"}, {"s3"}, {"s3", "s4"}},
		marks:   []string{"2026-11-20T08:00:02Z", "2026-11-20T08:00:03Z", "2026-11-20T08:00:04Z"},
		calls:   []string{"SEARCH /data/search/", "SEARCH /data/search/"},
		param:   "on_or_after", values: []string{"", "2026-11-20T08:00:03.000000+00:00"},
		// The first page: 2 records in a second, extrapolated over the
		// 187,198 s from its last one to now.
		plan: Plan{Report: "things", Window: "search thing, everything", Records: 374398, Requests: 1872, Approx: true, Note: noteSampled, Probes: 1},
	}, {
		name: "search: resume from the bookmark less the overlap", recording: "walk_search.json",
		req:     Request{Report: search, Bookmark: mark("2026-11-20T08:02:02Z")},
		batches: [][]string{{"s1", "s2"}, {"s3"}, {"s3", "s4"}},
		marks:   []string{"", "", ""},
		calls:   []string{"SEARCH /data/search/", "SEARCH /data/search/"},
		param:   "on_or_after", values: []string{"2026-11-20T08:00:02.000000+00:00", "2026-11-20T08:00:03.000000+00:00"},
		plan: Plan{Report: "things", Window: "search thing, date_updated >= 2026-11-20T08:00:02Z", Records: 374398, Requests: 1872, Approx: true,
			Note: noteSampled, Probes: 1},
	}, {
		name: "daily: the window before the bookmark, then today without a bookmark", recording: "walk_daily.json",
		req:     Request{Report: daily, Bookmark: mark("2026-11-21T00:00:00Z"), Params: map[string]string{"organization_id": "orga_1", "user_id": "user_1"}},
		batches: [][]string{{"d20"}, {"d21a", "d21b"}, {"d22"}},
		marks:   []string{"2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", ""},
		calls:   []string{"GET /day/2026-11-20/", "GET /day/2026-11-21/", "GET /day/2026-11-22/"},
		plan:    Plan{Report: "daily_things", Window: "days 2026-11-20 to 2026-11-22 (UTC)", Records: -1, Requests: 4, Note: noteDaily},
	}, {
		name: "single: one response", recording: "walk_single.json",
		req:     Request{Report: single},
		batches: [][]string{{"stat_1", "stat_2"}},
		marks:   []string{""},
		calls:   []string{"GET /status/"},
		plan:    Plan{Report: "things", Window: "everything (replaced)", Records: 2, Requests: 1, Probes: 1},
	}, {
		name: "object: one object", recording: "walk_single.json",
		req:     Request{Report: object},
		batches: [][]string{{"user_1"}},
		marks:   []string{""},
		calls:   []string{"GET /me/"},
		plan:    Plan{Report: "things", Window: "everything (replaced)", Records: 1, Requests: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Now = now
			c := loadRecording(t, tt.recording)
			var ids [][]string
			var marks []string
			var last schema.Bookmark
			err := Extract(context.Background(), c, tt.req, func(b Batch) error {
				var page []string
				for _, r := range b.Records {
					var o struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(r.Raw, &o); err != nil {
						return err
					}
					page = append(page, o.ID)
				}
				if b.IDs != nil && !slices.Equal(b.IDs, page) {
					t.Errorf("batch %d: IDs %v, records %v", b.Page, b.IDs, page)
				}
				if b.Page != len(ids)+1 {
					t.Errorf("batch %d is page %d", len(ids)+1, b.Page)
				}
				if !b.Bookmark.IsZero() {
					if b.Bookmark.Before(last) {
						t.Errorf("batch %d: bookmark %s moved back from %s", b.Page, b.Bookmark, last)
					}
					last = b.Bookmark
				}
				ids, marks = append(ids, page), append(marks, b.Bookmark.String())
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.batches) || !slices.Equal(marks, tt.marks) {
				t.Errorf("batches %v with bookmarks %q, want %v with %q", ids, marks, tt.batches, tt.marks)
			}
			if stored := tt.req.Bookmark; !last.IsZero() && last.Before(stored) && !tt.req.IDsOnly {
				t.Errorf("the walk committed %s, behind the stored %s", last, stored)
			}
			if !slices.Equal(c.calls, tt.calls) {
				t.Errorf("calls %q, want %q", c.calls, tt.calls)
			}
			if tt.param != "" {
				var got []string
				for i := range c.params {
					if c.bodies != nil {
						got = append(got, onOrAfter(c.bodies[i]))
					} else {
						got = append(got, c.params[i].Get(tt.param))
					}
				}
				if !slices.Equal(got, tt.values) {
					t.Errorf("%s per listing %q, want %q", tt.param, got, tt.values)
				}
			}

			req := tt.req
			req.IDsOnly = false
			p, err := PlanRun(context.Background(), loadRecording(t, tt.recording), req)
			if err != nil {
				t.Fatal(err)
			}
			if p != tt.plan {
				t.Errorf("plan %+v, want %+v", p, tt.plan)
			}
		})
	}
}

// TestWalkerErrors: a walk stops at a cap it cannot page past, and names
// the report.
func TestWalkerErrors(t *testing.T) {
	keyset := Strategy{Filter: ParamFilter, Field: "date_updated", OrderBy: "date_created", Keyset: "date_created"}
	rep := walkerReport(Offset{PageSize: 2}, Incremental, keyset, Source{Path: "/thing/"})
	c := &replay{}
	c.rec.Listings = make([]struct {
		Pages [][]json.RawMessage `json:"pages"`
		End   string              `json:"end"`
	}, 2)
	same := json.RawMessage(`{"id":"a","date_created":"2026-11-01T00:00:00Z","date_updated":"2026-11-01T00:00:00Z"}`)
	for i := range c.rec.Listings {
		c.rec.Listings[i].Pages = [][]json.RawMessage{{same, same}, {same, same}}
		c.rec.Listings[i].End = "max_skip 4"
	}
	err := Extract(context.Background(), c, Request{Report: rep, Now: now}, func(Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "things:") || !strings.Contains(err.Error(), "cannot page past the API's max_skip") {
		t.Errorf("err = %v", err)
	}
	var mse *closeapi.MaxSkipError
	if errors.As(err, &mse) {
		t.Errorf("the cap is reported as the walk's own error, not Close's: %v", err)
	}
}
