package closefake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func regular(objType, field string) map[string]any {
	return map[string]any{"type": "regular_field", "object_type": objType, "field_name": field}
}

func searchBody(objType string, extra ...map[string]any) map[string]any {
	queries := []any{map[string]any{"type": "object_type", "object_type": objType}}
	for _, q := range extra {
		queries = append(queries, q)
	}
	return map[string]any{"query": map[string]any{"type": "and", "queries": queries}}
}

// search walks a search cursor to its end.
func (c *client) search(body map[string]any) (rows []map[string]any, pages int) {
	c.t.Helper()
	for {
		r := ok(c.t, "search", c.do(http.MethodPost, "/data/search/", body, nil))
		rows = append(rows, r.data()...)
		pages++
		cur, _ := r.body["cursor"].(string)
		if cur == "" {
			return rows, pages
		}
		body["cursor"] = cur
	}
}

func TestSearchWalk(t *testing.T) {
	s, c := newTest(t, Options{Seed: 9, Scale: 250})
	since := "2026-02-01T00:00:00+00:00"
	body := searchBody("lead", map[string]any{"type": "field_condition", "field": regular("lead", "date_updated"),
		"condition": map[string]any{"type": "moment_range", "on_or_after": map[string]any{"type": "fixed_utc", "value": since}}})
	body["_limit"] = 20
	body["_fields"] = map[string]any{"lead": []any{"id", "name", "date_updated"}}
	body["sort"] = []any{map[string]any{"direction": "asc", "field": regular("lead", "date_updated")}}
	rows, pages := c.search(body)
	want := 0
	for _, l := range s.Objects(KindLead) {
		if timeKey(l["date_updated"]) >= timeKey(since) {
			want++
		}
	}
	if len(rows) != want || want < 40 || pages != (want+19)/20 {
		t.Fatalf("%d rows in %d pages, want %d", len(rows), pages, want)
	}
	for i, r := range rows {
		if len(r) != 3 {
			t.Fatalf("row %v: want exactly the named fields", r)
		}
		if i > 0 {
			a, b := timeKey(rows[i-1]["date_updated"]), timeKey(r["date_updated"])
			if a > b || (a == b && rows[i-1]["id"].(string) > r["id"].(string)) {
				t.Fatalf("not sorted by date_updated, id at %d", i)
			}
		}
	}
	// Without _fields: bare ids.
	bare := searchBody("contact")
	bare["_limit"] = 200
	ids, _ := c.search(bare)
	if len(ids) != s.Count(KindContact) {
		t.Errorf("contacts: %d of %d", len(ids), s.Count(KindContact))
	}
	for _, r := range ids {
		if len(r) != 1 || !strings.HasPrefix(r["id"].(string), "cont_") {
			t.Fatalf("bare row %v", r)
		}
	}
}

func TestSearchQueryNodes(t *testing.T) {
	s, c := newTest(t, Options{Seed: 9, Scale: 60})
	leads := s.Objects(KindLead)
	status := leads[0]["status_id"].(string)
	withStatus := 0
	for _, l := range leads {
		if l["status_id"] == status {
			withStatus++
		}
	}
	for _, tt := range []struct {
		name string
		node map[string]any
		want int
	}{
		{"match_all", map[string]any{"type": "match_all"}, len(leads)},
		{"id_set", map[string]any{"type": "id_set", "ids": []any{leads[1]["id"], leads[2]["id"]}}, 2},
		{"term", map[string]any{"type": "field_condition", "field": regular("lead", "status_id"),
			"condition": map[string]any{"type": "term", "values": []any{status}}}, withStatus},
		{"not term", map[string]any{"type": "not", "query": map[string]any{"type": "field_condition", "field": regular("lead", "status_id"),
			"condition": map[string]any{"type": "term", "values": []any{status}}}}, len(leads) - withStatus},
		{"or", map[string]any{"type": "or", "queries": []any{
			map[string]any{"type": "id_set", "ids": []any{leads[1]["id"]}}, map[string]any{"type": "id_set", "ids": []any{leads[2]["id"]}}}}, 2},
		{"before", map[string]any{"type": "field_condition", "field": regular("lead", "date_created"),
			"condition": map[string]any{"type": "moment_range", "before": map[string]any{"type": "fixed_local_date", "value": "1999-01-01", "which": "start"}}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := searchBody("lead", tt.node)
			b["_limit"] = 200
			rows, _ := c.search(b)
			if len(rows) != tt.want {
				t.Errorf("%d rows, want %d", len(rows), tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		body map[string]any
	}{
		{"no object_type", map[string]any{"query": map[string]any{"type": "match_all"}}},
		{"unsupported node", searchBody("lead", map[string]any{"type": "has_related"})},
		{"unsearchable type", searchBody("webhook")},
		{"limit past 200", func() map[string]any { b := searchBody("lead"); b["_limit"] = 201; return b }()},
		{"invalid cursor", func() map[string]any { b := searchBody("lead"); b["cursor"] = "nope"; return b }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := c.do(http.MethodPost, "/data/search/", tt.body, nil); r.code != 400 {
				t.Errorf("%d %s", r.code, r.raw)
			}
		})
	}
}

func TestSearchCursorExpires(t *testing.T) {
	clk := &clock{fixedNow}
	_, c := newTest(t, Options{Seed: 9, Scale: 50, Now: clk.now})
	b := searchBody("lead")
	b["_limit"] = 10
	r := ok(t, "page 1", c.do(http.MethodPost, "/data/search/", b, nil))
	b["cursor"] = r.body["cursor"]
	clk.t = clk.t.Add(29 * time.Second)
	r = ok(t, "page 2 within 30 s", c.do(http.MethodPost, "/data/search/", b, nil))
	b["cursor"] = r.body["cursor"]
	clk.t = clk.t.Add(31 * time.Second)
	r = c.do(http.MethodPost, "/data/search/", b, nil)
	if text := strings.ToLower(string(r.raw)); r.code != 400 || !strings.Contains(text, "cursor") || !strings.Contains(text, "expired") {
		t.Errorf("expired cursor: %d %s", r.code, r.raw)
	}
}

func TestSearchWalkCap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000+ contacts")
	}
	s, c := newTest(t, Options{Seed: 10, Scale: 5300})
	if s.Count(KindContact) <= searchWalkCap {
		t.Fatalf("only %d contacts", s.Count(KindContact))
	}
	b := searchBody("contact")
	b["_limit"] = 200
	rows, pages := c.search(b)
	if len(rows) != searchWalkCap || pages != searchWalkCap/200 {
		t.Errorf("one walk returned %d contacts in %d pages, want %d", len(rows), pages, searchWalkCap)
	}
	b = searchBody("contact")
	b["_limit"] = 200
	b["results_limit"] = 450
	if rows, _ := c.search(b); len(rows) != 450 {
		t.Errorf("results_limit 450: %d", len(rows))
	}
}

// TestSearchFieldsCap: a _fields list longer than MaxSearchFields (50 by
// default) is a 400 with Close's validation body; ExtraContactFields
// makes an organisation with that many more contact fields.
func TestSearchFieldsCap(t *testing.T) {
	for _, tt := range []struct {
		name   string
		max    int
		fields int
		want   int
	}{
		{"default allows 50", 0, 50, http.StatusOK},
		{"default refuses 51", 0, 51, http.StatusBadRequest},
		{"configured 10 refuses 11", 10, 11, http.StatusBadRequest},
		{"negative lifts the cap", -1, 400, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newTest(t, Options{Seed: 3, Scale: 10, MaxSearchFields: tt.max, ExtraContactFields: 400})
			var defs []any
			for _, f := range s.Objects(KindCustomField) {
				if f["object_type"] == "contact" {
					defs = append(defs, "custom."+f["id"].(string))
				}
			}
			if len(defs) < 403 {
				t.Fatalf("%d contact fields, want 403", len(defs))
			}
			body := searchBody("contact")
			body["_fields"] = map[string]any{"contact": defs[:tt.fields]}
			r := c.do(http.MethodPost, "/data/search/", body, nil)
			if r.code != tt.want {
				t.Fatalf("%d fields: status %d, want %d: %s", tt.fields, r.code, tt.want, r.raw)
			}
			if tt.want == http.StatusBadRequest {
				fe, _ := r.body["field-errors"].(map[string]any)
				if _, ok := r.body["errors"].([]any); !ok || fe["_fields"] == nil {
					t.Errorf("not Close's validation body: %s", r.raw)
				}
			}
		})
	}
}
