package load_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/schema"
)

// described returns contacts with descriptions on the table, a column and
// the child view.
func described(nameDoc string) schema.Table {
	t := contacts
	t.Description = "Contacts."
	t.Columns = append([]schema.Column(nil), contacts.Columns...)
	t.Columns[1].Description = nameDoc
	ch := t.Children[0]
	ch.Table.Description = "Emails of contacts."
	ch.Table.Columns = append([]schema.Column(nil), ch.Table.Columns...)
	ch.Table.Columns[2].Description = "Email address."
	t.Children = []schema.Child{ch}
	return t
}

// TestCommentsOnCreateAndUpgrade: a new table, its columns (system ones
// included) and its child view get their comments; a file whose comments
// are missing (written before closesync commented) or stale (the catalog's
// description changed) gets them on the next EnsureTable, and sync's tables
// are commented on open.
func TestCommentsOnCreateAndUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s := open(t, path)
	if err := s.EnsureTable(ctx, described("Full name."), schema.Upsert, "orga_1"); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT coalesce((SELECT comment FROM duckdb_tables() WHERE table_name = 'contacts'), '-') || '|' ||
		coalesce((SELECT comment FROM duckdb_views() WHERE view_name = 'contacts_emails'), '-') || '|' ||
		coalesce((SELECT comment FROM duckdb_columns() WHERE table_name = 'contacts' AND column_name = 'name'), '-') || '|' ||
		coalesce((SELECT comment FROM duckdb_columns() WHERE table_name = 'contacts_emails' AND column_name = 'email'), '-') || '|' ||
		coalesce((SELECT left(comment, 20) FROM duckdb_columns() WHERE table_name = 'contacts' AND column_name = '_raw'), '-') || '|' ||
		coalesce((SELECT left(comment, 10) FROM duckdb_columns() WHERE schema_name = 'sync' AND table_name = 'runs' AND column_name = 'run_id'), '-')`
	const want = "Contacts.|Emails of contacts.|Full name.|Email address.|The record exactly a|Run number"
	if got := strings.Join(dump(t, s, q), ""); got != want {
		t.Errorf("after create: %q, want %q", got, want)
	}
	for _, stmt := range []string{"COMMENT ON TABLE close.contacts IS NULL", "COMMENT ON COLUMN close.contacts.name IS NULL",
		"COMMENT ON COLUMN close.contacts._raw IS NULL", "COMMENT ON VIEW close.contacts_emails IS NULL", "COMMENT ON COLUMN sync.runs.run_id IS NULL"} {
		if err := s.ExecBench(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if err := s.EnsureTable(ctx, described("Contact's full name."), schema.Upsert, "orga_1"); err != nil {
		t.Fatal(err)
	}
	want2 := strings.Replace(want, "Full name.", "Contact's full name.", 1)
	if got := strings.Join(dump(t, s, q), ""); got != want2 {
		t.Errorf("after upgrade: %q, want %q", got, want2)
	}
}
