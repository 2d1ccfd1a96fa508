package closefake

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestUpdate(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 5, Scale: 20, Now: clk.now})
	lead := s.IDs(KindLead)[0]
	before, _ := s.Object(KindLead, lead)
	newStatus := ""
	for _, id := range s.IDs(KindLeadStatus) {
		if id != before["status_id"] {
			newStatus = id
		}
	}
	clk.t = clk.t.Add(time.Hour)
	if err := s.Update(KindLead, lead, map[string]any{"name": "New Name", "status_id": newStatus}); err != nil {
		t.Fatal(err)
	}
	got := ok(t, "lead", c.get("/lead/"+lead+"/", nil)).body
	st, _ := s.Object(KindLeadStatus, newStatus)
	if got["name"] != "New Name" || got["date_updated"] != fmtTime(clk.t) || got["status_label"] != st["label"] || got["updated_by"] != s.IDs(KindUser)[0] {
		t.Errorf("updated lead: %v %v %v", got["name"], got["date_updated"], got["status_label"])
	}
	evs := c.walkEvents(url.Values{"object_id": {lead}, "action": {"updated"}})
	e := evs[0]
	changed := e["changed_fields"].([]any)
	prev := e["previous_data"].(map[string]any)
	for _, f := range []string{"name", "status_id", "status_label", "date_updated"} {
		if !slices.Contains(changed, any(f)) {
			t.Errorf("changed_fields %v lacks %s", changed, f)
		}
	}
	if prev["name"] != before["name"] || prev["date_updated"] != before["date_updated"] || e["data"].(map[string]any)["name"] != "New Name" ||
		e["date_updated"] != fmtTime(clk.t) || e["object_type"] != "lead" || e["lead_id"] != lead {
		t.Errorf("event %v", e)
	}
	// Incremental readers see it.
	r := ok(t, "query", c.get("/lead/", url.Values{"query": {`date_updated >= "` + clk.t.Format("2006-01-02T15:04") + `"`}}))
	if len(r.data()) != 1 || r.data()[0]["id"] != lead {
		t.Errorf("leads updated since the change: %v", r.data())
	}
	// Editing a contact does not touch its lead; custom fields unset.
	contact := got["contacts"].([]any)[0].(map[string]any)
	clk.t = clk.t.Add(time.Hour)
	var cf string
	for k := range contact {
		if len(k) > 7 && k[:7] == "custom." {
			cf = k
		}
	}
	fields := map[string]any{"title": "CTO"}
	if cf != "" {
		fields[cf] = nil
	}
	if err := s.Update(KindContact, contact["id"].(string), fields); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Object(KindLead, lead)
	gotContact, _ := s.Object(KindContact, contact["id"].(string))
	if after["date_updated"] != got["date_updated"] || gotContact["title"] != "CTO" || (cf != "" && gotContact[cf] != nil) {
		t.Errorf("contact edit: lead %v, contact %v", after["date_updated"], gotContact)
	}
	// No change, no event.
	n := s.Count(KindEvent)
	s.Update(KindContact, contact["id"].(string), map[string]any{"title": "CTO"})
	if s.Count(KindEvent) != n {
		t.Error("an update changing nothing logged an event")
	}
	for _, bad := range []struct {
		kind, id string
		fields   map[string]any
	}{{KindLead, "lead_nope", nil}, {"nope", lead, nil}, {KindLead, lead, map[string]any{"id": "x"}}, {KindEvent, "ev_x", nil}} {
		if err := s.Update(bad.kind, bad.id, bad.fields); err == nil {
			t.Errorf("Update(%s, %s, %v) succeeded", bad.kind, bad.id, bad.fields)
		}
	}
}

func TestCreate(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 5, Scale: 20, Now: clk.now})
	clk.t = clk.t.Add(time.Hour)
	lead, err := s.Create(KindLead, map[string]any{"name": "Brand New"})
	if err != nil {
		t.Fatal(err)
	}
	got := ok(t, "new lead", c.get("/lead/"+lead+"/", nil)).body
	sample, _ := s.Object(KindLead, s.IDs(KindLead)[1])
	for k := range sample {
		if _, ok := got[k]; !ok && !isCustomKey(k) {
			t.Errorf("created lead lacks %s", k)
		}
	}
	if len(lead) != len("lead_")+22 || got["date_created"] != fmtTime(clk.t) || got["status_label"] == nil {
		t.Errorf("created lead %v", got)
	}
	contact, err := s.Create(KindContact, map[string]any{"lead_id": lead, "name": "Jo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(KindTask, map[string]any{"lead_id": lead, "text": "Call Jo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(KindActivity, map[string]any{"lead_id": lead, "_type": "Call", "duration": 60}); err != nil {
		t.Fatal(err)
	}
	got = ok(t, "lead", c.get("/lead/"+lead+"/", nil)).body
	if cs := got["contacts"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != contact {
		t.Errorf("lead contacts %v", cs)
	}
	if ts := got["tasks"].([]any); len(ts) != 1 || ts[0].(map[string]any)["_type"] != "lead" {
		t.Errorf("lead tasks %v", ts)
	}
	evs := c.walkEvents(url.Values{"lead_id": {lead}})
	var actions []string
	for _, e := range evs {
		actions = append(actions, e["object_type"].(string)+" "+e["action"].(string))
	}
	slices.Sort(actions)
	want := []string{"activity.call created", "contact created", "lead created", "lead updated", "task.lead created"}
	if !slices.Equal(actions, want) {
		t.Errorf("events %v, want %v", actions, want)
	}
	if _, err := s.Create(KindContact, map[string]any{"lead_id": "lead_nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("contact of a missing lead: %v", err)
	}
	if _, err := s.Create(KindActivity, map[string]any{"lead_id": lead, "_type": "Fax"}); err == nil {
		t.Error("activity of an unknown type created")
	}
}

func isCustomKey(k string) bool { return len(k) > 7 && k[:7] == "custom." }

func TestDeleteLeadCascades(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 11, Scale: 40, Now: clk.now})
	var lead map[string]any
	for _, l := range s.Objects(KindLead) {
		if len(l["opportunities"].([]any)) > 0 && len(l["tasks"].([]any)) > 0 {
			lead = l
			break
		}
	}
	id := lead["id"].(string)
	children := map[string][]string{}
	for _, kind := range []string{KindContact, KindOpportunity, KindTask, KindActivity} {
		for _, o := range s.Objects(kind) {
			if o["lead_id"] == id {
				children[kind] = append(children[kind], o["id"].(string))
			}
		}
	}
	clk.t = clk.t.Add(time.Minute)
	if err := s.Delete(KindLead, id); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/lead/"+id+"/", nil); r.code != 404 {
		t.Errorf("deleted lead: %d", r.code)
	}
	deleted := map[string]map[string]any{}
	for _, e := range c.walkEvents(url.Values{"action": {"deleted"}}) {
		deleted[e["object_id"].(string)] = e
	}
	for kind, ids := range children {
		for _, cid := range ids {
			if _, ok := s.Object(kind, cid); ok {
				t.Errorf("%s %s survived its lead", kind, cid)
			}
			e := deleted[cid]
			if e == nil || e["lead_id"] != id || e["data"] != nil || e["previous_data"].(map[string]any)["id"] != cid {
				t.Errorf("deleted event of %s %s: %v", kind, cid, e)
			}
		}
	}
	if e := deleted[id]; e == nil || e["object_type"] != "lead" || e["previous_data"].(map[string]any)["name"] != lead["name"] {
		t.Errorf("lead deleted event %v", e)
	}
	if err := s.Delete(KindLead, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// The cascade does not log "contact removed" updates of the dying lead.
	for _, e := range c.walkEvents(url.Values{"object_id": {id}, "action": {"updated"}}) {
		if e["date_updated"] == fmtTime(clk.t) {
			t.Errorf("lead updated while being deleted: %v", e)
		}
	}
}

func TestMergeLeads(t *testing.T) {
	clk := &clock{fixedNow}
	s, c := newTest(t, Options{Seed: 12, Scale: 30, Now: clk.now})
	ids := s.IDs(KindLead)
	src, dst := ids[1], ids[2]
	srcLead, _ := s.Object(KindLead, src)
	dstLead, _ := s.Object(KindLead, dst)
	moving := len(srcLead["contacts"].([]any))
	clk.t = clk.t.Add(time.Minute)
	if err := s.MergeLeads(src, dst); err != nil {
		t.Fatal(err)
	}
	merged := ok(t, "destination", c.get("/lead/"+dst+"/", nil)).body
	if n := len(merged["contacts"].([]any)); n != moving+len(dstLead["contacts"].([]any)) {
		t.Errorf("destination has %d contacts", n)
	}
	if r := c.get("/lead/"+src+"/", nil); r.code != 404 {
		t.Errorf("source lead still served: %d", r.code)
	}
	evs := c.walkEvents(url.Values{"date_updated__gte": {fmtTime(clk.t)}})
	var mergedEv, srcDeleted int
	for _, e := range evs {
		meta := e["meta"].(map[string]any)
		if meta["merge_source_lead_id"] != src || meta["merge_destination_lead_id"] != dst {
			t.Errorf("merge event without merge meta: %v", e)
		}
		switch {
		case e["action"] == "merged":
			mergedEv++
			if e["lead_id"] != dst || e["data"].(map[string]any)["id"] != dst {
				t.Errorf("merged event %v", e)
			}
		case e["action"] == "deleted" && e["object_id"] == src:
			srcDeleted++
		}
	}
	if mergedEv != 1 || srcDeleted != 1 {
		t.Errorf("%d merged and %d source deleted events", mergedEv, srcDeleted)
	}
	if err := s.MergeLeads(src, dst); !errors.Is(err, ErrNotFound) {
		t.Errorf("merging a gone lead: %v", err)
	}
}
