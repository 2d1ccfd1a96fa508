package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/schema"
)

// customOf gathers an object's flat custom.cf_* keys (Close's shape) into
// the map the custom column must hold; nil when there are none.
func customOf(o map[string]any) map[string]any {
	var out map[string]any
	for k, v := range o {
		if id, ok := strings.CutPrefix(k, "custom."); ok {
			if out == nil {
				out = map[string]any{}
			}
			out[id] = v
		}
	}
	if out == nil {
		return nil
	}
	b, _ := json.Marshal(out) // numbers as the database returns them
	out = nil
	json.Unmarshal(b, &out)
	return out
}

// customTruth is, per table of the catalog with a custom column, the
// custom values the fake holds, keyed like the table's primary key
// ("id", or "lead_id/_position" for a lead's embedded objects).
func (h *harness) customTruth() map[string]map[string]map[string]any {
	truth := map[string]map[string]map[string]any{}
	add := func(table, key string, o map[string]any) {
		if truth[table] == nil {
			truth[table] = map[string]map[string]any{}
		}
		truth[table][key] = customOf(o)
	}
	for _, kind := range []string{"contact", "opportunity", "custom_object"} {
		table := map[string]string{"contact": "contacts", "opportunity": "opportunities", "custom_object": "custom_objects"}[kind]
		for _, o := range h.fake.Objects(kind) {
			add(table, o["id"].(string), o)
		}
	}
	for _, l := range h.fake.Objects("lead") {
		id := l["id"].(string)
		add("leads", id, l)
		for _, field := range []string{"contacts", "opportunities"} {
			items, _ := l[field].([]any)
			for i, it := range items {
				add("leads_"+field, fmt.Sprintf("%s/%d", id, i), it.(map[string]any))
			}
		}
	}
	for report := range activityTypes {
		truth[report] = map[string]map[string]any{} // some types may have no activity
	}
	for _, a := range h.fake.Objects("activity") {
		add("activities", a["id"].(string), a)
		for report, typ := range activityTypes {
			if a["_type"] == typ {
				add(report, a["id"].(string), a)
			}
		}
	}
	return truth
}

// customTables lists every table of the catalog (children included) that
// has a custom column.
func customTables() []schema.Table {
	var out []schema.Table
	has := func(t schema.Table) bool {
		for _, c := range t.Columns {
			if c.Source == schema.FromCustom {
				return true
			}
		}
		return false
	}
	for _, r := range extract.Catalog() {
		if r.Parent != "" {
			continue
		}
		if has(r.Table) {
			out = append(out, r.Table)
		}
		for _, ch := range r.Table.Children {
			if has(ch.Table) {
				out = append(out, ch.Table)
			}
		}
	}
	return out
}

// checkCustom compares the custom column of every table with a custom
// column against the fake, row by row.
func (h *harness) checkCustom() {
	h.t.Helper()
	truth := h.customTruth()
	for _, t := range customTables() {
		want, ok := truth[t.Name]
		if !ok {
			h.t.Errorf("close.%s: no truth for its custom column: add it to the test", t.Name)
			continue
		}
		key := "id"
		if len(t.Key) == 2 {
			key = fmt.Sprintf("%s || '/' || %s", t.Key[0], t.Key[1])
		}
		rows := h.query(fmt.Sprintf(`SELECT %s, custom::VARCHAR FROM close.%s WHERE _deleted_at IS NULL`, key, t.Name))
		if len(rows) != len(want) {
			h.t.Errorf("close.%s: %d rows, fake has %d", t.Name, len(rows), len(want))
		}
		withValues, bad, wantValues := 0, 0, 0
		for _, w := range want {
			if w != nil {
				wantValues++
			}
		}
		for _, r := range rows {
			k := r[0].(string)
			var got map[string]any
			if s, ok := r[1].(string); ok {
				if err := json.Unmarshal([]byte(s), &got); err != nil {
					h.t.Fatalf("close.%s %s: custom %q: %v", t.Name, k, s, err)
				}
			}
			if got != nil {
				withValues++
			}
			if w := want[k]; !reflect.DeepEqual(got, w) {
				if bad++; bad <= 3 {
					h.t.Errorf("close.%s %s: custom %v, fake has %v", t.Name, k, got, w)
				}
			}
		}
		if bad > 3 {
			h.t.Errorf("close.%s: %d rows in all differ", t.Name, bad)
		}
		if withValues != wantValues {
			h.t.Errorf("close.%s: %d rows have custom values, fake has %d", t.Name, withValues, wantValues)
		}
		h.t.Logf("close.%s: %d rows, %d with custom values", t.Name, len(rows), withValues)
	}
}

// TestEveryCustomColumnEqualsTruth syncs every report whose table (or a
// child table) has a custom column and compares each row's custom values
// with the fake's, embedded objects (leads_contacts, leads_opportunities)
// included.
func TestEveryCustomColumnEqualsTruth(t *testing.T) {
	t.Parallel()
	var reports []string
	for _, r := range extract.Catalog() {
		if r.Parent == "" && r.Custom {
			reports = append(reports, r.Name)
		}
	}
	h := newHarness(t, closefake.Options{Seed: 53, Scale: 25}, reports...)
	h.keepReadsOpen()
	h.sync()
	h.checkCustom()
	// The fake sets custom values on most objects of these; a check that
	// saw none would prove nothing.
	for _, table := range []string{"leads", "contacts", "opportunities", "custom_objects", "activities",
		"activities_custom_activity", "leads_contacts", "leads_opportunities"} {
		if n := h.count(`SELECT count(*) FROM close.` + table + ` WHERE custom IS NOT NULL`); n == 0 {
			t.Errorf("close.%s: no row has custom values; the test proves nothing for it", table)
		}
	}
}

// TestThreeHundredContactFields: an organisation with 300 more contact
// custom fields, against a fake that refuses a _fields list past 50 as
// Close does, syncs every contact with every custom value; so does the
// incremental run after a change.
func TestThreeHundredContactFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 61, Scale: 40, ExtraContactFields: 300}, "contacts")
	fields := 0
	for _, f := range h.fake.Objects("custom_field") {
		if f["object_type"] == "contact" {
			fields++
		}
	}
	if fields < 300 {
		t.Fatalf("the fake has %d contact fields", fields)
	}
	check := func() {
		t.Helper()
		want := h.customTruth()["contacts"]
		rows := h.query(`SELECT id, custom::VARCHAR FROM close.contacts`)
		if len(rows) != len(want) {
			t.Errorf("%d contacts, fake has %d", len(rows), len(want))
		}
		values := 0
		for _, r := range rows {
			var got map[string]any
			if s, ok := r[1].(string); ok {
				json.Unmarshal([]byte(s), &got)
			}
			values += len(got)
			if w := want[r[0].(string)]; !reflect.DeepEqual(got, w) {
				t.Errorf("contact %s: %d custom values, fake has %d", r[0], len(got), len(w))
			}
		}
		t.Logf("%d contacts, %d custom values, %d fields", len(rows), values, fields)
	}
	h.sync()
	check()
	var id string
	for _, c := range h.fake.Objects("contact") {
		id = c["id"].(string)
		break
	}
	var last string
	for _, f := range h.fake.Objects("custom_field") {
		if f["name"] == "Extra 300" {
			last = f["id"].(string)
		}
	}
	if err := h.fake.Update("contact", id, map[string]any{"custom." + last: "changed"}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	check()
	t.Logf("requests of the incremental run: %d", h.count(`SELECT requests FROM sync.runs ORDER BY run_id DESC LIMIT 1`))
}
