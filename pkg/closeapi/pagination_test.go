package closeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// offsetServer serves n leads with _skip/_limit/has_more like Close.
type offsetServer struct {
	n        int
	maxLimit int    // server's page cap (0: none)
	maxSkip  int    // 400 above this (0: none)
	skipMsg  string // body of that 400
	noMore   bool   // ignore pagination and omit has_more (statuses, pipelines)
	emptyAt  int    // return an empty page with has_more at this skip (0: never)

	mu      sync.Mutex
	queries []url.Values
}

func (s *offsetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	items := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf(`{"id": "lead_%d", "name": "Lead %d"}`, i, i))
		}
		return out
	}
	if s.noMore {
		fmt.Fprintf(w, `{"data": [%s]}`, strings.Join(items(0, s.n), ", "))
		return
	}
	skip, _ := strconv.Atoi(q.Get("_skip"))
	limit, err := strconv.Atoi(q.Get("_limit"))
	if err != nil {
		limit = 100
	}
	if s.maxLimit > 0 {
		limit = min(limit, s.maxLimit)
	}
	if s.maxSkip != 0 && skip > s.maxSkip { // -1: every request
		w.WriteHeader(400)
		io.WriteString(w, s.skipMsg)
		return
	}
	if s.emptyAt > 0 && skip == s.emptyAt {
		fmt.Fprintf(w, `{"data": [], "has_more": true, "total_results": %d}`, s.n)
		return
	}
	end := min(skip+limit, s.n)
	fmt.Fprintf(w, `{"data": [%s], "has_more": %v, "total_results": %d}`, strings.Join(items(skip, end), ", "), end < s.n, s.n)
}

func TestListOffset(t *testing.T) {
	tests := []struct {
		name      string
		srv       *offsetServer
		q         url.Values
		limit     int
		wantSkips []int
		wantIDs   int
		wantMore  []bool
	}{
		{"has_more loop", &offsetServer{n: 250}, url2Values("query", "sort:created"), 100, []int{0, 100, 200}, 250, []bool{true, true, false}},
		{"exact multiple", &offsetServer{n: 200}, nil, 100, []int{0, 100}, 200, []bool{true, false}},
		{"server caps the page", &offsetServer{n: 120, maxLimit: 50}, nil, 100, []int{0, 50, 100}, 120, []bool{true, true, false}},
		{"empty page ends despite has_more", &offsetServer{n: 500, emptyAt: 200}, nil, 100, []int{0, 100, 200}, 200, []bool{true, true, true}},
		{"starts at _skip from q", &offsetServer{n: 250}, url2Values("_skip", "150"), 100, []int{150}, 100, []bool{false}},
		{"empty listing", &offsetServer{n: 0}, nil, 100, []int{0}, 0, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, tt.srv, Config{})
			var skips []int
			var more []bool
			ids := map[string]bool{}
			err := c.ListOffset(context.Background(), "/lead/", tt.q, tt.limit, func(p Page) error {
				if p.Number != len(skips)+1 {
					t.Errorf("page number %d, want %d", p.Number, len(skips)+1)
				}
				skips = append(skips, p.Skip)
				more = append(more, p.HasMore)
				for _, raw := range p.Data {
					var o struct{ ID string }
					if err := json.Unmarshal(raw, &o); err != nil {
						t.Fatal(err)
					}
					ids[o.ID] = true
				}
				if !tt.srv.noMore && p.TotalResults == nil {
					t.Error("total_results not passed on")
				}
				return nil
			})
			if err != nil {
				t.Fatalf("ListOffset: %v", err)
			}
			if fmt.Sprint(skips) != fmt.Sprint(tt.wantSkips) || fmt.Sprint(more) != fmt.Sprint(tt.wantMore) || len(ids) != tt.wantIDs {
				t.Errorf("skips %v more %v ids %d; want %v %v %d", skips, more, len(ids), tt.wantSkips, tt.wantMore, tt.wantIDs)
			}
			for i, q := range tt.srv.queries {
				if tt.limit > 0 && q.Get("_limit") != strconv.Itoa(tt.limit) {
					t.Errorf("request %d _limit %q", i, q.Get("_limit"))
				}
				if tt.limit == 0 && q.Has("_limit") {
					t.Errorf("request %d sent _limit without a limit", i)
				}
				for k := range tt.q {
					if k != "_skip" && q.Get(k) != tt.q.Get(k) {
						t.Errorf("request %d lost %s", i, k)
					}
				}
				if len(q["_skip"]) > 1 {
					t.Errorf("request %d sent _skip twice", i)
				}
			}
		})
	}
}

func TestListOffsetCallbackError(t *testing.T) {
	c, _ := newTestClient(t, &offsetServer{n: 500}, Config{})
	stop := errors.New("stop")
	pages := 0
	err := c.ListOffset(context.Background(), "/lead/", nil, 100, func(Page) error {
		pages++
		if pages == 2 {
			return stop
		}
		return nil
	})
	// Identity: ListOffset returns fn's error as is, not wrapped.
	if err != stop || pages != 2 { //nolint:errorlint // identity on purpose, see above
		t.Fatalf("err %v after %d pages", err, pages)
	}
}

func TestListOffsetMaxSkip(t *testing.T) {
	tests := []struct {
		name      string
		maxSkip   int
		body      string
		wantSkip  int
		wantMax   int
		wantIsCap bool
	}{
		{"max_skip wording (airbyte #20959)", 250,
			`{"error": "The skip you set is larger than the maximum skip for this resource (max_skip = 250). Please refine your search query."}`,
			300, 250, true},
		{"newer wording as a field error", 250,
			`{"errors": [], "field-errors": {"_skip": "Ensure this value is less than or equal to 250."}}`, 300, 250, true},
		{"newer wording without the word skip, after page 1", 250,
			`{"error": "Value must be less than or equal to 250."}`, 300, 250, true},
		{"plain text", 250, `The skip you set is larger than the maximum skip for this resource (max_skip = 250).`, 300, 250, true},
		{"limit complaint on page 1 is not a skip cap", -1, `{"error": "_limit must be less than or equal to 50"}`, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &offsetServer{n: 1000, maxSkip: tt.maxSkip, skipMsg: tt.body}
			c, _ := newTestClient(t, srv, Config{})
			pages := 0
			err := c.ListOffset(context.Background(), "/activity/email/", nil, 100, func(Page) error { pages++; return nil })
			if got := errors.Is(err, ErrMaxSkip); got != tt.wantIsCap {
				t.Fatalf("errors.Is(%v, ErrMaxSkip) = %v", err, got)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Attempts != 1 {
				t.Fatalf("err %v: want a single 400 *APIError inside", err)
			}
			var ms *MaxSkipError
			if !tt.wantIsCap {
				if errors.As(err, &ms) {
					t.Errorf("unexpected MaxSkipError %v", ms)
				}
				return
			}
			if !errors.As(err, &ms) || ms.Skip != tt.wantSkip || ms.Max != tt.wantMax {
				t.Fatalf("MaxSkipError = %+v", ms)
			}
			if pages != 3 {
				t.Errorf("%d pages before the cap, want 3", pages)
			}
			if !strings.Contains(err.Error(), "GET /activity/email/: _skip 300") {
				t.Errorf("err = %q", err)
			}
		})
	}
}

// eventServer serves n events newest first in pages of at most 50, with
// cursor_next tokens, and insists on the filter being resent.
type eventServer struct {
	t         *testing.T
	n         int
	emptyNext bool // end with "" instead of null
	stuck     bool // always return the same cursor
	mu        sync.Mutex
	cursors   []string
}

func (s *eventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("date_updated__gte") != "2026-01-01T00:00:00" || q.Has("_skip") {
		s.t.Errorf("query %v: filter not resent or _skip sent", q)
	}
	s.mu.Lock()
	s.cursors = append(s.cursors, q.Get("_cursor"))
	s.mu.Unlock()
	start := 0
	if c := q.Get("_cursor"); c != "" {
		start, _ = strconv.Atoi(strings.TrimPrefix(c, "cur_"))
	}
	limit, _ := strconv.Atoi(q.Get("_limit"))
	limit = min(max(limit, 1), 50)
	end := min(start+limit, s.n)
	var data []string
	for i := start; i < end; i++ {
		data = append(data, fmt.Sprintf(`{"id": "ev_%d", "action": "updated"}`, i))
	}
	next := "null"
	switch {
	case s.stuck:
		next = `"cur_stuck"`
	case end < s.n:
		next = fmt.Sprintf(`"cur_%d"`, end)
	case s.emptyNext:
		next = `""`
	}
	fmt.Fprintf(w, `{"data": [%s], "cursor_next": %s, "cursor_previous": null}`, strings.Join(data, ","), next)
}

func TestListCursor(t *testing.T) {
	tests := []struct {
		name        string
		srv         *eventServer
		wantCursors []string
		wantEvents  int
		wantErr     string
	}{
		{"follows cursor_next to null", &eventServer{n: 120}, []string{"", "cur_50", "cur_100"}, 120, ""},
		{"empty cursor ends", &eventServer{n: 60, emptyNext: true}, []string{"", "cur_50"}, 60, ""},
		{"no events", &eventServer{n: 0}, []string{""}, 0, ""},
		{"cursor that does not advance", &eventServer{n: 500, stuck: true}, []string{"", "cur_stuck"}, 100, "did not advance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.t = t
			c, _ := newTestClient(t, tt.srv, Config{})
			events := 0
			var last Page
			err := c.ListCursor(context.Background(), "/event/", url2Values("date_updated__gte", "2026-01-01T00:00:00"), 50, func(p Page) error {
				events += len(p.Data)
				if p.HasMore != (p.CursorNext != "") {
					t.Errorf("HasMore %v with cursor %q", p.HasMore, p.CursorNext)
				}
				last = p
				return nil
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if fmt.Sprint(tt.srv.cursors) != fmt.Sprint(tt.wantCursors) || events != tt.wantEvents {
				t.Errorf("cursors %q events %d; want %q %d", tt.srv.cursors, events, tt.wantCursors, tt.wantEvents)
			}
			if tt.wantErr == "" && (last.HasMore || last.Number != len(tt.wantCursors)) {
				t.Errorf("last page %+v", last)
			}
		})
	}
}

// searchServer answers POST /data/search/ with cursor pages of ids.
type searchServer struct {
	t          *testing.T
	n          int
	expireAt   int    // reject the cursor for this offset (0: never)
	expireBody string // the 400 body then
	mu         sync.Mutex
	bodies     []map[string]any
}

func (s *searchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/data/search/" {
		s.t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.t.Error(err)
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	if body["query"] == nil || body["_limit"] == nil || body["_fields"] == nil {
		s.t.Errorf("body lost a key: %v", body)
	}
	start := 0
	if c, ok := body["cursor"].(string); ok {
		start, _ = strconv.Atoi(strings.TrimPrefix(c, "sc_"))
		if start == s.expireAt {
			w.WriteHeader(400)
			io.WriteString(w, s.expireBody)
			return
		}
	}
	limit := int(body["_limit"].(float64))
	end := min(start+limit, s.n)
	var data []string
	for i := start; i < end; i++ {
		data = append(data, fmt.Sprintf(`{"id": "lead_%d", "__object_type": "lead"}`, i))
	}
	next := "null"
	if end < s.n {
		next = fmt.Sprintf(`"sc_%d"`, end)
	}
	fmt.Fprintf(w, `{"data": [%s], "cursor": %s}`, strings.Join(data, ","), next)
}

func TestSearch(t *testing.T) {
	srv := &searchServer{t: t, n: 450}
	c, _ := newTestClient(t, srv, Config{})
	body := map[string]any{
		"query":   map[string]any{"type": "and", "queries": []any{map[string]any{"type": "object_type", "object_type": "lead"}}},
		"_limit":  200,
		"_fields": map[string]any{"lead": []string{"id", "date_updated"}},
		"sort":    []any{map[string]any{"direction": "asc", "field": map[string]any{"type": "regular_field", "object_type": "lead", "field_name": "date_updated"}}},
	}
	var got []string
	ids := 0
	err := c.Search(context.Background(), body, func(p Page) error {
		got = append(got, p.Cursor)
		ids += len(p.Data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[sc_200 sc_400 ]" || ids != 450 {
		t.Errorf("cursors %q ids %d", got, ids)
	}
	var sent []any
	for _, b := range srv.bodies {
		sent = append(sent, b["cursor"])
	}
	if fmt.Sprint(sent) != "[<nil> sc_200 sc_400]" {
		t.Errorf("cursors sent %v", sent)
	}
	if _, ok := body["cursor"]; ok {
		t.Error("caller's body was modified")
	}
}

func TestSearchCursorExpired(t *testing.T) {
	tests := []struct{ name, body string }{
		{"expired wording", `{"error": "Cursor has expired. Please re-run your query."}`},
		{"invalid cursor", `{"errors": [], "field-errors": {"cursor": "Invalid cursor."}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &searchServer{t: t, n: 1000, expireAt: 400, expireBody: tt.body}
			c, _ := newTestClient(t, srv, Config{})
			pages := 0
			err := c.Search(context.Background(), map[string]any{"query": map[string]any{}, "_limit": 200, "_fields": map[string]any{}},
				func(Page) error { pages++; return nil })
			if !errors.Is(err, ErrCursorExpired) {
				t.Fatalf("err = %v, want ErrCursorExpired", err)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Attempts != 1 {
				t.Errorf("APIError %+v", ae)
			}
			if pages != 2 || !strings.Contains(err.Error(), "search page 3") {
				t.Errorf("pages %d err %v", pages, err)
			}
		})
	}
}
