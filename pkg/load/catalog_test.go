package load_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestViewsAreMadeOnce: a view closesync made is not made again on the
// next open while its definition is unchanged (an unchanged file costs no
// DDL), and is made again when someone replaced it or dropped it.
func TestViewsAreMadeOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	tab := contacts
	tab.Deletes = &schema.DeleteRule{ObjectType: "contact"}
	// sync opens the file and ensures the table as a run does, then
	// returns when each of its views was made and what live.contacts is.
	sync := func(tamper string) (madeAt map[string]string, columns string) {
		t.Helper()
		if tamper != "" { // behind closesync's back, as another client would
			db, err := sql.Open("duckdb", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.ExecContext(ctx, tamper)
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}()
		if err := s.EnsureTable(ctx, tab, schema.Upsert, "orga_1"); err != nil {
			t.Fatal(err)
		}
		madeAt = map[string]string{}
		for _, row := range dump(t, s, `SELECT schema_name || '.' || view_name, made_at::VARCHAR FROM sync.views`) {
			name, at, _ := strings.Cut(row, "|")
			madeAt[name] = at
		}
		columns = strings.Join(dump(t, s, `SELECT string_agg(column_name, ',' ORDER BY column_index)
			FROM duckdb_columns() WHERE schema_name = 'live' AND table_name = 'contacts'`), "")
		return madeAt, columns
	}
	first, cols := sync("")
	for _, v := range []string{"live.contacts", "live.contacts_emails", "close.contacts_emails"} {
		if first[v] == "" {
			t.Fatalf("sync.views has no row for %s: %v", v, first)
		}
	}
	if !strings.Contains(cols, "id") {
		t.Fatalf("live.contacts has columns %q", cols)
	}
	for _, tt := range []struct {
		name, tamper string
		remade       []string
	}{
		{"unchanged", "", nil},
		{"replaced", "CREATE OR REPLACE VIEW live.contacts AS SELECT 1 AS x", []string{"live.contacts"}},
		{"dropped", "DROP VIEW close.contacts_emails", []string{"close.contacts_emails"}},
		{"comment dropped", "COMMENT ON VIEW live.contacts_emails IS NULL", []string{"live.contacts_emails"}},
	} {
		before, _ := sync("")
		after, gotCols := sync(tt.tamper)
		for v, at := range after {
			if want := slices.Contains(tt.remade, v); (at != before[v]) != want {
				t.Errorf("%s: %s made again = %v, want %v", tt.name, v, at != before[v], want)
			}
		}
		if gotCols != cols {
			t.Errorf("%s: live.contacts has columns %q, want %q", tt.name, gotCols, cols)
		}
	}
}
