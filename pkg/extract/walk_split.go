package extract

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Long walks split into windows read at once.
//
// A first sync's longest walks (the event log, every activity) are one
// listing each, read a page at a time: at a few hundred milliseconds a
// page, one such walk takes longer than its endpoint group's rate limit
// needs. So the walk of a report whose strategy is Windowed, on a first
// run whose range is long (minWindowedSpan), is read as windows of its
// Field read at once, each its own listing with Field__gte and Field__lt
// (an offset walk keeps its keyset restarts within its window), when the
// request's Concurrency (the account's max_concurrency) allows two
// windows or more: windowsFor gives a walk half the account's requests in
// flight, so the job's other reports keep the other half. The windows
// share the client's request budget, so requests in flight and the rate
// per endpoint group stay bounded by it.
//
// Where to split: the range is [lo, hi), lo where the walk starts (its
// from, or now less the source's Retention when that is later: the event
// log keeps 30 days), hi now. The first window also reads anything before
// lo, the last anything after hi, so together they read exactly what one
// listing would. The windows read at once, so the walk lasts as long as
// its fullest window: they should hold as many records each. Nothing
// tells the counts without reading (the event log cannot count, nor can
// /activity/), so the cuts follow how an organisation's records
// accumulate: each lead's activities and events fall between its creation
// and now, so with leads added at a steady rate since the walk's start date
// the records of a day grow linearly with time, and equal shares of them
// end where cutsAt puts the cuts: the spans of a walk from its start date
// shrink towards now; those of the event log's last 30 days are nearly
// equal. Equal spans
// left the newest window with most of the records, read alone at the end
// (the rate-limit bench at 300 ms and four windows: 1.19-1.22 of the
// minimum with equal spans, 1.06-1.20 with these cuts). Each
// window costs at most one request more than one listing would (its last,
// partly filled page). Only a first run (no bookmark) is split: an
// incremental run reads what changed since its bookmark, whose age says
// nothing of how much that is (a report of rare records keeps an old
// bookmark), and stays one listing, as do backfills, full refreshes and
// id listings.
//
// The pages are emitted one at a time from the walk's goroutine, in the
// order they arrive, and are committed in that order. The bookmark a page
// carries covers only what has been emitted: the newest value of the
// windows, oldest first, whose every page has been emitted (the
// contiguous prefix of complete windows), and for an ordered walk also
// the newest value emitted of the first window not complete (its pages
// come in Field order, all after the prefix's). So a run stopped at any
// instant resumes from a bookmark below everything it has not committed.

// minWindowedSpan is the shortest range a walk is split for.
const minWindowedSpan = 7 * 24 * time.Hour

// windows returns where the walk of the run is cut into windows (one
// fewer than the windows), oldest first; nil when it is one listing.
func (x *run) windows() []time.Time {
	req, r := x.req, x.req.Report
	st := r.Strategy
	if !st.Windowed || st.Filter != ParamFilter || r.Method != Incremental || windowsFor(req.Concurrency) < 2 || req.IDsOnly {
		return nil
	}
	if _, ok := x.windowStart(); ok || !req.Bookmark.IsZero() {
		return nil
	}
	lo := st.From(req.Bookmark, req.StartDate, req.Now, req.Window)
	origin := lo
	if st.Retention > 0 {
		if kept := req.Now.Add(-st.Retention); kept.After(lo) {
			lo = kept
		}
	}
	hi := req.Now
	if lo.IsZero() || hi.Sub(lo) < minWindowedSpan {
		return nil
	}
	return cutsAt(origin, lo, hi, windowsFor(req.Concurrency))
}

// windowsFor is how many windows a long walk is cut into when its account
// allows concurrency requests in flight: half of them (a walk's windows
// share one endpoint group's rate, which a few requests in flight carry;
// the job's other reports keep the rest).
func windowsFor(concurrency int) int { return concurrency / 2 }

// cutsAt cuts [lo, hi) into n windows holding equal shares of records
// whose rate grows linearly from origin (see above; origin ≤ lo): with
// a = lo-origin and b = hi-origin, the n-1 cuts are at
// origin + √(a² + (i/n)·(b²-a²)), oldest first, at filterTime's precision.
// From the origin (a walk from its start date) that is lo + (hi-lo)·√(i/n);
// a range far from it (the event log's last 30 days of years) holds a
// nearly steady rate, and its spans come out nearly equal.
func cutsAt(origin, lo, hi time.Time, n int) []time.Time {
	if n < 2 {
		return nil
	}
	if origin.After(lo) {
		origin = lo
	}
	a, d := float64(lo.Sub(origin)), float64(hi.Sub(lo))
	cuts := make([]time.Time, n-1)
	for i := range cuts {
		// b²-a² as (b-a)(b+a): no cancellation when a is far larger than d.
		at := math.Sqrt(a*a+float64(i+1)/float64(n)*d*(2*a+d)) - a
		cuts[i] = lo.Add(time.Duration(at)).UTC().Truncate(time.Microsecond)
	}
	return cuts
}

// windowQuery is q for window i of the cuts: Field__gte the cut before
// it (the first keeps q's), Field__lt the cut after it (the last keeps
// q's, if any).
func windowQuery(st Strategy, q url.Values, cuts []time.Time, i int) url.Values {
	out := merge(q)
	if i > 0 {
		out.Set(st.Field+"__gte", cuts[i-1].Format(filterTime))
	}
	if i < len(cuts) {
		out.Set(st.Field+"__lt", cuts[i].Format(filterTime))
	}
	return out
}

// windowPage is what a window's walk hands the emitting goroutine: a page
// with the newest value its window has read so far, or the window's end.
type windowPage struct {
	window int
	batch  Batch
	seen   time.Time
	done   bool
	err    error
}

// walkWindows reads source query q as the windows of cuts, all at once,
// each with read given its own run (which decodes its pages) and query,
// and emits their pages from this goroutine with the bookmarks described
// above. It stops at the first error of a window or of emit.
func (x *run) walkWindows(ctx context.Context, q url.Values, cuts []time.Time, read func(ctx context.Context, w *run, q url.Values) error) error {
	st := x.req.Report.Strategy
	n := len(cuts) + 1
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan windowPage, n) // each window a page ahead while one is written
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := &run{req: x.req, params: x.params}
			w.emit = func(b Batch) error {
				select {
				case pages <- windowPage{window: i, batch: b, seen: w.maxSeen}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			err := read(ctx, w, windowQuery(st, q, cuts, i))
			if err != nil {
				err = fmt.Errorf("window %d of %d: %w", i+1, n, err)
			}
			select {
			case pages <- windowPage{window: i, done: true, err: err}:
			case <-ctx.Done():
			}
		})
	}
	go func() {
		wg.Wait()
		close(pages)
	}()
	seen, done := make([]time.Time, n), make([]bool, n)
	var first error
	for p := range pages {
		switch {
		case first != nil: // drain: the windows are stopping
		case p.err != nil:
			first = p.err
			cancel()
		case p.done:
			done[p.window] = true
		default:
			seen[p.window] = later(seen[p.window], p.seen)
			if err := x.emitWindowPage(p.batch, seen, done); err != nil {
				first = err
				cancel()
			}
		}
	}
	if first == nil && slices.Contains(done, false) {
		// Only a cancelled ctx stops a window without a word.
		first = fmt.Errorf("%d windows not read to their end: %w", n-windowsDone(done), context.Cause(parent))
	}
	if first != nil {
		return first // the run's bookmark stays where the pages emitted left it
	}
	for _, t := range seen {
		x.maxSeen = later(x.maxSeen, t)
	}
	return nil
}

// windowsDone is how many windows done says are read to their end.
func windowsDone(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// emitWindowPage emits a window's page as the run's next batch, with the
// bookmark of what has been emitted when it moved (see above).
func (x *run) emitWindowPage(b Batch, seen []time.Time, done []bool) error {
	var upTo time.Time
	for i := range seen {
		if !done[i] {
			if x.req.Report.Strategy.Ordered {
				upTo = later(upTo, seen[i])
			}
			break
		}
		upTo = later(upTo, seen[i])
	}
	x.page++
	b.Page, b.Bookmark = x.page, schema.Bookmark{}
	if bm := x.bookmarkAt(upTo); !bm.IsZero() && !same(bm, x.emitted) {
		b.Bookmark, x.emitted = bm, bm
	}
	if err := x.emit(b); err != nil {
		return fmt.Errorf("page %d: %w", x.page, err)
	}
	return nil
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
