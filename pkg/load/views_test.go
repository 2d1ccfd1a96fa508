package load_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

var customFieldsTable = schema.Table{
	Name: "custom_fields",
	Columns: []schema.Column{{Name: "id", Type: schema.Text}, {Name: "object_type", Type: schema.Text, Source: schema.FromTag},
		{Name: "name", Type: schema.Text}, {Name: "type", Type: schema.Text}, {Name: "accepts_multiple_values", Type: schema.Bool}},
	Key: []string{"id"},
}

// customOf declares t's custom field types as the catalog does: objectType
// and the shared fields.
func customOf(t schema.Table, objectType string) schema.Table {
	t.CustomFieldTypes = []string{objectType, "shared"}
	return t
}

func TestCustomViews(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	s.EnsureTable(ctx, contacts, schema.Upsert, "")
	s.EnsureTable(ctx, customFieldsTable, schema.Replace, "")
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "x", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "x"}
	def := func(id, name, typ string, multi bool, objType string) schema.Record {
		return schema.Record{Raw: []byte(fmt.Sprintf(`{"id":%q,"name":%q,"type":%q,"accepts_multiple_values":%v}`, id, name, typ, multi)), Tag: objType}
	}
	setFields := func(recs ...schema.Record) {
		t.Helper()
		if err := s.StartReplace(ctx, customFieldsTable, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, run, customFieldsTable, schema.Replace, load.Batch{Records: recs}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishReplace(ctx, run, customFieldsTable); err != nil {
			t.Fatal(err)
		}
		if err := s.RefreshCustomViews(ctx, customFieldsTable.Name, []schema.Table{customOf(contacts, "contact")}); err != nil {
			t.Fatal(err)
		}
	}
	s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: []schema.Record{{
		Raw:    []byte(`{"id":"c1","date_updated":"2024-01-01T00:00:00Z"}`),
		Custom: []byte(`{"cf_src":"Website","cf_n":"42","cf_multi":["a","b"],"cf_d":"2024-05-06","cf_dup":"second","cf_name":"clash"}`),
	}}}, load.Counters{})
	setFields(
		def("cf_src", "Lead Source", "choices", false, "contact"),
		def("cf_n", "Employees", "number", false, "shared"),
		def("cf_multi", "Tags", "choices", true, "contact"),
		def("cf_d", "Renewal\tDate", "date", false, "contact"),
		def("cf_dup", "Lead Source", "text", false, "contact"),
		def("cf_name", "name", "text", false, "contact"),
		def("cf_lead", "Lead Only", "text", false, "lead"),
	)
	got := dump(t, s, `SELECT "Lead Source", "Employees" + 1, "Tags"::VARCHAR, "Renewal Date", "Lead Source (cf_src)", "name (cf_name)", name FROM close.contacts_custom`)
	// "Lead Source" sorts cf_dup before cf_src by id, so cf_dup keeps the name.
	if strings.Join(got, ",") != `second|43|["a","b"]|2024-05-06 00:00:00 +0000 UTC|Website|clash|<nil>` {
		t.Errorf("view row = %v", got)
	}
	if cols := dump(t, s, `SELECT count(*) FROM duckdb_columns() WHERE table_name = 'contacts_custom' AND column_name = 'Lead Only'`); cols[0] != "0" {
		t.Error("a lead field appears on contacts")
	}
	// A rename renames the column; a deleted field disappears.
	setFields(def("cf_src", "Origin", "choices", false, "contact"))
	if got := dump(t, s, `SELECT "Origin" FROM close.contacts_custom`); got[0] != "Website" {
		t.Errorf("renamed = %v", got)
	}
	if cols := dump(t, s, `SELECT count(*) FROM duckdb_columns() WHERE table_name = 'contacts_custom' AND column_name IN ('Lead Source', 'Employees')`); cols[0] != "0" {
		t.Errorf("old columns still in the view: %v", cols)
	}
}

func TestCustomObjectsView(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	objects := schema.Table{Name: "custom_objects", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: schema.Text},
		{Name: "custom_object_type_id", Type: schema.Text}, {Name: "custom", Type: schema.JSON, Source: schema.FromCustom}}}
	s.EnsureTable(ctx, objects, schema.Upsert, "")
	s.EnsureTable(ctx, customFieldsTable, schema.Replace, "")
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "x", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "x"}
	if _, err := s.Apply(ctx, run, objects, schema.Upsert, load.Batch{Records: []schema.Record{{
		Raw: []byte(`{"id":"custobj_1","custom_object_type_id":"cotype_1"}`), Custom: []byte(`{"cf_plan":"Growth","cf_seats":12,"cf_region":"EMEA"}`),
	}}}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	def := func(id, name, typ, objType string) schema.Record {
		return schema.Record{Raw: []byte(fmt.Sprintf(`{"id":%q,"name":%q,"type":%q}`, id, name, typ)), Tag: objType}
	}
	if err := s.StartReplace(ctx, customFieldsTable, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, run, customFieldsTable, schema.Replace, load.Batch{Records: []schema.Record{
		def("cf_plan", "Plan", "choices", "custom_object"), def("cf_seats", "Seats", "number", "custom_object"),
		def("cf_region", "Region", "choices", "shared"), def("cf_lead", "Lead Only", "text", "lead"),
	}}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishReplace(ctx, run, customFieldsTable); err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshCustomViews(ctx, customFieldsTable.Name, []schema.Table{customOf(objects, "custom_object")}); err != nil {
		t.Fatal(err)
	}
	got := dump(t, s, `SELECT "Plan", "Seats" + 1, "Region" FROM close.custom_objects_custom`)
	if strings.Join(got, ",") != "Growth|13|EMEA" {
		t.Errorf("view row = %v", got)
	}
	if cols := dump(t, s, `SELECT count(*) FROM duckdb_columns() WHERE table_name = 'custom_objects_custom' AND column_name = 'Lead Only'`); cols[0] != "0" {
		t.Error("a lead field appears on custom objects")
	}
}
