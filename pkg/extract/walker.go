package extract

import (
	"context"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Walker reads a report's sources in one paging style. Each style is one
// implementation in its own file (walk_offset.go, walk_cursor.go,
// walk_search.go, walk_daily.go, walk_single.go); a report declares its
// walker (Report.Walk) with the style's settings, such as its page size.
//
// Walk hands each page to emit, in order, with the bookmark it may be
// committed with (see Batch); it stops at the first error from the API or
// from emit, or when ctx is done. Estimate says what a Walk of the same
// request would read, without reading it (a dry run).
//
// Extract and PlanRun are the entry points: they check the request and
// call the report's walker.
type Walker interface {
	Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error
	Estimate(ctx context.Context, c Client, req Request) (Plan, error)
}

// idLister is a walker that can list every object of its report, and so
// the ids a reconciliation compares with the table (Request.IDsOnly).
type idLister interface {
	listsEveryID()
}

// clockSkew is how far past the run's start a stored bookmark may be before
// it counts as a clock gone wrong.
const clockSkew = time.Minute

// From is where an incremental read starts: start on a first run (no
// bookmark); else the bookmark less the overlap and the attribution window
// (window when positive, else the strategy's own), never before start. A
// bookmark later than now (plus a minute of clock skew) is a clock gone
// wrong or a foreign file, and is ignored: the read starts at start.
//
// This is the one statement of the read-from rule: the walkers use it, and
// so does the pipeline when it asks which edits a walk will not see.
func (s Strategy) From(b schema.Bookmark, start, now time.Time, window time.Duration) time.Time {
	if b.IsZero() || futureBookmark(b, now) {
		return start
	}
	from := b.Time().Add(-s.Overlap - s.window(window))
	if from.Before(start) {
		return start
	}
	return from
}

// window is the attribution window a run re-reads: override when
// positive, else the strategy's.
func (s Strategy) window(override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	return s.Window
}

// futureBookmark reports whether b is past now plus the clock skew.
func futureBookmark(b schema.Bookmark, now time.Time) bool {
	return b.Time().After(now.Add(clockSkew))
}
