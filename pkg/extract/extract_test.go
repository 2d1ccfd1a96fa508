package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// pagesClient serves canned pages and records the queries it was sent.
type pagesClient struct {
	pages   [][]string
	queries []url.Values
	paths   []string
	posts   []string // responses to POSTs, in order
}

func (c *pagesClient) Get(ctx context.Context, path string, q url.Values, out any) error {
	c.paths, c.queries = append(c.paths, path), append(c.queries, q)
	var data []json.RawMessage
	if len(c.pages) > 0 {
		for _, s := range c.pages[0] {
			data = append(data, json.RawMessage(s))
		}
	}
	b, _ := json.Marshal(map[string]any{"data": data})
	return json.Unmarshal(b, out)
}

func (c *pagesClient) list(path string, q url.Values, fn func(closeapi.Page) error) error {
	c.paths, c.queries = append(c.paths, path), append(c.queries, q)
	for i, p := range c.pages {
		var data []json.RawMessage
		for _, s := range p {
			data = append(data, json.RawMessage(s))
		}
		if err := fn(closeapi.Page{Data: data, HasMore: i < len(c.pages)-1, Number: i + 1}); err != nil {
			return err
		}
	}
	return nil
}

func (c *pagesClient) ListOffset(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	return c.list(path, q, fn)
}

func (c *pagesClient) ListCursor(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	return c.list(path, q, fn)
}

func (c *pagesClient) Search(ctx context.Context, body map[string]any, fn func(closeapi.Page) error) error {
	return c.list("/data/search/", nil, fn)
}

// Post records the call and answers with the client's next response.
func (c *pagesClient) Post(ctx context.Context, path string, body, out any) error {
	c.paths = append(c.paths, "POST "+path)
	if len(c.posts) == 0 {
		return fmt.Errorf("unexpected POST %s", path)
	}
	resp := c.posts[0]
	c.posts = c.posts[1:]
	return json.Unmarshal([]byte(resp), out)
}

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestIncrementalQueries(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		report, bookmark string
		window           time.Duration
		want             map[string]string
	}{
		{"leads", "", 0, map[string]string{"query": `date_updated >= "2024-01-01T00:00" sort:created`}},
		{"leads", "2026-11-20T10:30:45.5Z", 0, map[string]string{"query": `date_updated >= "2026-11-20T10:28" sort:created`}},
		{"opportunities", "2026-11-20T10:30:00Z", 0, map[string]string{"date_updated__gte": "2026-11-20T10:28:00.000000", "_order_by": "date_created"}},
		{"tasks", "", 0, map[string]string{"date_updated__gte": "2024-01-01T00:00:00.000000", "_type": "all", "_order_by": "date_created"}},
		// Activities re-read the attribution window (24h by default) plus the overlap.
		{"activities", "2026-11-20T10:30:00Z", 0, map[string]string{"date_created__gte": "2026-11-19T10:28:00.000000"}},
		{"activities_call", "2026-11-20T10:30:00Z", time.Hour, map[string]string{"date_created__gte": "2026-11-20T09:28:00.000000"}},
		// The window never reaches before start_date.
		{"activities", "2024-01-01T10:00:00Z", 0, map[string]string{"date_created__gte": "2024-01-01T00:00:00.000000"}},
		// A bookmark in the future is ignored: read from start_date.
		{"opportunities", "2031-01-01T00:00:00Z", 0, map[string]string{"date_updated__gte": "2024-01-01T00:00:00.000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.report+"/"+tt.bookmark, func(t *testing.T) {
			rep, _ := Lookup(tt.report)
			c := &pagesClient{}
			var warned []string
			err := Extract(context.Background(), c, Request{Report: rep, Bookmark: mark(tt.bookmark), StartDate: start, Window: tt.window, Now: now,
				Warn: func(m string) { warned = append(warned, m) }}, func(Batch) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := c.queries[0].Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.HasPrefix(tt.bookmark, "2031") && len(warned) != 1 {
				t.Errorf("future bookmark: warnings = %v", warned)
			}
		})
	}
}

func lead(id, updated string, custom ...string) string {
	s := fmt.Sprintf(`{"id":%q,"date_updated":%q`, id, updated)
	for i := 0; i+1 < len(custom); i += 2 {
		s += fmt.Sprintf(`,"custom.%s":%s`, custom[i], custom[i+1])
	}
	return s + `}`
}

func TestBookmarkCommittedOnlyAfterUnorderedWalk(t *testing.T) {
	rep, _ := Lookup("leads")
	c := &pagesClient{pages: [][]string{
		{lead("lead_1", "2026-11-21T09:00:00.000000+00:00", "cf_a", `"x"`, "cf_b", `[1,2]`), lead("lead_2", "2026-11-01T00:00:00+00:00")},
		{lead("lead_3", "2026-11-22T13:00:00.000000+00:00")}, // updated after the run started
	}}
	var batches []Batch
	err := Extract(context.Background(), c, Request{Report: rep, Now: now}, func(b Batch) error {
		batches = append(batches, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 3 {
		t.Fatalf("batches = %d, want 2 pages and a bookmark", len(batches))
	}
	if batches[0].Bookmark.String() != "" || batches[1].Bookmark.String() != "" {
		t.Errorf("walk in creation order must not commit a bookmark per page: %q %q", batches[0].Bookmark.String(), batches[1].Bookmark.String())
	}
	if got, want := batches[2].Bookmark.String(), "2026-11-22T12:00:00Z"; got != want {
		t.Errorf("final bookmark = %q, want the run start %q (never later)", got, want)
	}
	if got := string(batches[0].Records[0].Custom); got != `{"cf_a":"x","cf_b":[1,2]}` {
		t.Errorf("custom = %s", got)
	}
	if batches[0].Records[1].Custom != nil {
		t.Errorf("a record without custom fields has custom %s", batches[0].Records[1].Custom)
	}
}

func TestOrderedWalkBookmarksEveryBatch(t *testing.T) {
	rep, _ := Lookup("activities")
	act := func(id, created string) string { return fmt.Sprintf(`{"id":%q,"date_created":%q}`, id, created) }
	c := &pagesClient{pages: [][]string{
		{act("acti_1", "2026-11-01T00:00:00+00:00")},
		{act("acti_2", "2026-11-02T00:00:00.5+00:00")},
	}}
	var got []string
	Extract(context.Background(), c, Request{Report: rep, Now: now}, func(b Batch) error {
		got = append(got, b.Bookmark.String())
		return nil
	})
	if strings.Join(got, ",") != "2026-11-01T00:00:00Z,2026-11-02T00:00:00.5Z" {
		t.Errorf("bookmarks = %v", got)
	}
}

func TestEventLogBookmarkLagsNow(t *testing.T) {
	rep, _ := Lookup("event_log")
	c := &pagesClient{pages: [][]string{{`{"id":"ev_1","date_updated":"2026-11-22T11:58:00+00:00"}`}}}
	var last Batch
	Extract(context.Background(), c, Request{Report: rep, Now: now}, func(b Batch) error { last = b; return nil })
	if last.Bookmark.String() != "2026-11-22T11:55:00Z" {
		t.Errorf("bookmark = %q, want now-5m", last.Bookmark.String())
	}
}

func TestBookmarkNeverMovesBack(t *testing.T) {
	rep, _ := Lookup("opportunities")
	c := &pagesClient{pages: [][]string{{`{"id":"oppo_1","date_updated":"2026-11-20T10:29:00+00:00"}`}}}
	var batches []Batch
	Extract(context.Background(), c, Request{Report: rep, Bookmark: mark("2026-11-20T10:30:00Z"), Now: now}, func(b Batch) error {
		batches = append(batches, b)
		return nil
	})
	for _, b := range batches {
		if b.Bookmark.String() != "" {
			t.Errorf("bookmark moved to %q; the stored one was later", b.Bookmark.String())
		}
	}
}

func TestMultiSourceTagsRecords(t *testing.T) {
	rep, _ := Lookup("custom_fields")
	c := &pagesClient{pages: [][]string{{`{"id":"cf_1"}`}}}
	var tags []string
	Extract(context.Background(), c, Request{Report: rep, Now: now}, func(b Batch) error {
		for _, r := range b.Records {
			tags = append(tags, r.Tag)
		}
		return nil
	})
	if strings.Join(tags, ",") != "lead,contact,opportunity,activity,custom_object,shared" || len(c.paths) != 6 {
		t.Errorf("tags = %v, paths = %v", tags, c.paths)
	}
}

func TestBadRecordAndEmitErrorsNamePage(t *testing.T) {
	rep, _ := Lookup("leads")
	c := &pagesClient{pages: [][]string{{`{"id":"lead_1","date_updated":"2026-01-01T00:00:00Z"}`}, {`[1,2]`}}}
	err := Extract(context.Background(), c, Request{Report: rep, Now: now}, func(Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "leads: page 2 record 0: not a JSON object") {
		t.Errorf("err = %v", err)
	}
	boom := errors.New("disk full")
	err = Extract(context.Background(), &pagesClient{pages: [][]string{{`{"id":"lead_1"}`}}}, Request{Report: rep, Now: now}, func(Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("emit error lost: %v", err)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2024-03-01T10:11:12.345000+00:00", "2021-07-13T11:36:04.983404", "2022-11-12T18:00:00+00:00", "2021-07-16", "2024-01-01T10:00"} {
		if _, err := parseTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parsed garbage")
	}
}

func TestCatalogTablesAreValid(t *testing.T) {
	for _, r := range Catalog() {
		if err := r.Table.Validate(); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
		if r.Parent == "" && len(r.Sources) == 0 {
			t.Errorf("%s: no source", r.Name)
		}
		if r.Parent != "" {
			if p, ok := Lookup(r.Parent); !ok || Root(r) != p {
				t.Errorf("%s: parent %q not in catalog", r.Name, r.Parent)
			}
		}
		if r.Doc == "" {
			t.Errorf("%s: no documentation", r.Name)
		}
	}
}

// mark is the bookmark a test's text names.
func mark(s string) schema.Bookmark {
	b, err := schema.ParseBookmark(s)
	if err != nil {
		panic(err)
	}
	return b
}
