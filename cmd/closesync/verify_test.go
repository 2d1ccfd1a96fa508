package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestVerifyFindsWhatChangedBehindItsBack: closesync verify agrees with
// Close after a sync, calls a new lead in Close "behind" (the next sync
// reads it), and exits 1 naming the report when a lead is deleted in Close
// without the event log's news reaching the file, and when a contact row is
// deleted from the file behind closesync's back; reconcile and a full
// refresh put them right. Every check is a sync.runs row with trigger
// verify.
func TestVerifyFindsWhatChangedBehindItsBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 83, Scale: 40}, "leads", "contacts", "users", "lead_statuses", "event_log")
	h.keepReadsOpen()
	h.sync()
	verify := func(wantCode int, want ...string) string {
		t.Helper()
		code, out, errOut := h.run("verify", "--config", h.config)
		if code != wantCode {
			t.Fatalf("verify: exit %d, want %d\n%s\n%s", code, wantCode, out, errOut)
		}
		t.Logf("closesync verify (exit %d):\n%s", code, out)
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("verify output lacks %q:\n%s", w, out)
			}
		}
		return out
	}
	leads := h.fake.Count(closefake.KindLead)
	out := verify(0, fmt.Sprintf(`core +leads +%d +%[1]d .* equal +counted`, leads), `core +contacts .* equal `, `core +users .* equal `, `core +event_log .* unverifiable +\S`)
	if strings.Contains(out, "DIFFERS") {
		t.Errorf("a fresh sync differs:\n%s", out)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'verify' AND status = 'success'`); n != 5 {
		t.Errorf("%d successful verify runs, want one per report", n)
	}

	// A lead new in Close: the next sync reads it.
	if _, err := h.fake.Create(closefake.KindLead, map[string]any{"name": "New since the sync"}); err != nil {
		t.Fatal(err)
	}
	verify(0, `core +leads +\d+ +\d+ .* behind by 1 `, `1 report\(s\) behind`)
	h.sync()

	// A lead deleted in Close (its contacts with it), the sync not run
	// since.
	gone := h.fake.IDs(closefake.KindLead)[4]
	if err := h.fake.Delete(closefake.KindLead, gone); err != nil {
		t.Fatal(err)
	}
	verify(1, `core +leads .* DIFFERS by -1 `, `report\(s\) differ`, `--reconcile`)
	var errText string
	for _, r := range h.query(`SELECT status, error FROM sync.runs WHERE trigger = 'verify' AND report = 'leads' ORDER BY run_id DESC LIMIT 1`) {
		if r[0] != "failed" {
			t.Errorf("the leads verify run is %v, want failed", r[0])
		}
		errText, _ = r[1].(string)
	}
	if !strings.Contains(errText, "leads: ") || !strings.Contains(errText, "live rows, Close has") {
		t.Errorf("the failed verify run's error: %q", errText)
	}

	// Reconcile marks the lead and its contacts.
	h.sync("--reconcile")
	verify(0, `core +leads .* equal `, `core +contacts .* equal `)

	// A contact row deleted from the file behind closesync's back: no
	// change in Close explains it; a full refresh brings it back.
	contact := h.fake.IDs(closefake.KindContact)[2]
	h.exec(`DELETE FROM close.contacts WHERE id = ?`, contact)
	verify(1, `core +contacts .* DIFFERS by \+1 `, `core +leads .* equal `, `1 report\(s\) differ`)
	h.sync("--full-refresh", "--report", "contacts")
	verify(0, `core +contacts .* equal `)
}
