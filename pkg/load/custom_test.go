package load_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestChildRowsKeepTheirCustomFields: embedded objects (a lead's contacts)
// carry flat custom.cf_* keys; their child table's custom column gathers
// them as the extractor does for root records, NULL when there are none.
func TestChildRowsKeepTheirCustomFields(t *testing.T) {
	leads := schema.Table{
		Name:    "leads",
		Columns: []schema.Column{{Name: "id", Type: schema.Text}, {Name: "custom", Type: schema.JSON, Source: schema.FromCustom}},
		Key:     []string{"id"},
		Children: []schema.Child{{Field: "contacts", Table: schema.Table{
			Name: "leads_contacts",
			Columns: []schema.Column{
				{Name: "lead_id", Type: schema.Text, Source: schema.FromParent},
				{Name: "_position", Type: schema.Integer, Source: schema.FromPosition},
				{Name: "id", Type: schema.Text},
				{Name: "custom", Type: schema.JSON, Source: schema.FromCustom},
			},
			Key: []string{"lead_id", "_position"},
		}}},
	}
	s := open(t, filepath.Join(t.TempDir(), "c.duckdb"))
	defer s.Close()
	ctx := context.Background()
	if err := s.EnsureTable(ctx, leads, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	run := load.Run{ID: 1, Account: "a", Report: "leads"}
	raw := `{"id": "lead_1", "custom.cf_l": "x", "contacts": [
		{"id": "cont_1", "custom.cf_a": "Website", "custom.cf_n": 42, "custom.cf_m": ["a", "b"], "custom.cf_o": {"k": null}, "name": "A"},
		{"id": "cont_2", "name": "no custom fields", "custom": {}},
		{"id": "cont_3", "custom.cf_a": null}]}`
	b := load.Batch{Records: []schema.Record{{Raw: []byte(raw), Custom: []byte(`{"cf_l":"x"}`)}}}
	if _, err := s.Apply(ctx, run, leads, schema.Upsert, b, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	got := dump(t, s, `SELECT id, coalesce(json(custom)::VARCHAR, 'NULL') FROM close.leads_contacts ORDER BY _position`)
	want := []string{`cont_1|{"cf_a":"Website","cf_n":42,"cf_m":["a","b"],"cf_o":{"k":null}}`, `cont_2|NULL`, `cont_3|{"cf_a":null}`}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %s, want %s", i, got[i], want[i])
		}
	}
}
