package main

import (
	"os"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestReconcileMarksWhatTheEventLogCannotTell deletes objects in the fake
// without the job reading the event log (as if the events were older than
// its 30 days): `sync --reconcile` lists ids only and marks exactly the
// rows whose objects are gone, then `deletes: hard` removes them.
func TestReconcileMarksWhatTheEventLogCannotTell(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 31, Scale: 80, MaxSkip: map[string]int{"*": 100}},
		"leads", "contacts", "opportunities", "tasks", "activities")
	h.sync()
	leads := h.fake.IDs("lead")
	gone := leads[7]
	if err := h.fake.Delete("lead", gone); err != nil {
		t.Fatal(err)
	}
	var contact string
	for _, c := range h.fake.Objects("contact") {
		if c["lead_id"] == leads[9] {
			contact = c["id"].(string)
		}
	}
	if err := h.fake.Delete("contact", contact); err != nil {
		t.Fatal(err)
	}
	before := h.fake.Requests()
	out := h.sync("--reconcile")
	if !strings.Contains(out, "success  core/leads:") || !strings.Contains(out, "marked deleted") {
		t.Errorf("reconcile output:\n%s", out)
	}
	for table, kind := range map[string]string{"leads": "lead", "contacts": "contact", "opportunities": "opportunity",
		"tasks": "task", "activities": "activity"} {
		live := h.count(`SELECT count(*) FROM close.` + table + ` WHERE _deleted_at IS NULL`)
		if live != int64(h.fake.Count(kind)) {
			t.Errorf("close.%s: %d live rows after reconcile, fake has %d", table, live, h.fake.Count(kind))
		}
	}
	if n := h.count(`SELECT count(*) FROM close.leads WHERE id = ? AND _deleted_at IS NOT NULL`, gone); n != 1 {
		t.Errorf("the deleted lead is not marked")
	}
	if n := h.count(`SELECT count(*) FROM close.contacts_emails e JOIN close.contacts c ON c.id = e.contact_id
		WHERE c.id = ? AND e._deleted_at IS NULL`, contact); n != 0 {
		t.Errorf("%d emails of the deleted contact still live", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'reconcile' AND status = 'success'`); n != 5 {
		t.Errorf("reconcile runs = %d, want one per report", n)
	}
	t.Logf("reconcile: %d requests for %d leads", h.fake.Requests()-before, h.fake.Count("lead"))

	// deletes: hard removes the marked rows.
	cfg := strings.Replace(mustRead(t, h.config), "    account: main\n", "    account: main\n    deletes: hard\n", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.sync("--reconcile")
	for table, kind := range map[string]string{"leads": "lead", "contacts": "contact", "activities": "activity"} {
		if n := h.count(`SELECT count(*) FROM close.` + table); n != int64(h.fake.Count(kind)) {
			t.Errorf("close.%s: %d rows with deletes: hard, fake has %d", table, n, h.fake.Count(kind))
		}
	}
}
