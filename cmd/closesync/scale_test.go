package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// scaleLeads sizes TestScaleMutationsAndRequestCost. The suite runs it
// small; README's figures are for the full scenario:
//
//	go test -v -run TestScaleMutations ./cmd/closesync/ -scale=20000
var scaleLeads = flag.Int("scale", 400, "leads in TestScaleMutationsAndRequestCost (README's scenario: 20000)")

// TestScaleMutationsAndRequestCost is issue 4's scenario: an organisation
// of -scale leads (400 in the suite, 20,000 for README's figures) with the
// fake's strict max_skip (150 to 250 per resource), whose event log holds
// edits of old activities from before the first sync (PastEdits). The first
// sync equals the fake; an unchanged incremental run makes exactly the fixed
// probes (minimumCost); after a mutation batch (1% of leads updated,
// deletes, merges, new and old-but-edited activities, contact custom fields
// changed) the next sync equals the fake again, with _deleted_at on exactly
// the deleted ids, in at most 1.1 times the changed pages plus the fixed
// probes. The figures are logged (go test -v) for the README.
func TestScaleMutationsAndRequestCost(t *testing.T) {
	t.Parallel()
	scale := *scaleLeads
	if scale < 100 {
		t.Fatalf("-scale=%d: the scenario needs at least 100 leads", scale)
	}
	reports := []string{"event_log", "leads", "contacts", "opportunities", "tasks", "activities", "custom_fields"}
	h := newHarness(t, closefake.Options{Seed: 41, Scale: scale, PastEdits: max(scale/50, 10)}, reports...)
	h.keepReadsOpen()
	requests := func() map[string]int64 {
		out := map[string]int64{}
		// The last run of each report: a compaction as the file closes
		// adds a row of its own (report database) after them.
		for _, r := range h.query(`SELECT report, requests FROM sync.runs WHERE trigger <> 'compact' ORDER BY run_id DESC LIMIT ?`, len(reports)) {
			out[r[0].(string)] = r[1].(int64)
		}
		return out
	}
	total := func(m map[string]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	live := func() {
		t.Helper()
		for table, kind := range map[string]string{"leads": "lead", "contacts": "contact", "opportunities": "opportunity",
			"tasks": "task", "activities": "activity", "custom_fields": "custom_field"} {
			if got := h.count(`SELECT count(*) FROM close.` + table + ` WHERE _deleted_at IS NULL`); got != int64(h.fake.Count(kind)) {
				t.Errorf("close.%s: %d live rows, fake has %d", table, got, h.fake.Count(kind))
			}
			if dup := h.count(`SELECT count(*) - count(DISTINCT id) FROM close.` + table); dup != 0 {
				t.Errorf("close.%s: %d duplicate ids", table, dup)
			}
		}
	}

	start := time.Now()
	h.sync()
	first := requests()
	t.Logf("first sync of %d leads: %s, %d requests %v", scale, time.Since(start).Round(time.Second), total(first), first)
	live()

	edits := h.count(`SELECT count(DISTINCT object_id) FROM close.event_log WHERE action = 'updated' AND object_type LIKE 'activity%'
		AND TRY_CAST(data->>'date_created' AS TIMESTAMPTZ) < now() - INTERVAL 30 DAY`)
	if edits < 10 {
		t.Fatalf("the first sync stored edits of %d old activities: the fake's PastEdits did not reach the event log", edits)
	}

	fixed := minimumCost(t, h.fake, h.bookmarks(), start, true)
	refusedBefore := h.fake.MaxSkipRefusals()
	start = time.Now()
	h.sync()
	unchanged := requests()
	refused := refusals(refusedBefore, h.fake.MaxSkipRefusals())
	t.Logf("unchanged incremental sync: %s, %d requests (fixed probes %d, max_skip refusals %v): %s", time.Since(start).Round(time.Millisecond),
		total(unchanged), sumInts(fixed), refused, costLine(unchanged, fixed))
	// contacts and custom_fields share the field lists: whichever reads
	// one first pays for it. A walk longer than its resource's max_skip
	// (the fake's are 150 to 250) also pays the one request the cap
	// refuses, and no more.
	pair := func(m map[string]int64) int64 { return m["contacts"] + m["custom_fields"] }
	for r, want := range fixed {
		if refused[r] > 1 {
			t.Errorf("unchanged %s met its max_skip %d times; once is how a walk learns it", r, refused[r])
		}
		if r != "contacts" && r != "custom_fields" && unchanged[r] != int64(want+refused[r]) {
			t.Errorf("unchanged %s made %d requests; its fixed probes are %d, and %d refused", r, unchanged[r], want, refused[r])
		}
	}
	if got, want := pair(unchanged), int64(fixed["contacts"]+fixed["custom_fields"]); got != want {
		t.Errorf("unchanged contacts and custom_fields made %d requests; their fixed probes are %d", got, want)
	}
	lastStart := start

	// The mutation batch.
	r := rand.New(rand.NewPCG(41, 1))
	leads := h.fake.IDs("lead")
	r.Shuffle(len(leads), func(i, j int) { leads[i], leads[j] = leads[j], leads[i] })
	n := scale / 100
	// At least 3 deletes and 2 merges, so that the small version of the
	// scenario has them too (at 20,000 leads: 20 and 5, as before).
	nDel, nMerge := max(n/10, 3), max(n/20, 4)
	for _, id := range leads[:n] {
		if err := h.fake.Update("lead", id, map[string]any{"description": "updated in bulk"}); err != nil {
			t.Fatal(err)
		}
	}
	var deleted []string
	for _, id := range leads[n : n+nDel] {
		if err := h.fake.Delete("lead", id); err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, id)
	}
	for i := n + nDel; i < n+nDel+nMerge; i += 2 {
		if err := h.fake.MergeLeads(leads[i], leads[i+1]); err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, leads[i])
	}
	live2 := leads[n+nDel+nMerge:]
	for _, id := range live2[:n] {
		if _, err := h.fake.Create("activity", map[string]any{"_type": "Note", "lead_id": id, "note": "new"}); err != nil {
			t.Fatal(err)
		}
	}
	var oldNotes []string
	for _, a := range h.fake.Objects("activity") {
		if a["_type"] == "Note" && mustTime(t, a["date_created"]).Before(time.Now().Add(-30*24*time.Hour)) && len(oldNotes) < 10 {
			if err := h.fake.Update("activity", a["id"].(string), map[string]any{"note": "edited later"}); err != nil {
				t.Fatal(err)
			}
			oldNotes = append(oldNotes, a["id"].(string))
		}
	}
	var cf string
	for _, f := range h.fake.Objects("custom_field") {
		if f["object_type"] == "contact" {
			cf = f["id"].(string)
			break
		}
	}
	contacts := h.fake.IDs("contact")
	for _, id := range contacts[:n] {
		if err := h.fake.Update("contact", id, map[string]any{"custom." + cf: "changed"}); err != nil {
			t.Fatal(err)
		}
	}

	least := minimumCost(t, h.fake, h.bookmarks(), lastStart, true)
	refusedBefore = h.fake.MaxSkipRefusals()
	start = time.Now()
	h.sync()
	changed := requests()
	t.Logf("sync after the mutations: %s, %d requests, %.2f times the minimum %d (max_skip refusals %v): %s", time.Since(start).Round(time.Millisecond),
		total(changed), float64(total(changed))/float64(sumInts(least)), sumInts(least),
		refusals(refusedBefore, h.fake.MaxSkipRefusals()), costLine(changed, least))
	live()
	gotDeleted := []string{}
	for _, row := range h.query(`SELECT id FROM close.leads WHERE _deleted_at IS NOT NULL ORDER BY id`) {
		gotDeleted = append(gotDeleted, row[0].(string))
	}
	slices.Sort(deleted)
	if fmt.Sprint(gotDeleted) != fmt.Sprint(deleted) {
		t.Errorf("leads marked deleted %d, want exactly the %d deleted or merged", len(gotDeleted), len(deleted))
	}
	checks := []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM close.leads WHERE description = 'updated in bulk' AND _deleted_at IS NULL`, n},
		{`SELECT count(*) FROM close.activities WHERE _raw->>'note' = 'new'`, n},
		{`SELECT count(*) FROM close.activities WHERE _raw->>'note' = 'edited later'`, len(oldNotes)},
		{fmt.Sprintf(`SELECT count(*) FROM close.contacts WHERE custom->>'%s' = 'changed'`, cf), n},
	}
	for _, c := range checks {
		if got := h.count(c.q); got != int64(c.want) {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
	if limit := 1.1 * float64(sumInts(least)); float64(total(changed)) > limit {
		t.Errorf("the sync after a 1%% change made %d requests, more than 1.1 times the changed pages and fixed probes (%d): %s",
			total(changed), sumInts(least), costLine(changed, least))
	}
	if !strings.Contains(fmt.Sprint(changed), "leads") {
		t.Errorf("no leads run recorded: %v", changed)
	}
}
