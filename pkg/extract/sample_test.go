package extract

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// TestFromSample: the only page is exact; a full page in date order is
// extrapolated at its rate over the rest of the period; otherwise the
// estimate is unknown with a reason.
func TestFromSample(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	page := func(more bool, dates ...string) closeapi.Page {
		p := closeapi.Page{HasMore: more}
		for i, d := range dates {
			p.Data = append(p.Data, json.RawMessage(fmt.Sprintf(`{"id": "r%d", "date_created": %q}`, i, d)))
		}
		return p
	}
	asc := sampleOrder{field: "date_created", asc: true}
	newest := sampleOrder{field: "date_created"}
	for _, tt := range []struct {
		name  string
		page  closeapi.Page
		order sampleOrder
		from  time.Time
		want  sourceCount
	}{
		{"the only page", page(false, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), asc, time.Time{},
			sourceCount{records: 2, requests: 1, known: true}},
		{"an empty listing", page(false), sampleOrder{}, time.Time{}, sourceCount{records: 0, requests: 1, known: true}},
		// 4 records over 3 days, then 3 more days to now: 4 more.
		{"ascending", page(true, "2026-11-16T12:00:00Z", "2026-11-17T12:00:00Z", "2026-11-18T12:00:00Z", "2026-11-19T12:00:00Z"), asc, time.Time{},
			sourceCount{records: 8, requests: 2, known: true, approx: true, note: noteSampled}},
		// 4 records over the newest 2 days; the bookmark 4 days back: 4 more.
		{"newest first, back to from", page(true, "2026-11-22T12:00:00Z", "2026-11-21T20:00:00Z", "2026-11-21T04:00:00Z", "2026-11-20T12:00:00Z"),
			newest, now.Add(-4 * 24 * time.Hour), sourceCount{records: 8, requests: 2, known: true, approx: true, note: noteSampled}},
		// Without a bookmark, back to the log's 30 days: 28 more days at 2 a day.
		{"newest first, the log's 30 days", page(true, "2026-11-22T12:00:00Z", "2026-11-21T20:00:00Z", "2026-11-21T04:00:00Z", "2026-11-20T12:00:00Z"),
			newest, time.Time{}, sourceCount{records: 60, requests: 15, known: true, approx: true, note: noteSampled}},
		{"no date order", page(true, "2026-11-16T12:00:00Z", "2026-11-17T12:00:00Z"), sampleOrder{}, time.Time{}, sourceCount{note: noteNoCount}},
		{"one instant", page(true, "2026-11-16T12:00:00Z", "2026-11-16T12:00:00Z"), asc, time.Time{}, sourceCount{note: noteNoSpan}},
		{"no dates", closeapi.Page{HasMore: true, Data: []json.RawMessage{json.RawMessage(`{"id": "x"}`)}}, asc, time.Time{}, sourceCount{note: noteNoDates}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromSample(tt.page, 4, tt.order, tt.from, now); got != tt.want {
				t.Errorf("= %+v, want %+v", got, tt.want)
			}
		})
	}
}
