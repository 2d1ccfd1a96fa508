package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestUpgradeOfAFileWithoutOrganizations opens a database written before
// tables carried organization_id (testdata/pre_organization.sql: the old
// DDL and a few rows) and syncs into it: every old row is kept and
// attributed to the organization its _raw names, else to the account's;
// every primary key now leads with organization_id and the child tables are
// views; the old bookmark is
// taken over by the account's organization.
func TestUpgradeOfAFileWithoutOrganizations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 41, Scale: 30}, "leads", "users", "lead_statuses", "custom_fields", "event_log")
	fixture, err := os.ReadFile("testdata/pre_organization.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", h.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(fixture)); err != nil {
		t.Fatalf("load the fixture: %v", err)
	}
	db.Close()

	h.sync()
	org := h.fake.OrganizationID()
	for _, c := range []struct {
		q    string
		want string
	}{
		{`SELECT organization_id, display_name, _deleted_at IS NULL FROM close.leads WHERE id = 'lead_old'`, org + " Kept Old Lead true"},
		{`SELECT organization_id FROM close.leads WHERE id = 'lead_other'`, "orga_other"},
		{`SELECT organization_id, city FROM close.leads_addresses WHERE lead_id = 'lead_old'`, org + " Lisbon"},
		{`SELECT count(*) FROM close.leads WHERE organization_id = '` + org + `'`, fmt.Sprint(h.fake.Count("lead") + 1)},
		// users is a full refresh of the organization: the old user, now
		// the organization's, is gone with the replace.
		{`SELECT count(*) FROM close.users`, fmt.Sprint(h.fake.Count("user"))},
		{`SELECT count(*) FROM close.lead_statuses WHERE organization_id = '` + org + `'`, fmt.Sprint(h.fake.Count("lead_status"))},
		{`SELECT string_agg(organization_id || '/' || report, ',' ORDER BY report) FROM sync.state WHERE account = 'main' AND report = 'leads'`, org + "/leads"},
		{`SELECT count(*) FROM sync.runs WHERE run_id = 1 AND organization_id IS NULL`, "1"},
		{`SELECT count(*) FROM sync.runs WHERE run_id > 1 AND organization_id = '` + org + `' AND status = 'success' AND trigger <> 'backfill'`, "5"},
		// A file from before loaded_from re-reads the gap to start_date once.
		{`SELECT count(*) FROM sync.runs WHERE trigger = 'backfill' AND organization_id IS DISTINCT FROM '` + org + `'`, "0"},
		{`SELECT count(*) FROM close.leads_custom`, fmt.Sprint(h.fake.Count("lead") + 2)},
	} {
		rows := h.query(c.q)
		var got []string
		for _, v := range rows[0] {
			got = append(got, fmt.Sprint(v))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s = %v, want %s", c.q, got, c.want)
		}
	}
	for table, key := range map[string]string{"leads": "[organization_id id]", "users": "[organization_id id]", "custom_fields": "[organization_id id]",
		"event_log": "[organization_id id]"} {
		rows := h.query(`SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = 'close' AND table_name = ? AND constraint_type = 'PRIMARY KEY'`, table)
		if len(rows) != 1 || fmt.Sprint(rows[0][0]) != key {
			t.Errorf("close.%s primary key = %v, want %s", table, rows, key)
		}
	}
	// The old child tables are views over leads now.
	if n := h.count(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'close' AND view_name LIKE 'leads\_%' ESCAPE '\' AND view_name <> 'leads_custom'`); n != 4 {
		t.Errorf("leads_* views = %d, want 4", n)
	}
	// The upgrade happens once: a second sync changes nothing old.
	h.sync()
	if n := h.count(`SELECT count(*) FROM close.leads WHERE id IN ('lead_old', 'lead_other')`); n != 2 {
		t.Errorf("old leads after a second sync = %d, want 2", n)
	}
}

// childTables are the child tables of leads and contacts.
var childTables = []string{"contacts_emails", "contacts_phones", "contacts_urls",
	"leads_addresses", "leads_contacts", "leads_opportunities", "leads_tasks"}

// TestUpgradeOfChildTablesToViews opens a database whose child tables are
// tables of their own (testdata/child_tables.sql: the DDL from before they
// became views, with an old lead and contact and their child rows) and
// syncs into it: each child table becomes a view over its parent's _raw
// in the first run, with the very columns and types it had, and the view
// shows the rows the table held (a soft-deleted parent's with its
// _deleted_at) beside those of the new sync.
func TestUpgradeOfChildTablesToViews(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 43, Scale: 20}, "leads", "contacts")
	fixture, err := os.ReadFile("testdata/child_tables.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", h.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(fixture)); err != nil {
		t.Fatalf("load the fixture: %v", err)
	}
	// Keep a copy of the old child rows, to compare the views with.
	for _, c := range childTables {
		if _, err := db.Exec(fmt.Sprintf("CREATE TABLE main.old_%s AS SELECT * FROM close.%s", c, c)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	columns := func() string {
		var out []string
		for _, row := range h.query(`SELECT table_name || '.' || column_name || ' ' || data_type FROM duckdb_columns()
			WHERE schema_name = 'close' AND list_contains(?, table_name) ORDER BY table_name, column_index`, childTables) {
			out = append(out, fmt.Sprint(row[0]))
		}
		return strings.Join(out, "\n")
	}
	before := columns()

	h.sync()
	if after := columns(); after != before {
		t.Errorf("child columns changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	if n := h.count(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'close' AND list_contains(?, view_name)`, childTables); n != int64(len(childTables)) {
		t.Errorf("%d of the %d child tables are views", n, len(childTables))
	}
	if n := h.count(`SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'close' AND list_contains(?, table_name)`, childTables); n != 0 {
		t.Errorf("%d child tables are still tables", n)
	}
	truth := h.truth()
	for _, c := range childTables {
		for _, pair := range [][2]string{{"close." + c, "main.old_" + c}, {"main.old_" + c, "close." + c}} {
			q := fmt.Sprintf("SELECT count(*) FROM (SELECT * FROM %s WHERE organization_id = 'orga_old' EXCEPT SELECT * FROM %s WHERE organization_id = 'orga_old')", pair[0], pair[1])
			if n := h.count(q); n != 0 {
				t.Errorf("%d old rows of %s are not in %s", n, pair[0], pair[1])
			}
		}
		if n := h.count(fmt.Sprintf(`SELECT count(*) FROM close.%s WHERE organization_id = ? AND _deleted_at IS NULL`, c), h.fake.OrganizationID()); n != int64(truth[c]) {
			t.Errorf("close.%s holds %d rows of the fake's organization, want %d", c, n, truth[c])
		}
	}
	if n := h.count(`SELECT count(*) FROM main.old_leads_addresses`); n != 3 {
		t.Errorf("the fixture's leads_addresses rows = %d, want 3", n)
	}
	// The upgrade happens once: a second sync keeps the views and the rows.
	h.sync()
	if n := h.count(`SELECT count(*) FROM close.leads_addresses WHERE organization_id = 'orga_old' AND (_deleted_at IS NOT NULL) = (lead_id = 'lead_gone')`); n != 3 {
		t.Errorf("old leads_addresses rows after a second sync = %d, want 3", n)
	}
}
