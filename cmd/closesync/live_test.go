package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
)

// liveNames are the views the live schema must hold for the synced
// reports: every table with soft deletes, its child views and its _custom
// view.
func liveNames(reports []string) []string {
	var out []string
	for _, name := range reports {
		r, ok := extract.Lookup(name)
		if !ok || r.Table.Deletes == nil {
			continue
		}
		out = append(out, r.Table.Name)
		for _, ch := range r.Table.Children {
			out = append(out, ch.Table.Name)
		}
		if len(r.Table.CustomFieldTypes) > 0 {
			out = append(out, r.Table.Name+"_custom")
		}
	}
	return out
}

// checkLive asserts that every live view exists and holds exactly the rows
// of its table that are not marked deleted; it returns how many rows the
// live views leave out.
func checkLive(h *harness, names []string) int64 {
	h.t.Helper()
	var qs []string
	for _, n := range names {
		qs = append(qs, fmt.Sprintf(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'live' AND view_name = '%s'`, n),
			fmt.Sprintf(`SELECT (SELECT count(*) FROM close.%[1]s WHERE _deleted_at IS NULL) - (SELECT count(*) FROM live.%[1]s)`, n),
			fmt.Sprintf(`SELECT (SELECT count(*) FROM close.%[1]s) - (SELECT count(*) FROM live.%[1]s)`, n))
	}
	got := h.counts(qs...)
	var hidden int64
	for i, n := range names {
		if got[3*i] != 1 {
			h.t.Errorf("no view live.%s", n)
		}
		if d := got[3*i+1]; d != 0 {
			h.t.Errorf("live.%s differs from close.%s's live rows by %d", n, n, d)
		}
		hidden += got[3*i+2]
	}
	return hidden
}

// TestLiveViews: every soft-delete table, its child views and its _custom
// view have a view of their live rows in the schema live; it hides the rows
// the event log marked deleted, and with deletes: hard (rows removed) it
// equals the table.
func TestLiveViews(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 7, Scale: 30})
	h.keepReadsOpen()
	h.sync()
	names := liveNames(coreReports)
	if len(names) < 10 {
		t.Fatalf("only %d live views expected: %v", len(names), names)
	}
	if hidden := checkLive(h, names); hidden != 0 {
		t.Errorf("live views hide %d rows before anything was deleted", hidden)
	}
	if n := h.count(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'live' AND view_name IN ('users', 'event_log', 'custom_fields')`); n != 0 {
		t.Errorf("%d live views of tables without soft deletes", n)
	}
	lead := h.fake.IDs("lead")[0]
	if err := h.fake.Delete("lead", lead); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if hidden := checkLive(h, names); hidden == 0 {
		t.Error("live views hide nothing after a lead was deleted")
	}
	if n := h.count(`SELECT count(*) FROM live.leads_custom WHERE id = ?`, lead); n != 0 {
		t.Error("the deleted lead is in live.leads_custom")
	}
	cfg := strings.Replace(mustRead(t, h.config), "    account: main\n", "    account: main\n    deletes: hard\n", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if hidden := checkLive(h, names); hidden != 0 {
		t.Errorf("with deletes: hard the live views still hide %d rows", hidden)
	}
}
