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
// every primary key now leads with organization_id; the old bookmark is
// taken over by the account's organization.
func TestUpgradeOfAFileWithoutOrganizations(t *testing.T) {
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
	for table, key := range map[string]string{"leads": "[organization_id id]", "leads_addresses": "[organization_id lead_id _position]",
		"leads_contacts": "[organization_id lead_id _position]", "users": "[organization_id id]", "custom_fields": "[organization_id id]",
		"event_log": "[organization_id id]"} {
		rows := h.query(`SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = 'close' AND table_name = ? AND constraint_type = 'PRIMARY KEY'`, table)
		if len(rows) != 1 || fmt.Sprint(rows[0][0]) != key {
			t.Errorf("close.%s primary key = %v, want %s", table, rows, key)
		}
	}
	// The upgrade happens once: a second sync changes nothing old.
	h.sync()
	if n := h.count(`SELECT count(*) FROM close.leads WHERE id IN ('lead_old', 'lead_other')`); n != 2 {
		t.Errorf("old leads after a second sync = %d, want 2", n)
	}
}
