package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// TestHistoryKeepsEveryVersion: leads keep history by default. The first
// sync makes a version of every lead; a status change adds one and closes
// the one before at the change's date_updated, so leads_as_of shows the
// lead's status before and after; a sync that re-reads unchanged leads
// adds none; a deleted lead's open version closes when the event log
// says so, and it is gone from leads_as_of after its deletion but still
// there before it. history: false keeps none.
func TestHistoryKeepsEveryVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 97, Scale: 20}, "leads", "event_log", "opportunities")
	h.keepReadsOpen()
	cfg := strings.Replace(mustRead(t, h.config), "opportunities]", "{name: opportunities, history: false}]", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sync()
	leads := h.count(`SELECT count(*) FROM close.leads`)
	if leads == 0 || h.count(`SELECT count(*) FROM close.leads_versions WHERE valid_to IS NULL`) != leads ||
		h.count(`SELECT count(*) FROM close.leads_versions`) != leads {
		t.Fatalf("after the first sync: %d leads, versions %v", leads, h.query(`SELECT count(*), count(valid_to) FROM close.leads_versions`))
	}
	if n := h.count(`SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'close' AND table_name = 'opportunities_versions'`); n != 0 {
		t.Errorf("opportunities has history: false, yet a versions table")
	}

	rows := h.query(`SELECT a.id, a.status_id, a.status_label, b.status_id, b.status_label FROM close.leads a, close.leads b
		WHERE a.status_id <> b.status_id ORDER BY a.id, b.id LIMIT 1`)
	if len(rows) == 0 {
		t.Fatal("every lead has one status: the test proves nothing")
	}
	id, oldStatus, newStatus, newLabel := rows[0][0].(string), rows[0][1].(string), rows[0][3].(string), rows[0][4].(string)
	before := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	if err := h.fake.Update("lead", id, map[string]any{"status_id": newStatus, "status_label": newLabel}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.sync() // re-reads the changed lead (the bookmark's overlap): no new version
	got := h.query(`SELECT status_id, valid_from, valid_to FROM close.leads_versions WHERE id = ? ORDER BY valid_from`, id)
	if len(got) != 2 || got[0][0] != oldStatus || got[1][0] != newStatus || got[1][2] != nil || got[0][2] == nil ||
		!got[0][2].(time.Time).Equal(got[1][1].(time.Time)) {
		t.Fatalf("versions of %s: %v, want %s then %s, the first closed when the second began", id, got, oldStatus, newStatus)
	}
	if n := h.count(`SELECT count(*) FROM close.leads_versions`); n != leads+1 {
		t.Errorf("%d versions after one change of %d leads, want %d", n, leads, leads+1)
	}
	asOf := func(at time.Time, id string) [][]any {
		return h.query(`SELECT status_id FROM close.leads_as_of(?::TIMESTAMPTZ) WHERE id = ?`, at, id)
	}
	if s := asOf(before, id); len(s) != 1 || s[0][0] != oldStatus {
		t.Errorf("leads_as_of(before the change) for %s = %v, want %s", id, s, oldStatus)
	}
	if s := asOf(time.Now(), id); len(s) != 1 || s[0][0] != newStatus {
		t.Errorf("leads_as_of(now) for %s = %v, want %s", id, s, newStatus)
	}
	if n := h.count(`SELECT count(*) FROM close.leads_as_of(now())`); n != leads {
		t.Errorf("leads_as_of(now()) holds %d leads, want %d", n, leads)
	}

	// A deleted lead: its version closes at the deletion.
	gone := h.query(`SELECT id FROM close.leads WHERE id <> ? ORDER BY id LIMIT 1`, id)[0][0].(string)
	beforeDelete := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	if err := h.fake.Delete("lead", gone); err != nil {
		t.Fatal(err)
	}
	h.sync()
	closed := h.query(`SELECT v.valid_to, l._deleted_at FROM close.leads_versions v JOIN close.leads l USING (organization_id, id) WHERE id = ?`, gone)
	if len(closed) != 1 || closed[0][0] == nil || closed[0][1] == nil || !closed[0][0].(time.Time).Equal(closed[0][1].(time.Time)) {
		t.Errorf("the deleted lead's versions: %v, want one closed at its _deleted_at", closed)
	}
	if s := asOf(time.Now(), gone); len(s) != 0 {
		t.Errorf("leads_as_of(now) still has the deleted lead %s", gone)
	}
	if s := asOf(beforeDelete, gone); len(s) != 1 {
		t.Errorf("leads_as_of(before its deletion) lacks the deleted lead %s: %v", gone, s)
	}
}

// TestValidateChecksHistoryAgainstTheCatalog: history on a report that
// replaces by default, or whose records have no date_updated, is refused
// with the config's other problems (pkg/config/testdata/history.bad.yaml).
func TestValidateChecksHistoryAgainstTheCatalog(t *testing.T) {
	t.Parallel()
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"validate", "--config", "../../pkg/config/testdata/history.bad.yaml"},
		&env{stdout: &o, stderr: &e, getenv: os.Getenv})
	if code != 2 {
		t.Errorf("exit %d, want 2 (a usage error)", code)
	}
	for _, want := range []string{
		`jobs[0].reports[0].history: needs mode upsert (one row per id, whose versions it keeps), not append`,
		`jobs[0].reports[2].history: lead_statuses cannot keep history: its mode is replace by default: set mode: upsert`,
		`jobs[0].reports[4].history: want true or false, got "sometimes"`,
	} {
		if !strings.Contains(e.String(), want) {
			t.Errorf("validate lacks %q:\n%s%s", want, o.String(), e.String())
		}
	}
	if strings.Contains(e.String(), "reports[3]") || strings.Contains(e.String(), "reports[1]") {
		t.Errorf("validate refuses users' or leads' history:\n%s", e.String())
	}
}
