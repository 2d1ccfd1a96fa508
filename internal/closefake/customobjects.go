package closefake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// customObjectStream keys the generator of custom objects. They are made
// after everything else from their own stream, so adding them left every
// other generated object, id and event as it was, and the main stream
// where mutations find it.
const customObjectStream = 0xc0b7

// customObjectSpec is GET /custom_object/: a lead's instances, optionally of
// one type, everything in one response.
var customObjectSpec = &listSpec{kind: KindCustomObject, filters: []string{"lead_id", "custom_object_type_id"}}

// serveCustomObjects serves GET /custom_object/, which needs lead_id: Close
// lists custom objects only per lead (across leads they are reachable only
// through POST /data/search/).
func (s *Server) serveCustomObjects(w http.ResponseWriter, r *request) {
	if r.q.Get("lead_id") == "" {
		writeErr(w, fieldError("lead_id", "This field is required."))
		return
	}
	s.list(w, r, customObjectSpec)
}

// customObjects makes the custom fields of the custom object types (listed
// in each type's fields, as Close's /custom_object_type/ shows them), a
// few instances on about a third of the leads, and their events.
func (g *gen) customObjects() {
	s := g.s
	r := rand.New(rand.NewPCG(uint64(s.opts.Seed), customObjectStream))
	mainRNG := g.r
	s.rng, g.r = r, r
	defer func() { s.rng, g.r = mainRNG, mainRNG }()

	type coType struct {
		id   string
		name string
		defs []customDef
		ref  string    // the "contact" field: its values are contacts of the lead
		plan customDef // required: every instance has a value
	}
	var types []coType
	for _, id := range s.col("custom_object_type").ids() {
		t := s.cols["custom_object_type"].objs[id]
		created := mustTime(t["date_created"])
		ct := coType{id: id, name: fmt.Sprint(t["name"])}
		var fields []any
		add := func(name, typ string, choices []any, required bool) {
			fc := g.between(created, minTime(created.Add(7*24*time.Hour), g.now))
			f := object{"id": s.newID("cf"), "name": name, "description": "", "type": typ, "choices": choices, "accepts_multiple_values": false,
				"editable_with_roles": emptyList, "is_shared": false, "referenced_custom_type_id": nil, "back_reference_is_visible": false,
				"required": required, "custom_object_type_id": id, "organization_id": s.orgID, "object_type": "custom_object_type",
				"created_by": g.me(), "updated_by": g.me(), "date_created": fmtTime(fc), "date_updated": fmtTime(g.updatedAfter(fc))}
			s.put(KindCustomField, f)
			g.history(KindCustomField, f)
			fields = append(fields, object{"id": f["id"], "name": name, "description": "", "type": typ, "choices": choices,
				"accepts_multiple_values": false, "editable_with_roles": emptyList, "required": required})
			d := customDef{id: f["id"].(string), typ: typ, choices: choices}
			switch {
			case typ == "contact":
				ct.ref = d.id
			case required:
				ct.plan = d
			default:
				ct.defs = append(ct.defs, d)
			}
		}
		add("Plan", "choices", []any{"Starter", "Growth", "Enterprise"}, true)
		add("Seats", "number", nil, false)
		add("Renewal Date", "date", nil, false)
		add("Activated At", "datetime", nil, false)
		add("Billing Contact", "contact", nil, false)
		s.put("custom_object_type", cloneWith(t, "fields", fields, "back_reference_fields", emptyList))
		types = append(types, ct)
	}
	if len(types) == 0 {
		return
	}
	for _, leadID := range s.col(KindLead).ids() {
		if g.r.IntN(3) != 0 {
			continue
		}
		lead := s.cols[KindLead].objs[leadID]
		contacts := s.children(KindContact, leadID)
		n := 1 + g.r.IntN(3)
		// Some leads got all of theirs in one request (an import): one
		// shared date_created and date_updated, ties for a sorted walk.
		together := n > 1 && g.r.IntN(4) == 0
		var created, updated time.Time
		for i := range n {
			t := types[g.r.IntN(len(types))]
			if i == 0 || !together {
				created = g.between(mustTime(lead["date_created"]), g.now)
				updated = g.updatedAfter(created)
			}
			by := g.user()
			o := object{"id": s.newID("custobj"), "custom_object_type_id": t.id, "lead_id": leadID,
				"name": fmt.Sprintf("%s %d", t.name, i+1), "organization_id": s.orgID, "created_by": by, "updated_by": by,
				"date_created": fmtTime(created), "date_updated": fmtTime(updated)}
			o["custom."+t.plan.id] = t.plan.choices[g.r.IntN(len(t.plan.choices))]
			g.setCustom(o, t.defs, created)
			if t.ref != "" && len(contacts) > 0 && g.r.IntN(2) == 0 {
				o["custom."+t.ref] = contacts[g.r.IntN(len(contacts))]["id"]
			}
			s.put(KindCustomObject, o)
			g.history(KindCustomObject, o)
		}
	}
}
