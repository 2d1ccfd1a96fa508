package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// The least requests an incremental run of the scale scenario's reports
// can make, computed from the fake's truth and the bookmarks the previous
// run stored, so that TestScaleMutationsAndRequestCost can hold closesync
// to it. For each report:
//
//   - changed pages: the records whose replication field is at or after the
//     stored bookmark less the 2-minute overlap (the lead query at minute
//     precision; for activities also less the 24 h attribution window),
//     in pages of the walk's page size, at least one page (an empty first
//     page is how a walk learns nothing changed);
//   - fixed probes: that one first page of each incremental listing, the
//     custom field lists the contact search needs for its _fields
//     (/custom_field/contact/ and /custom_field/shared/) unless the job's
//     custom_fields report shares them (extract.WithSharedLists: one job's
//     reports read each list once), and custom_fields' six lists;
//   - re-reads: the activities created before the activity walk's window
//     whose version is newer than the previous run read (edits the event
//     log names), 100 to a request.
//
// A walk past a resource's max_skip also costs the request Close refuses
// (the cap is unpublished: the refusal names it), and a restart re-reads
// the records at its boundary; neither is in the minimum. The fake's caps
// (150 to 250) make that happen to windows of a few hundred records;
// Close's (250,000 seen) leave incremental runs far below them.

const (
	overlap          = 2 * time.Minute
	attributionWin   = 24 * time.Hour
	refetchPerCall   = 100
	customFieldLists = 6
)

// pageSizes are the walks' page sizes (pkg/extract's catalog).
var pageSizes = map[string]int{"event_log": 50, "leads": 200, "contacts": 200, "opportunities": 250, "tasks": 1000, "activities": 100}

// fakeTime reads one of the fake's timestamps (with an offset, or naive
// UTC as newer Close services send them).
func fakeTime(t *testing.T, v any) time.Time {
	t.Helper()
	s := fmt.Sprint(v)
	if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ts
	}
	ts, err := time.Parse("2006-01-02T15:04:05.999999", s)
	if err != nil {
		t.Fatalf("fake timestamp %q: %v", s, err)
	}
	return ts
}

// bookmarks are the stored bookmarks by report.
func (h *harness) bookmarks() map[string]time.Time {
	h.t.Helper()
	out := map[string]time.Time{}
	for _, r := range h.query(`SELECT report, bookmark FROM sync.state`) {
		ts, err := time.Parse(time.RFC3339Nano, r[1].(string))
		if err != nil {
			h.t.Fatalf("bookmark of %s: %v", r[0], err)
		}
		out[r[0].(string)] = ts
	}
	return out
}

// minimumCost is the least requests per report of the next incremental
// run, given the bookmarks the last run stored and when it started.
// sharedLists says whether the contact search takes its field lists from
// the job's custom_fields report.
func minimumCost(t *testing.T, fake *closefake.Server, bm map[string]time.Time, lastStart time.Time, sharedLists bool) map[string]int {
	t.Helper()
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	since := func(kind, field string, from time.Time) (n int) {
		for _, o := range fake.Objects(kind) {
			if v, ok := o[field]; ok && v != nil && !fakeTime(t, v).Before(from) {
				n++
			}
		}
		return n
	}
	// The bound each walk sends: second precision for date parameters and
	// searches, minute precision for the lead query.
	from := func(report string) time.Time { return bm[report].Add(-overlap).Truncate(time.Second) }
	out := map[string]int{
		"event_log":     pages(since(closefake.KindEvent, "date_updated", from("event_log")), pageSizes["event_log"]),
		"leads":         pages(since(closefake.KindLead, "date_updated", bm["leads"].Add(-overlap).Truncate(time.Minute)), pageSizes["leads"]),
		"contacts":      pages(since(closefake.KindContact, "date_updated", from("contacts")), pageSizes["contacts"]),
		"opportunities": pages(since(closefake.KindOpportunity, "date_updated", from("opportunities")), pageSizes["opportunities"]),
		"tasks":         pages(since(closefake.KindTask, "date_updated", from("tasks")), pageSizes["tasks"]),
		"custom_fields": customFieldLists,
	}
	if !sharedLists {
		out["contacts"] += 2
	}
	window := bm["activities"].Add(-overlap - attributionWin).Truncate(time.Second)
	inWindow, edited := 0, 0
	for _, a := range fake.Objects(closefake.KindActivity) {
		switch {
		case !fakeTime(t, a["date_created"]).Before(window):
			inWindow++
		case fakeTime(t, a["date_updated"]).After(lastStart):
			edited++
		}
	}
	out["activities"] = pages(inWindow, pageSizes["activities"]) + (edited+refetchPerCall-1)/refetchPerCall
	return out
}

// refusedReports maps the paths the scenario's offset walks read to their
// reports.
var refusedReports = map[string]string{"/lead/": "leads", "/opportunity/": "opportunities", "/task/": "tasks", "/activity/": "activities"}

// refusals are the max_skip refusals per report between two counts of
// the fake's.
func refusals(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for path, n := range after {
		if d := n - before[path]; d > 0 {
			r, ok := refusedReports[path]
			if !ok {
				r = path
			}
			out[r] += d
		}
	}
	return out
}

// costLine is a report's figures in report order: "leads 3/2, ..." (made
// / minimum).
func costLine(got map[string]int64, want map[string]int) string {
	var parts []string
	for _, r := range slices.Sorted(func(yield func(string) bool) {
		for r := range want {
			if !yield(r) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d/%d", r, got[r], want[r]))
	}
	return strings.Join(parts, ", ")
}

func sumInts[V int | int64](m map[string]V) (n V) {
	for _, v := range m {
		n += v
	}
	return n
}
