package main

import (
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// TestEditedOldActivitiesAreReRead edits notes created long before the
// attribution window: the activity walk cannot see them, the event log
// can, and the run after the event landed re-reads exactly those notes.
func TestEditedOldActivitiesAreReRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 37, Scale: 60}, "activities", "activities_notes", "event_log")
	h.sync()
	var notes []string
	for _, a := range h.fake.Objects("activity") {
		if a["_type"] == "Note" && mustTime(t, a["date_created"]).Before(time.Now().Add(-7*24*time.Hour)) {
			notes = append(notes, a["id"].(string))
		}
		if len(notes) == 3 {
			break
		}
	}
	if len(notes) < 3 {
		t.Fatal("the fake has no old notes")
	}
	for _, id := range notes {
		if err := h.fake.Update("activity", id, map[string]any{"note": "edited long after"}); err != nil {
			t.Fatal(err)
		}
	}
	h.sync() // the activity runs cannot see the edits; event_log stores them
	h.sync() // the activity runs re-read the edited notes
	for _, table := range []string{"activities", "activities_notes"} {
		if n := h.count(`SELECT count(*) FROM close.` + table + ` WHERE _raw->>'note' = 'edited long after'`); n != 3 {
			t.Errorf("close.%s: %d edited notes, want 3", table, n)
		}
	}
	// An event is acted on by the first run after it landed, and again only
	// while the event log's own overlap re-stores it (minutes): the cost is
	// one request per edited activity, never a re-read of the table.
	cost := func() int64 {
		before := h.fake.Requests()
		h.sync("--report", "activities_notes")
		return h.fake.Requests() - before
	}
	if first, second := cost(), cost(); first > second+3 || second > 3 {
		t.Errorf("runs after the re-read made %d and %d requests", first, second)
	}
}
