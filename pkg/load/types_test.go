package load

import (
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/schema"
)

// TestDuckTypes: every logical type has the DuckDB type tables have always
// been created with.
func TestDuckTypes(t *testing.T) {
	want := map[schema.Type]string{
		schema.Text: "VARCHAR", schema.BigInt: "BIGINT", schema.Double: "DOUBLE", schema.Bool: "BOOLEAN",
		schema.Timestamp: "TIMESTAMPTZ", schema.Date: "DATE", schema.JSON: "JSON", schema.Integer: "INTEGER",
		schema.TextList: "VARCHAR[]",
	}
	for ty := schema.Type(0); ty <= schema.TextList+1; ty++ {
		if got := duckType(ty); got != want[ty] {
			t.Errorf("duckType(%v) = %q, want %q", ty, got, want[ty])
		}
		if ty.Valid() != (want[ty] != "") {
			t.Errorf("type %v: valid %v but DuckDB type %q", ty, ty.Valid(), want[ty])
		}
	}
}

func TestCheckTypes(t *testing.T) {
	tab := schema.Table{Name: "t", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: schema.Text}},
		Children: []schema.Child{{Field: "items", Table: schema.Table{Name: "t_items", Columns: []schema.Column{{Name: "x"}}}}}}
	err := checkTypes(tab)
	if err == nil || !strings.Contains(err.Error(), "table t_items: column x") {
		t.Errorf("checkTypes = %v, want an error naming t_items.x", err)
	}
	tab.Children = nil
	if err := checkTypes(tab); err != nil {
		t.Errorf("checkTypes = %v", err)
	}
}
