package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// attachReadOnly opens an in-memory DuckDB with each file attached
// read-only under its name (closed with the test).
func attachReadOnly(t *testing.T, files map[string]string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for name, path := range files {
		if _, err := db.Exec(fmt.Sprintf("ATTACH '%s' AS %s (READ_ONLY)", path, name)); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestFilterNullsDropsTheRecordsNullKeys syncs one fake twice, into a file
// as Close sent it and into a file with filter_nulls on the account (off
// again for email_templates): the filtered reports' _raw is the unfiltered
// _raw without its top-level null-valued keys (nested nulls, such as the
// event log's previous_data, stay), the report that turned it off keeps
// them, and every typed column of every table is the same in both files.
func TestFilterNullsDropsTheRecordsNullKeys(t *testing.T) {
	t.Parallel()
	reports := []string{"leads", "contacts", "event_log", "phone_numbers", "email_templates"}
	h := newHarness(t, closefake.Options{Seed: 83, Scale: 40}, reports...)
	h.sync()
	plain := h.db

	h.db = filepath.Join(h.dir, "filtered.duckdb")
	cfg := strings.Replace(mustRead(t, h.config), "database: "+plain, "database: "+h.db, 1)
	cfg = strings.Replace(cfg, "    base_url:", "    filter_nulls: true\n    base_url:", 1)
	cfg = strings.Replace(cfg, "email_templates]", "{name: email_templates, filter_nulls: false}]", 1)
	h.config = filepath.Join(h.dir, "filtered.yaml")
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := h.run("validate", "--config", h.config); code != 0 ||
		!strings.Contains(out, "jobs core: leads, contacts, event_log, phone_numbers store _raw without null-valued keys (filter_nulls)") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	h.sync()

	db := attachReadOnly(t, map[string]string{"plain": plain, "filtered": h.db})
	// Every typed column (those not named _...) of every table and view.
	var tables []string
	for _, row := range h.queryOn(db, `SELECT table_name FROM duckdb_tables() WHERE database_name = 'plain' AND schema_name = 'close'
		UNION SELECT view_name FROM duckdb_views() WHERE database_name = 'plain' AND schema_name = 'close' ORDER BY 1`) {
		tables = append(tables, row[0].(string))
	}
	if len(tables) < len(reports) {
		t.Fatalf("the file holds %d tables and views: %v", len(tables), tables)
	}
	for _, table := range tables {
		typed := `SELECT COLUMNS(c -> NOT starts_with(c, '_')) FROM %s.close.%s`
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM (%[1]s EXCEPT ALL %[2]s)) + (SELECT count(*) FROM (%[2]s EXCEPT ALL %[1]s)), (SELECT count(*) FROM (%[1]s))`,
			fmt.Sprintf(typed, "plain", table), fmt.Sprintf(typed, "filtered", table))
		row := h.queryOn(db, q)[0]
		if diff := row[0].(int64); diff != 0 {
			t.Errorf("close.%s: %d typed rows differ between the plain and the filtered file (of %d)", table, diff, row[1])
		}
	}

	// _raw: the top-level nulls are gone where the report filters, and only
	// they; every key kept is byte for byte what Close sent, nested nulls
	// (the event log's data and previous_data) included.
	raws := func(file, table string) map[string]map[string]json.RawMessage {
		out := map[string]map[string]json.RawMessage{}
		for _, row := range h.queryOn(db, fmt.Sprintf(`SELECT id, _raw::VARCHAR FROM %s.close.%s`, file, table)) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(row[1].(string)), &m); err != nil {
				t.Fatalf("%s close.%s %s: %v", file, table, row[0], err)
			}
			out[row[0].(string)] = m
		}
		return out
	}
	for _, c := range []struct {
		table   string
		filters bool
	}{{"event_log", true}, {"phone_numbers", true}, {"leads", true}, {"contacts", true}, {"email_templates", false}} {
		before, after := raws("plain", c.table), raws("filtered", c.table)
		if len(before) == 0 || len(before) != len(after) {
			t.Fatalf("close.%s: %d records plain, %d filtered", c.table, len(before), len(after))
		}
		dropped := 0
		for id, b := range before {
			a := after[id]
			for k, v := range b {
				isNull := string(v) == "null"
				if _, kept := a[k]; kept == (isNull && c.filters) {
					t.Errorf("close.%s %s: key %s (%s) kept: %v", c.table, id, k, v, kept)
				}
				if isNull {
					dropped++
				}
			}
			for k, v := range a {
				if string(b[k]) != string(v) {
					t.Errorf("close.%s %s: %s is %s filtered, %s as sent", c.table, id, k, v, b[k])
				}
			}
		}
		if dropped == 0 && c.table != "leads" && c.table != "contacts" {
			t.Errorf("close.%s: no record has a null key: the test proves nothing", c.table)
		}
	}
}
