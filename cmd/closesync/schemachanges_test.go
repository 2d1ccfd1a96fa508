package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestSchemaChangesAreRecorded: a first sync of custom_fields records no
// change (it is the baseline); after a lead field is renamed, a contact
// field retyped to several values, an opportunity field deleted and a
// lead field added in Close, the next sync records exactly those four in
// sync.schema_changes with its run, and a sync with nothing changed
// records nothing more.
func TestSchemaChangesAreRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 87, Scale: 30}, "leads", "contacts", "opportunities", "custom_fields")
	h.keepReadsOpen()
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != 0 {
		t.Fatalf("the first sync recorded %d schema changes: it is the baseline", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.custom_fields_seen`); n != int64(h.fake.Count("custom_field")) {
		t.Fatalf("sync.custom_fields_seen holds %d fields, the fake %d", n, h.fake.Count("custom_field"))
	}

	f := h.fake
	field := func(objectType, typ string) map[string]any {
		for _, cf := range f.Objects("custom_field") {
			if cf["object_type"] == objectType && cf["type"] == typ && cf["accepts_multiple_values"] == false {
				return cf
			}
		}
		t.Fatalf("the fake has no single-value %s field of %s", typ, objectType)
		return nil
	}
	renamed, retyped, deleted := field("lead", "textarea"), field("contact", "text"), field("opportunity", "number")
	if err := f.Update("custom_field", renamed["id"].(string), map[string]any{"name": "Renamed Lead Field"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Update("custom_field", retyped["id"].(string), map[string]any{"accepts_multiple_values": true}); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("custom_field", deleted["id"].(string)); err != nil {
		t.Fatal(err)
	}
	added, err := f.Create("custom_field", map[string]any{"name": "Brand New", "type": "date", "object_type": "lead",
		"accepts_multiple_values": false, "organization_id": f.OrganizationID()})
	if err != nil {
		t.Fatal(err)
	}
	h.sync()
	run := h.count(`SELECT max(run_id) FROM sync.runs WHERE report = 'custom_fields'`)
	var got []string
	for _, row := range h.query(`SELECT change, field_id, name, coalesce(previous, ''), coalesce(current, ''), object_type, views,
			run_id, organization_id FROM sync.schema_changes ORDER BY change, field_id`) {
		if row[7].(int64) != run || row[8] != f.OrganizationID() {
			t.Errorf("change %v: run %v of %v, want run %d of %s", row[:3], row[7], row[8], run, f.OrganizationID())
		}
		got = append(got, fmt.Sprintf("%s %s %s [%s -> %s] %s: %s", row[:7]...))
	}
	want := []string{
		fmt.Sprintf("field_added %s Brand New [ -> ] lead: leads_custom", added),
		fmt.Sprintf("field_deleted %s %s [ -> ] opportunity: opportunities_custom", deleted["id"], deleted["name"]),
		fmt.Sprintf("field_renamed %s Renamed Lead Field [%s -> Renamed Lead Field] lead: leads_custom", renamed["id"], renamed["name"]),
		fmt.Sprintf("field_retyped %s %s [text -> text[]] contact: contacts_custom", retyped["id"], retyped["name"]),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sync.schema_changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The views followed (on_schema_change's default, evolve).
	if n := h.count(`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = 'leads_custom' AND column_name IN ('Renamed Lead Field', 'Brand New')`); n != 2 {
		t.Errorf("leads_custom has %d of the renamed and the added field's columns, want 2", n)
	}

	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.schema_changes`); n != int64(len(want)) {
		t.Errorf("a sync with no change in Close: %d schema changes, want still %d", n, len(want))
	}
}
