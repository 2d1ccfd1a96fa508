package closefake

import (
	"net/url"
	"testing"
	"time"
)

// walkEvents follows cursor_next from q and returns the events.
func (c *client) walkEvents(q url.Values) []map[string]any {
	c.t.Helper()
	var all []map[string]any
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	for pages := 0; ; pages++ {
		r := ok(c.t, "/event/", c.get("/event/", q2))
		all = append(all, r.data()...)
		next, _ := r.body["cursor_next"].(string)
		if next == "" {
			return all
		}
		if pages > 10000 {
			c.t.Fatal("cursor walk does not end")
		}
		q2.Set("_cursor", next)
		q2.Del("date_updated__gte") // a cursor carries the date filters
	}
}

func TestEventLogWalk(t *testing.T) {
	s, c := newTest(t, Options{Seed: 4, Scale: 150})
	all := c.walkEvents(url.Values{"_limit": {"50"}})
	if len(all) != s.Count(KindEvent) || len(all) < 50 {
		t.Fatalf("walked %d events of %d", len(all), s.Count(KindEvent))
	}
	seen := map[string]bool{}
	cutoff := fmtTime(fixedNow.Add(-30 * 24 * time.Hour))
	for i, e := range all {
		if seen[e["id"].(string)] {
			t.Fatalf("event %s twice", e["id"])
		}
		seen[e["id"].(string)] = true
		if i > 0 && timeKey(all[i-1]["date_updated"]) < timeKey(e["date_updated"]) {
			t.Fatalf("not newest first at %d", i)
		}
		if e["date_updated"].(string) < cutoff {
			t.Fatalf("event %s older than 30 days", e["id"])
		}
		for _, f := range []string{"id", "date_created", "date_updated", "organization_id", "user_id", "request_id", "api_key_id",
			"object_type", "object_id", "lead_id", "action", "changed_fields", "data", "previous_data", "meta"} {
			if _, ok := e[f]; !ok {
				t.Fatalf("event without %s: %v", f, e)
			}
		}
	}
	kinds := map[string]bool{}
	for _, e := range all {
		kinds[e["object_type"].(string)+" "+e["action"].(string)] = true
	}
	for _, want := range []string{"lead created", "lead updated", "contact created", "opportunity created", "activity.call created", "task.lead created"} {
		if !kinds[want] {
			t.Errorf("no %q event among %d", want, len(all))
		}
	}
	// Filters, and a date filter carried by the cursor.
	since := fmtTime(fixedNow.Add(-10 * 24 * time.Hour))
	leadsCreated := c.walkEvents(url.Values{"object_type": {"lead"}, "action": {"created"}, "date_updated__gte": {since}, "_limit": {"7"}})
	want := 0
	for _, e := range all {
		if e["object_type"] == "lead" && e["action"] == "created" && e["date_updated"].(string) >= since {
			want++
		}
	}
	if len(leadsCreated) != want || want == 0 {
		t.Errorf("filtered walk: %d, want %d", len(leadsCreated), want)
	}
}

func TestEventLogParameters(t *testing.T) {
	_, c := newTest(t, Options{Seed: 4, Scale: 150})
	if r := c.get("/event/", url.Values{"_skip": {"10"}}); r.code != 400 {
		t.Errorf("_skip: %d %s", r.code, r.raw)
	}
	if r := ok(t, "_limit=500", c.get("/event/", url.Values{"_limit": {"500"}})); len(r.data()) != 50 {
		t.Errorf("_limit=500 gave %d events, want the cap of 50", len(r.data()))
	}
	if r := ok(t, "default", c.get("/event/", nil)); len(r.data()) != 50 || r.body["cursor_previous"] != nil {
		t.Errorf("default page: %d events, cursor_previous %v", len(r.data()), r.body["cursor_previous"])
	}
	if r := c.get("/event/", url.Values{"_cursor": {"garbage"}}); r.code != 400 {
		t.Errorf("bad cursor: %d", r.code)
	}
	// cursor_previous leads back to the page before.
	p1 := ok(t, "p1", c.get("/event/", url.Values{"_limit": {"5"}}))
	p2 := ok(t, "p2", c.get("/event/", url.Values{"_limit": {"5"}, "_cursor": {p1.body["cursor_next"].(string)}}))
	back := ok(t, "back", c.get("/event/", url.Values{"_limit": {"5"}, "_cursor": {p2.body["cursor_previous"].(string)}}))
	if string(mustJSON(back.body["data"])) != string(mustJSON(p1.body["data"])) {
		t.Error("cursor_previous of page 2 is not page 1")
	}
}

func TestEventLogCursorIsStableUnderNewEvents(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 5, Scale: 60, Now: clk.now})
	before := c.walkEvents(nil)
	p1 := ok(t, "p1", c.get("/event/", url.Values{"_limit": {"10"}}))
	clk.t = clk.t.Add(time.Minute)
	for _, id := range s.IDs(KindLead)[:5] {
		s.Update(KindLead, id, map[string]any{"description": "new"})
	}
	var rest []map[string]any
	q := url.Values{"_limit": {"10"}, "_cursor": {p1.body["cursor_next"].(string)}}
	for {
		r := ok(t, "page", c.get("/event/", q))
		rest = append(rest, r.data()...)
		next, _ := r.body["cursor_next"].(string)
		if next == "" {
			break
		}
		q.Set("_cursor", next)
	}
	if len(p1.data())+len(rest) != len(before) {
		t.Errorf("walk across new events: %d, want %d", len(p1.data())+len(rest), len(before))
	}
	if n := s.Count(KindEvent); n != len(before)+5 {
		t.Errorf("events after 5 updates: %d, want %d", n, len(before)+5)
	}
}

func TestEventRetention(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 6, Scale: 40, Now: clk.now})
	id := s.IDs(KindLead)[0]
	s.Update(KindLead, id, map[string]any{"name": "Old news"})
	evs := c.walkEvents(url.Values{"object_id": {id}, "action": {"updated"}})
	if len(evs) == 0 {
		t.Fatal("no update event")
	}
	evID := evs[0]["id"].(string)
	ok(t, "event by id", c.get("/event/"+evID+"/", nil))
	clk.t = clk.t.Add(31 * 24 * time.Hour)
	if r := c.get("/event/"+evID+"/", nil); r.code != 404 {
		t.Errorf("31 days later the event is still served: %d", r.code)
	}
	if n := s.Count(KindEvent); n != 0 {
		t.Errorf("31 days without changes, %d events remain", n)
	}
}

// TestPastEditsAreInTheEventLog: Options.PastEdits edits that many
// activities created before the log's 30 days, each edit an "updated"
// event within them whose data is the activity as it left it; the last
// one is the activity as listed.
func TestPastEditsAreInTheEventLog(t *testing.T) {
	const edits = 25
	s, _ := newTest(t, Options{Seed: 4, Scale: 150, PastEdits: edits})
	plain, _ := newTest(t, Options{Seed: 4, Scale: 150})
	cutoff := timeKey(fmtTime(fixedNow.Add(-30 * 24 * time.Hour)))
	acts := map[string]map[string]any{}
	for _, a := range s.Objects(KindActivity) {
		acts[a["id"].(string)] = a
	}
	last := map[string]map[string]any{} // activity id -> its newest event
	counts := map[string]int{}
	for _, e := range s.Objects(KindEvent) {
		data, _ := e["data"].(map[string]any)
		note, _ := data["note"].(string)
		if e["action"] != "updated" || len(note) < 10 || note[:10] != "edited bef" {
			continue
		}
		id := e["object_id"].(string)
		if timeKey(acts[id]["date_created"]) >= cutoff {
			t.Errorf("%s: edited activity created within the log's 30 days", id)
		}
		if data["date_updated"] != e["date_updated"] {
			t.Errorf("%s: event at %v carries date_updated %v", id, e["date_updated"], data["date_updated"])
		}
		counts[id]++
		if l, ok := last[id]; !ok || timeKey(l["date_updated"]) < timeKey(e["date_updated"]) {
			last[id] = e
		}
	}
	if len(counts) != edits {
		t.Fatalf("%d activities edited, want %d", len(counts), edits)
	}
	for id, n := range counts {
		if n < 1 || n > 3 {
			t.Errorf("%s edited %d times, want 1 to 3", id, n)
		}
		want := last[id]["data"].(map[string]any)
		if acts[id]["date_updated"] != want["date_updated"] || acts[id]["note"] != want["note"] {
			t.Errorf("%s listed at %v %q, its last edit left it at %v %q", id, acts[id]["date_updated"], acts[id]["note"], want["date_updated"], want["note"])
		}
	}
	if got, want := s.Count(KindActivity), plain.Count(KindActivity); got != want {
		t.Errorf("%d activities with PastEdits, %d without", got, want)
	}
}
