package load_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestChildTablesAreViewsOfTheParent checks that a child table is a view
// over its parent's _raw with the columns and types a child table had, no
// key or index of its own, and the parent row's system columns; that a
// soft delete shows in it and counts its rows, and a purge removes them.
func TestChildTablesAreViewsOfTheParent(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, "orga_1"); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	run := load.Run{ID: id, Account: "main", Org: "orga_1", Report: "contacts"}
	batch := []schema.Record{rec("c1", "a", 1, "2024-01-01T00:00:00+00:00", "a@x", "b@x"), rec("c2", "b", 1, "2024-01-01T00:00:00+00:00", "c@x")}
	if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: batch}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, q, want string }{
		{"a view, not a table", `SELECT (SELECT count(*) FROM duckdb_views() WHERE view_name = 'contacts_emails') || '/' ||
			(SELECT count(*) FROM duckdb_tables() WHERE table_name = 'contacts_emails')`, "1/0"},
		{"no key, no index", `SELECT (SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'contacts_emails') +
			(SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'contacts_emails')`, "0"},
		{"columns and types", `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 'contacts_emails'`,
			"organization_id VARCHAR, contact_id VARCHAR, _position INTEGER, email VARCHAR, type VARCHAR, _raw JSON, " +
				"_synced_at TIMESTAMP WITH TIME ZONE, _run_id BIGINT, _deleted_at TIMESTAMP WITH TIME ZONE"},
		{"rows", `SELECT string_agg(organization_id || ' ' || contact_id || ' ' || _position || ' ' || email || ' ' || (_raw->>'type'), ', ' ORDER BY contact_id, _position) FROM close.contacts_emails`,
			"orga_1 c1 0 a@x office, orga_1 c1 1 b@x office, orga_1 c2 0 c@x office"},
		{"the parent's system columns", `SELECT count(*) FROM close.contacts_emails e JOIN close.contacts c ON c.id = e.contact_id
			WHERE e._synced_at = c._synced_at AND e._run_id = c._run_id AND e._deleted_at IS NULL`, "3"},
	} {
		if got := strings.Join(dump(t, s, c.q), ","); got != c.want {
			t.Errorf("%s: %s = %q, want %q", c.name, c.q, got, c.want)
		}
	}
	// c1 is gone from the listing: it and its two emails are marked.
	n, err := s.Reconcile(ctx, run, contacts, []string{"c2"}, time.Now().Add(time.Hour), nil)
	if err != nil || n != 3 {
		t.Errorf("reconcile = %d, %v; want 3 (one contact, two emails)", n, err)
	}
	if got := dump(t, s, `SELECT string_agg(contact_id || ' ' || (_deleted_at IS NOT NULL), ', ' ORDER BY contact_id, _position) FROM close.contacts_emails`); got[0] != "c1 true, c1 true, c2 false" {
		t.Errorf("emails after reconcile = %v", got)
	}
	if n, err := s.PurgeDeleted(ctx, "orga_1", []schema.Table{contacts}); err != nil || n != 3 {
		t.Errorf("purge = %d, %v; want 3", n, err)
	}
	if got := dump(t, s, `SELECT string_agg(contact_id, ', ') FROM close.contacts_emails`); got[0] != "c2" {
		t.Errorf("emails after purge = %v", got)
	}
}
