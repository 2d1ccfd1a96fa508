package extract

import (
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Backfill windows and full refreshes (Request.Since, Until, FullRefresh).
// Every strategy honours Until: date parameter filters with __lt, the lead
// query with <= at its minute precision, searches with a moment range's
// before bound, and Daily reports by their last day.

// windowStart is where a backfill or full refresh starts its walk: Since,
// or the start date for a full refresh (zero: everything). ok is false for
// an ordinary run, which starts from its bookmark.
func (x *run) windowStart() (time.Time, bool) {
	switch {
	case x.req.FullRefresh:
		return x.req.StartDate, true
	case !x.req.Since.IsZero():
		return x.req.Since, true
	}
	return time.Time{}, false
}

// joinsBookmark reports whether the run may move the stored bookmark
// forward: an ordinary run and a full refresh may; a backfill window only
// when it starts at or before the stored bookmark, so that everything from
// the bookmark to the newest value it read has been read. A window that
// starts after the bookmark (or before any first run) leaves it alone: the
// range between them is still to be read by the next ordinary run.
func (x *run) joinsBookmark() bool {
	if x.req.Since.IsZero() || x.req.FullRefresh {
		return true
	}
	prev := x.req.Bookmark
	return !prev.IsZero() && !x.req.Since.After(prev.Time())
}

// unmoved is the bookmark of a run that read nothing past the stored one:
// the stored one again for an ordinary run, none for a window or full
// refresh, which then leaves the state as it was.
func (x *run) unmoved() schema.Bookmark {
	if _, ok := x.windowStart(); ok {
		return schema.Bookmark{}
	}
	return x.req.Bookmark
}

// dayBookmark reports whether a Daily run commits day as its bookmark. A
// backfill window commits only days past the stored bookmark, so one that
// ends before it never moves it back.
func (x *run) dayBookmark(day time.Time) bool {
	if x.req.Since.IsZero() && !x.req.FullRefresh {
		return true
	}
	if !x.joinsBookmark() {
		return false
	}
	prev := x.req.Bookmark
	return prev.IsZero() || day.After(prev.Time())
}

// lastDay is the last UTC day a Daily run reads: today, or the day before
// Until (exclusive) when that is earlier.
func (x *run) lastDay(today time.Time) time.Time {
	if x.req.Until.IsZero() {
		return today
	}
	last := x.req.Until.UTC().Add(-time.Nanosecond).Truncate(24 * time.Hour)
	if last.Before(today) {
		return last
	}
	return today
}

// searchUntil bounds a search walk's query by Until (exclusive).
func (x *run) searchUntil(body map[string]any, objType, field string) map[string]any {
	if x.req.Until.IsZero() {
		return body
	}
	q, _ := body["query"].(map[string]any)
	queries, _ := q["queries"].([]any)
	if q == nil {
		return body
	}
	regular := map[string]any{"type": "regular_field", "object_type": objType, "field_name": field}
	q["queries"] = append(queries, map[string]any{"type": "field_condition", "field": regular,
		"condition": map[string]any{"type": "moment_range",
			"before": map[string]any{"type": "fixed_utc", "value": x.req.Until.UTC().Format(filterTime) + "+00:00"}}})
	return body
}

// epoch stands for "everything" where a start must be a time: Close holds
// nothing older.
var epoch = time.Unix(0, 0).UTC()

// StartOf is where a first run of the report with start date start begins
// reading, as a time: start itself; when start is zero, the epoch (all),
// or for Daily reports the default start before now.
func (r *Report) StartOf(start, now time.Time) time.Time {
	if !start.IsZero() {
		return start.UTC()
	}
	if _, daily := r.Walk.(Daily); daily {
		return firstDay(now)
	}
	return epoch
}
