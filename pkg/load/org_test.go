package load_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// orgRun begins a run of the report for the account and organization.
func orgRun(t *testing.T, s *load.Store, account, org, report string) load.Run {
	t.Helper()
	id, err := s.BeginRun(context.Background(), load.RunInfo{Job: "j-" + account, Report: report, Account: account, Trigger: "manual", Org: org})
	if err != nil {
		t.Fatal(err)
	}
	return load.Run{ID: id, Account: account, Org: org, Report: report}
}

// TestTwoOrganizationsShareAFile writes the same ids from two
// organizations: each keeps its rows through the other's replace,
// reconcile and purge, and each has its own bookmark.
func TestTwoOrganizationsShareAFile(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	replace := func(org string, recs ...schema.Record) int64 {
		t.Helper()
		if err := s.EnsureTable(ctx, contacts, schema.Replace, org); err != nil {
			t.Fatal(err)
		}
		run := orgRun(t, s, "acct-"+org, org, "contacts")
		if err := s.StartReplace(ctx, contacts, org); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, run, contacts, schema.Replace, load.Batch{Records: recs}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
		removed, err := s.FinishReplace(ctx, run, contacts)
		if err != nil {
			t.Fatal(err)
		}
		return removed
	}
	replace("orga_A", rec("c1", "a1", 1, "2024-01-01T00:00:00Z", "a@x"), rec("c2", "a2", 1, "2024-01-01T00:00:00Z"))
	replace("orga_B", rec("c1", "b1", 1, "2024-01-01T00:00:00Z", "b@x", "bb@x"), rec("c3", "b3", 1, "2024-01-01T00:00:00Z"))
	rows := func() string {
		return strings.Join(dump(t, s, "SELECT organization_id, id, name FROM close.contacts WHERE _deleted_at IS NULL ORDER BY ALL"), ",")
	}
	if got, want := rows(), "orga_A|c1|a1,orga_A|c2|a2,orga_B|c1|b1,orga_B|c3|b3"; got != want {
		t.Errorf("after both replaces: %s, want %s", got, want)
	}
	if got := strings.Join(dump(t, s, "SELECT organization_id, contact_id, email FROM close.contacts_emails ORDER BY ALL"), ","); got != "orga_A|c1|a@x,orga_B|c1|b@x,orga_B|c1|bb@x" {
		t.Errorf("emails = %s", got)
	}
	// A's next full refresh drops c1 and leaves B alone.
	if removed := replace("orga_A", rec("c2", "a2", 2, "2024-01-02T00:00:00Z")); removed != 1 {
		t.Errorf("removed = %d, want A's c1 only", removed)
	}
	if got, want := rows(), "orga_A|c2|a2,orga_B|c1|b1,orga_B|c3|b3"; got != want {
		t.Errorf("after A's second replace: %s, want %s", got, want)
	}
	if got := strings.Join(dump(t, s, "SELECT organization_id, email FROM close.contacts_emails ORDER BY ALL"), ","); got != "orga_B|b@x,orga_B|bb@x" {
		t.Errorf("emails after A's replace = %s", got)
	}
	// Reconcile of B with c3 only marks B's c1, not A's rows.
	run := orgRun(t, s, "acct-orga_B", "orga_B", "contacts")
	n, err := s.Reconcile(ctx, run, contacts, []string{"c3"}, time.Now().Add(time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // c1 and its two emails
		t.Errorf("reconcile marked %d rows, want B's c1 and its 2 emails", n)
	}
	if got, want := rows(), "orga_A|c2|a2,orga_B|c3|b3"; got != want {
		t.Errorf("after B's reconcile: %s, want %s", got, want)
	}
	// A purge for A removes none of B's marked rows.
	if n, err := s.PurgeDeleted(ctx, "orga_A", []schema.Table{contacts}); err != nil || n != 0 {
		t.Errorf("purge of A = %d, %v; want 0 (the marked rows are B's)", n, err)
	}
	if n, err := s.PurgeDeleted(ctx, "orga_B", []schema.Table{contacts}); err != nil || n != 3 {
		t.Errorf("purge of B = %d, %v; want 3", n, err)
	}
	pk := dump(t, s, `SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = 'contacts' AND constraint_type = 'PRIMARY KEY'`)
	if len(pk) != 1 || pk[0] != "[organization_id id]" {
		t.Errorf("primary key = %v", pk)
	}
}

func TestBookmarksArePerOrganization(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, "orga_A"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ account, org, bookmark string }{{"one", "orga_A", "2024-01-01T00:00:00Z"}, {"two", "orga_B", "2024-01-02T00:00:00Z"}} {
		run := orgRun(t, s, c.account, c.org, "contacts")
		if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: []schema.Record{rec("c1", "x", 1, "2024-01-01T00:00:00Z")},
			Bookmark: bookmark(c.bookmark)}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		account, org, want string
		ok                 bool
	}{
		{"one", "orga_A", "2024-01-01T00:00:00Z", true}, {"two", "orga_B", "2024-01-02T00:00:00Z", true},
		// Account one's key now belongs to organization C: it starts afresh.
		{"one", "orga_C", "", false},
	} {
		got, ok, err := s.Bookmark(ctx, c.account, c.org, "contacts")
		if err != nil || got.String() != c.want || ok != c.ok {
			t.Errorf("Bookmark(%s, %s) = %q, %v, %v; want %q, %v", c.account, c.org, got, ok, err, c.want, c.ok)
		}
	}
	if got := dump(t, s, "SELECT organization_id, count(*) FROM close.contacts GROUP BY 1 ORDER BY 1"); strings.Join(got, ",") != "orga_A|1,orga_B|1" {
		t.Errorf("rows per organization = %v", got)
	}
	if got := dump(t, s, "SELECT account, organization_id FROM sync.runs ORDER BY run_id"); strings.Join(got, ",") != "one|orga_A,two|orga_B" {
		t.Errorf("sync.runs organizations = %v", got)
	}
}

// TestForeignTableIsRefusedAsNotClosesyncs: a close.* table closesync did
// not make is named as such, with what it lacks and the way out, not taken
// for one of closesync's append tables.
func TestForeignTableIsRefusedAsNotClosesyncs(t *testing.T) {
	for _, c := range []struct{ name, ddl, want string }{
		{"no system columns", `CREATE TABLE close.contacts (id VARCHAR, name VARCHAR)`, "no _raw or _synced_at column"},
		{"no _synced_at", `CREATE TABLE close.contacts (id VARCHAR PRIMARY KEY, _raw JSON)`, "no _synced_at column"},
		{"another key", `CREATE TABLE close.contacts (id VARCHAR, name VARCHAR, _raw JSON, _synced_at TIMESTAMPTZ, PRIMARY KEY (name))`,
			"has primary key (name) where closesync's is (organization_id, id)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.duckdb")
			db, err := sql.Open("duckdb", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"CREATE SCHEMA close", c.ddl} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			s := open(t, path)
			defer s.Close()
			err = s.EnsureTable(context.Background(), contacts, schema.Upsert, "orga_A")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "close.contacts") ||
				!strings.Contains(err.Error(), "schema:") || strings.Contains(err.Error(), "mode append") {
				t.Errorf("err = %v, want it to name close.contacts as not closesync's (%q) and suggest another schema:", err, c.want)
			}
		})
	}
}
