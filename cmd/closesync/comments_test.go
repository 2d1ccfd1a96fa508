package main

import (
	"database/sql"
	"strings"
	"testing"
)

// uncommented lists the tables, views and columns of closesync's schemas
// that have no comment.
const uncommented = `
SELECT 'table ' || schema_name || '.' || table_name FROM duckdb_tables()
 WHERE schema_name IN ('close', 'sync') AND coalesce(trim(comment), '') = ''
UNION ALL
SELECT 'view ' || schema_name || '.' || view_name FROM duckdb_views()
 WHERE NOT internal AND schema_name IN ('close', 'sync', 'live') AND coalesce(trim(comment), '') = ''
UNION ALL
SELECT 'column ' || schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns()
 WHERE NOT internal AND schema_name IN ('close', 'sync', 'live') AND coalesce(trim(comment), '') = ''
ORDER BY 1`

// checkComments: after a sync of every report, nothing closesync created
// is left without a comment, and the comments carry the units an analyst
// needs.
func checkComments(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var objects int
	if err := db.QueryRow(`SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'close'`).Scan(&objects); err != nil {
		t.Fatal(err)
	}
	if objects < 500 {
		t.Fatalf("only %d columns in schema close: the demo did not sync every report", objects)
	}
	rows, err := db.Query(uncommented)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var missing []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		missing = append(missing, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d objects without a comment:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for _, tt := range []struct{ table, column, want string }{
		{"opportunities", "value", "cents"},
		{"opportunities_custom", "value", "cents"},
		{"leads_opportunities", "value", "cents"},
		{"activities_call", "duration", "seconds"},
		{"leads_custom", "Lead Source", "Custom field"},
	} {
		var c string
		if err := db.QueryRow(`SELECT comment FROM duckdb_columns() WHERE schema_name = 'close' AND table_name = ? AND column_name = ?`,
			tt.table, tt.column).Scan(&c); err != nil {
			t.Errorf("%s.%s: %v", tt.table, tt.column, err)
		} else if !strings.Contains(c, tt.want) {
			t.Errorf("%s.%s: comment %q lacks %q", tt.table, tt.column, c, tt.want)
		}
	}
}
