package load

import (
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// duckTypes are the DuckDB types of the logical column types. The names
// are those data tables have always been created with, so existing files
// need no migration.
var duckTypes = map[schema.Type]string{
	schema.Text:      "VARCHAR",
	schema.BigInt:    "BIGINT",
	schema.Double:    "DOUBLE",
	schema.Bool:      "BOOLEAN",
	schema.Timestamp: "TIMESTAMPTZ",
	schema.Date:      "DATE",
	schema.JSON:      "JSON",
	schema.Integer:   "INTEGER",
	schema.TextList:  "VARCHAR[]",
}

// duckType is the DuckDB type of a logical column type. EnsureTable
// refuses a table with a type that has none (checkTypes), so the SQL never
// sees one.
func duckType(t schema.Type) string { return duckTypes[t] }

// checkTypes fails for a column of t or of its children whose type has no
// DuckDB type.
func checkTypes(t schema.Table) error {
	for _, tt := range withChildren(t) {
		for _, c := range tt.Columns {
			if _, ok := duckTypes[c.Type]; !ok {
				return fmt.Errorf("table %s: column %s: type %v has no DuckDB type", tt.Name, c.Name, c.Type)
			}
		}
	}
	return nil
}
