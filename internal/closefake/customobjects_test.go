package closefake

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// leadWithCustomObjects returns a lead that has at least n custom objects.
func leadWithCustomObjects(t *testing.T, s *Server, n int) (string, []map[string]any) {
	t.Helper()
	byLead := map[string][]map[string]any{}
	for _, o := range s.Objects(KindCustomObject) {
		l := o["lead_id"].(string)
		byLead[l] = append(byLead[l], o)
	}
	for _, id := range s.IDs(KindLead) {
		if len(byLead[id]) >= n {
			return id, byLead[id]
		}
	}
	t.Fatalf("no lead with %d custom objects", n)
	return "", nil
}

func TestCustomObjectsGenerated(t *testing.T) {
	s := New(Options{Seed: 3, Scale: 120, Now: func() time.Time { return fixedNow }})
	objs := s.Objects(KindCustomObject)
	if len(objs) < 20 {
		t.Fatalf("%d custom objects for 120 leads", len(objs))
	}
	types := s.Objects("custom_object_type")
	fields := map[string]bool{}
	for _, f := range types[0]["fields"].([]any) {
		fields[f.(map[string]any)["id"].(string)] = true
	}
	if len(fields) == 0 {
		t.Fatal("the custom object type lists no fields")
	}
	for _, f := range s.Objects(KindCustomField) {
		if f["object_type"] == "custom_object_type" && (!fields[f["id"].(string)] || f["custom_object_type_id"] != types[0]["id"]) {
			t.Errorf("custom object field %s is not among its type's fields", f["id"])
		}
	}
	idRE := "custobj_"
	withCustom, ties := 0, 0
	seen := map[string]int{}
	for _, o := range objs {
		if !strings.HasPrefix(o["id"].(string), idRE) || o["custom_object_type_id"] != types[0]["id"] || o["name"] == "" {
			t.Errorf("custom object %v", o)
		}
		if _, ok := s.Object(KindLead, o["lead_id"].(string)); !ok {
			t.Errorf("custom object %s of a missing lead", o["id"])
		}
		for _, k := range []string{"organization_id", "created_by", "updated_by", "date_created", "date_updated"} {
			if o[k] == nil {
				t.Errorf("custom object %s lacks %s", o["id"], k)
			}
		}
		if _, ok := o["created_by_name"]; ok {
			t.Errorf("custom object %s has created_by_name, which Close does not send", o["id"])
		}
		for k := range o {
			if isCustomKey(k) {
				if !fields[strings.TrimPrefix(k, "custom.")] {
					t.Errorf("custom object %s has %s, not a field of its type", o["id"], k)
				}
				withCustom++
			}
		}
		seen[o["date_updated"].(string)]++
	}
	for _, n := range seen {
		if n > 1 {
			ties++
		}
	}
	if withCustom == 0 || ties == 0 {
		t.Errorf("%d custom values, %d shared date_updated values", withCustom, ties)
	}
	// Their creation within the last 30 days is in the event log.
	events := 0
	for _, e := range s.Objects(KindEvent) {
		if e["object_type"] == "custom_object" {
			events++
		}
	}
	if events == 0 {
		t.Error("no custom_object events")
	}
}

func TestCustomObjectEndpoints(t *testing.T) {
	s, c := newTest(t, Options{Seed: 4, Scale: 60})
	lead, want := leadWithCustomObjects(t, s, 2)
	typeID := want[0]["custom_object_type_id"].(string)

	t.Run("lead_id is required", func(t *testing.T) {
		for _, q := range []url.Values{nil, {"custom_object_type_id": {typeID}}, {"lead_id": {""}}} {
			r := c.get("/custom_object/", q)
			fe, _ := r.body["field-errors"].(map[string]any)
			if r.code != http.StatusBadRequest || fe["lead_id"] == nil {
				t.Errorf("%v: %d %s", q, r.code, r.raw)
			}
		}
	})
	t.Run("lists one lead's", func(t *testing.T) {
		r := ok(t, "list", c.get("/custom_object/", url.Values{"lead_id": {lead}}))
		if got := r.data(); len(got) != len(want) || r.body["has_more"] != false {
			t.Fatalf("%d of %d, has_more %v", len(got), len(want), r.body["has_more"])
		}
		for _, o := range r.data() {
			if o["lead_id"] != lead {
				t.Errorf("another lead's: %v", o)
			}
		}
		if got := ok(t, "by type", c.get("/custom_object/", url.Values{"lead_id": {lead}, "custom_object_type_id": {typeID}})).data(); len(got) != len(want) {
			t.Errorf("of its type: %d of %d", len(got), len(want))
		}
		if got := ok(t, "other type", c.get("/custom_object/", url.Values{"lead_id": {lead}, "custom_object_type_id": {"cotype_nope"}})).data(); len(got) != 0 {
			t.Errorf("of an unknown type: %d", len(got))
		}
	})
	t.Run("one", func(t *testing.T) {
		id := want[0]["id"].(string)
		if got := ok(t, "one", c.get("/custom_object/"+id+"/", nil)).body; got["id"] != id || got["lead_id"] != lead {
			t.Errorf("got %v", got)
		}
		r := c.get("/custom_object/custobj_nope/", nil)
		if r.code != 404 || !strings.Contains(r.errorText(), "CustomObject matching query does not exist") {
			t.Errorf("unknown id: %d %s", r.code, r.raw)
		}
	})
	t.Run("their custom fields", func(t *testing.T) {
		got := ok(t, "fields", c.get("/custom_field/custom_object_type/", nil)).data()
		if len(got) == 0 {
			t.Fatal("no custom object custom fields")
		}
		for _, f := range got {
			if f["custom_object_type_id"] != typeID {
				t.Errorf("field %v", f)
			}
		}
	})
	t.Run("searched across leads", func(t *testing.T) {
		body := searchBody("custom_object")
		body["_limit"] = 7
		body["_fields"] = map[string]any{"custom_object": []any{"id", "lead_id", "date_updated", "custom_object_type_id"}}
		body["sort"] = []any{map[string]any{"direction": "asc", "field": regular("custom_object", "date_updated")}}
		rows, pages := c.search(body)
		if len(rows) != s.Count(KindCustomObject) || pages < 2 {
			t.Fatalf("%d of %d custom objects in %d pages", len(rows), s.Count(KindCustomObject), pages)
		}
		for i, r := range rows {
			if len(r) != 4 || r["custom_object_type_id"] != typeID {
				t.Fatalf("row %v", r)
			}
			if i > 0 && timeKey(rows[i-1]["date_updated"]) > timeKey(r["date_updated"]) {
				t.Fatalf("not sorted by date_updated at %d", i)
			}
		}
		// Filtered by type and lead, as Airbyte's connector searches them.
		body = searchBody("custom_object", map[string]any{"type": "field_condition", "field": regular("custom_object", "lead_id"),
			"condition": map[string]any{"type": "term", "values": []any{lead}}})
		if rows, _ := c.search(body); len(rows) != len(want) {
			t.Errorf("one lead's by search: %d of %d", len(rows), len(want))
		}
	})
}

func TestCustomObjectMutations(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 6, Scale: 60, Now: clk.now})
	lead, objs := leadWithCustomObjects(t, s, 1)

	clk.t = clk.t.Add(time.Minute)
	id, err := s.Create(KindCustomObject, map[string]any{"lead_id": lead, "name": "Extra"})
	if err != nil {
		t.Fatal(err)
	}
	created, _ := s.Object(KindCustomObject, id)
	if created["custom_object_type_id"] == nil || created["date_created"] != fmtTime(clk.t) || created["created_by_name"] != nil {
		t.Errorf("created %v", created)
	}
	if _, err := s.Create(KindCustomObject, map[string]any{"lead_id": "lead_nope", "name": "x"}); err == nil {
		t.Error("custom object of a missing lead created")
	}
	clk.t = clk.t.Add(time.Minute)
	if err := s.Update(KindCustomObject, objs[0]["id"].(string), map[string]any{"name": "Renamed"}); err != nil {
		t.Fatal(err)
	}
	evs := c.walkEvents(url.Values{"object_type": {"custom_object"}, "lead_id": {lead}, "date_updated__gte": {fmtTime(fixedNow)}})
	actions := map[string]bool{}
	for _, e := range evs {
		actions[e["action"].(string)] = true
		if meta := e["meta"].(map[string]any); !strings.HasPrefix(meta["request_path"].(string), "/api/v1/custom_object/") {
			t.Errorf("event request_path %v", meta["request_path"])
		}
	}
	if !actions["created"] || !actions["updated"] {
		t.Errorf("custom_object events %v", evs)
	}

	// Deleting the lead deletes its custom objects, each with an event.
	clk.t = clk.t.Add(time.Minute)
	mine := []string{id}
	for _, o := range objs {
		mine = append(mine, o["id"].(string))
	}
	if err := s.Delete(KindLead, lead); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, e := range c.walkEvents(url.Values{"object_type": {"custom_object"}, "action": {"deleted"}}) {
		if e["lead_id"] == lead && e["data"] == nil {
			deleted[e["object_id"].(string)] = true
		}
	}
	for _, co := range mine {
		if _, ok := s.Object(KindCustomObject, co); ok || !deleted[co] {
			t.Errorf("custom object %s: still there %v, deleted event %v", co, ok, deleted[co])
		}
	}

	// A merge moves them to the destination.
	src, moving := leadWithCustomObjects(t, s, 1)
	var dst string
	for _, l := range s.IDs(KindLead) {
		if l != src {
			dst = l
			break
		}
	}
	if err := s.MergeLeads(src, dst); err != nil {
		t.Fatal(err)
	}
	got := ok(t, "destination", c.get("/custom_object/", url.Values{"lead_id": {dst}})).data()
	for _, o := range moving {
		if !slices.ContainsFunc(got, func(g map[string]any) bool { return g["id"] == o["id"] }) {
			t.Errorf("custom object %s did not move to the merge destination", o["id"])
		}
	}
}
