package load_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestLiveViewsFollowTheDataSchema: the live views of a table with soft
// deletes (and of its child views) are in live for the schema close and in
// <schema>_live for another, so two data schemas in one file keep theirs
// apart; a table without soft deletes has none.
func TestLiveViewsFollowTheDataSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	withDeletes := contacts
	withDeletes.Deletes = &schema.DeleteRule{ObjectType: "contact"}
	plain := contacts
	plain.Name, plain.Children = "plain", nil
	for _, tt := range []struct{ schema, live string }{{"close", "live"}, {"crm", "crm_live"}} {
		s, err := load.Open(ctx, load.Options{Path: path, Schema: tt.schema, Migrations: closesync.SQL})
		if err != nil {
			t.Fatal(err)
		}
		for _, tab := range []schema.Table{withDeletes, plain} {
			if err := s.EnsureTable(ctx, tab, schema.Upsert, "orga_1"); err != nil {
				t.Fatal(err)
			}
		}
		got := strings.Join(dump(t, s, `SELECT string_agg(schema_name || '.' || view_name, ' ' ORDER BY view_name) FROM duckdb_views()
			WHERE schema_name = '`+tt.live+`'`), "")
		if want := tt.live + ".contacts " + tt.live + ".contacts_emails"; got != want {
			t.Errorf("schema %s: live views %q, want %q", tt.schema, got, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
