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

// TestFirstIncrementalRunRefetchesNothingUnchanged: the event log a first
// sync stores names activities edited in the 30 days before it, whose
// stored versions already carry those edits. The first incremental run
// after it re-reads none of them (one GET each before): each activity
// report makes the requests of its walk only, as many as the run after
// it. An activity edited after the first sync is still re-read.
func TestFirstIncrementalRunRefetchesNothingUnchanged(t *testing.T) {
	t.Parallel()
	reports := []string{"activities", "activities_notes", "activities_call", "activities_emails", "event_log"}
	h := newHarness(t, closefake.Options{Seed: 59, Scale: 80}, reports...)
	h.keepReadsOpen()
	window := time.Now().Add(-48 * time.Hour)
	// Edits before the first sync, to activities long out of the window.
	n := 0
	for _, a := range h.fake.Objects("activity") {
		if typ := a["_type"]; (typ == "Note" || typ == "Call" || typ == "Email") && mustTime(t, a["date_created"]).Before(window) {
			if err := h.fake.Update("activity", a["id"].(string), map[string]any{"note": "edited before the first sync"}); err != nil {
				t.Fatal(err)
			}
			if n++; n == 30 {
				break
			}
		}
	}
	h.sync()
	edited := h.count(`SELECT count(DISTINCT object_id) FROM close.event_log WHERE action = 'updated' AND object_type LIKE 'activity%'
		AND TRY_CAST(data->>'date_created' AS TIMESTAMPTZ) < ?`, window)
	if edited < 10 {
		t.Fatalf("the fake's event log names %d edited old activities: the test proves nothing", edited)
	}
	requests := func() map[string]int64 {
		out := map[string]int64{}
		for _, r := range h.query(`SELECT report, requests FROM sync.runs WHERE run_id IN
			(SELECT max(run_id) FROM sync.runs GROUP BY report)`) {
			out[r[0].(string)] = r[1].(int64)
		}
		return out
	}
	h.sync()
	first := requests()
	h.sync()
	second := requests()
	for _, r := range reports[:4] {
		t.Logf("%s: %d requests in the first incremental run, %d in the next", r, first[r], second[r])
		if first[r] > second[r] || first[r] > 3 {
			t.Errorf("%s: the first incremental run made %d requests, the next %d (the event log names %d edited old activities)",
				r, first[r], second[r], edited)
		}
	}
	// A note edited now is re-read by the run after the event log stored it.
	var note string
	for _, a := range h.fake.Objects("activity") {
		if a["_type"] == "Note" && mustTime(t, a["date_created"]).Before(window) {
			note = a["id"].(string)
			break
		}
	}
	if err := h.fake.Update("activity", note, map[string]any{"note": "edited after the first sync"}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.sync()
	for _, table := range []string{"activities", "activities_notes"} {
		if n := h.count(`SELECT count(*) FROM close.`+table+` WHERE id = ? AND json_extract_string(_raw, '$.note') = 'edited after the first sync'`, note); n != 1 {
			t.Errorf("close.%s: the note edited after the first sync was not re-read", table)
		}
	}
}
