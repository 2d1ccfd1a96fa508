package extract

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
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

// windowing is how a walk is cut into windows: cuts (one fewer than the
// windows, oldest first) in [lo, hi), by a growth counted from origin
// (cutsAt), which a window split later (splitAt) counts by too.
type windowing struct {
	origin, lo, hi time.Time
	cuts           []time.Time
}

// windows returns how the walk of the run is cut into windows; nil when it
// is one listing.
func (x *run) windows() *windowing {
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
	return &windowing{origin: origin, lo: lo, hi: hi, cuts: cutsAt(origin, lo, hi, windowsFor(req.Concurrency))}
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

// window is one window of a walk, as its emitting goroutine keeps it:
// [from, until) of the walk's Field, a zero from or until keeping the
// walk's own bound (the first window also reads anything before the
// range, the last anything after it).
type window struct {
	from, until time.Time
	// stop is where the window's walk stops once it is split: set by the
	// emitting goroutine, read by the walk (run.stop).
	stop *windowStop
	// split says a bound was moved to where a new window starts: until,
	// or from when the pages come newest first.
	split bool
	// What the emitting goroutine has emitted of it: its newest and
	// oldest Field value, records and pages.
	seen, reach    time.Time
	records, pages int
	done           bool
}

// stopAt is where the split window's walk stops keeping records: a
// millisecond beyond its moved bound (splitSlack).
func (w *window) stopAt(newestFirst bool) time.Time {
	if newestFirst {
		return w.from.Add(-splitSlack)
	}
	return w.until.Add(splitSlack)
}

// query is q bounded to the window.
func (w *window) query(st Strategy, q url.Values) url.Values {
	out := merge(q)
	if !w.from.IsZero() {
		out.Set(st.Field+"__gte", w.from.Format(filterTime))
	}
	if !w.until.IsZero() {
		out.Set(st.Field+"__lt", w.until.Format(filterTime))
	}
	return out
}

// windowStop is a bound a window's walk may be given while it runs: the
// walk then keeps only the records on its side and ends at the first record
// beyond it (run.stopAt): at or after it when the pages come oldest first,
// before it when they come newest first. It is safe for concurrent use.
type windowStop struct {
	newestFirst bool
	at          atomic.Int64 // Unix nanoseconds; 0: none
}

func (s *windowStop) set(t time.Time) { s.at.Store(t.UnixNano()) }

// beyond reports whether a record whose Field is t lies beyond the stop
// (never before one is set, nor for a record without the value).
func (s *windowStop) beyond(t time.Time) bool {
	n := s.at.Load()
	if n == 0 || t.IsZero() {
		return false
	}
	return beyond(t, time.Unix(0, n), s.newestFirst)
}

// beyond reports whether t lies beyond bound for a walk in the order
// newestFirst says: before it newest first, at or after it oldest first.
func beyond(t, bound time.Time, newestFirst bool) bool {
	if newestFirst {
		return t.Before(bound)
	}
	return !t.Before(bound)
}

// errWindowFull ends a window's walk at its stop: the rest of its listing
// belongs to the window split off it.
var errWindowFull = errors.New("the window is read up to where it was split")

// splitSlack is how far past a split the split window still keeps what it
// reads. The new window's listing (bounded by the split) is filtered by
// Close on the value it stores, the split window's records by the value
// Close shows, which may be rounded (Close's times have milliseconds); so
// the split window keeps what it reads up to a millisecond past the split,
// which the new window may read again (the upsert makes that harmless),
// and no record falls between the two.
const splitSlack = time.Millisecond

// windowPage is what a window's walk hands the emitting goroutine: a page
// with the newest value its window has read so far, or the window's end.
type windowPage struct {
	window *window
	batch  Batch
	seen   time.Time
	ats    []time.Time // each record's Field value, where the window can be split
	done   bool
	err    error
}

// maxWindowsPer bounds how many windows a walk ends up with, per window
// read at once: each split costs at most one request (the new window's
// last, partly filled page).
const maxWindowsPer = 4

// minSplitPages is the fewest pages a window must have left, by its rate,
// to be split: a split costs a request, and a window with fewer left ends
// in a few round trips anyway.
const minSplitPages = 4

// walkWindows reads source query q as the windows of wd, all at once, each
// with read given its own run (which decodes its pages) and query, and
// emits their pages from this goroutine with the bookmarks described
// above. It stops at the first error of a window or of emit.
//
// The cuts are a guess at equal shares; a window may hold far more than
// the others and be left reading alone. So while fewer windows run than at
// the start (one has ended), a walk in Field order (Strategy.Ordered: each
// window's pages come oldest first; Strategy.NewestFirst: newest first)
// splits the running window with the most records left by the rate it has
// read them at (splitAt), at a window's end or, if none had enough left
// then, at a later page: that window stops at the split, and a new window
// reads from there to its old end (its old start, newest first), so as
// many windows as at the start keep reading. The pages the
// split window had read before it saw its stop lose here what is past the
// split (past; a millisecond past it, splitSlack), so no record is emitted
// twice but those of that millisecond, and every bookmark still covers
// only what was emitted.
func (x *run) walkWindows(ctx context.Context, q url.Values, wd *windowing, read func(ctx context.Context, w *run, q url.Values) error) error {
	st := x.req.Report.Strategy
	n := len(wd.cuts) + 1
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each window a page ahead while one is written; every window's end
	// is received, so a send of it never blocks for long.
	pages := make(chan windowPage, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	// A walk whose pages come in Field order, oldest or newest first, can
	// split its windows as they run.
	splittable, newestFirst := st.Ordered || st.NewestFirst, st.NewestFirst && !st.Ordered
	wins := make([]*window, n)
	for i := range wins {
		wins[i] = &window{stop: &windowStop{newestFirst: newestFirst}}
		if i > 0 {
			wins[i].from = wd.cuts[i-1]
		}
		if i < len(wd.cuts) {
			wins[i].until = wd.cuts[i]
		}
	}
	start := func(win *window) {
		wg.Go(func() {
			w := &run{req: x.req, params: x.params}
			if splittable {
				w.stop = win.stop
			}
			w.emit = func(b Batch) error {
				select {
				case pages <- windowPage{window: win, batch: b, seen: w.maxSeen, ats: w.ats}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			err := read(ctx, w, win.query(st, q))
			if errors.Is(err, errWindowFull) {
				err = nil
			}
			pages <- windowPage{window: win, done: true, err: err}
		})
	}
	for _, win := range wins {
		start(win)
	}
	var first error
	for running := n; running > 0; {
		p := <-pages
		switch {
		case p.done:
			running--
			p.window.done = p.err == nil // read to its end
			if first == nil && p.err != nil && ctx.Err() == nil {
				first = fmt.Errorf("window %d of %d: %w", slices.Index(wins, p.window)+1, len(wins), p.err)
				cancel()
			}
		case first != nil || ctx.Err() != nil: // drain: the windows are stopping
			continue
		default:
			w := p.window
			if w.split {
				// Pages it read before it saw its stop: what is past the
				// stop is the new window's.
				p = past(p, w.stopAt(newestFirst), newestFirst)
			}
			w.seen = later(w.seen, p.seen)
			for _, at := range p.ats {
				if !at.IsZero() && (w.reach.IsZero() || at.Before(w.reach)) {
					w.reach = at
				}
			}
			w.records += len(p.batch.Records)
			w.pages++
			if err := x.emitWindowPage(p.batch, wins); err != nil {
				first = err
				cancel()
				continue
			}
		}
		// Fewer windows read than at the start: split one, now or at a
		// later page (a window has to have read some to tell its rate).
		if first != nil || ctx.Err() != nil || !splittable || running >= n || len(wins) >= maxWindowsPer*n {
			continue
		}
		if i, at, ok := splitAt(wins, wd, x.req.Now, newestFirst); ok {
			w := wins[i]
			next := &window{stop: &windowStop{newestFirst: newestFirst}}
			if newestFirst { // w keeps [at, until), the older rest is next's
				next.from, next.until, w.from = w.from, at, at
			} else { // w keeps [from, at), the newer rest is next's
				next.from, next.until, w.until = at, w.until, at
				i++
			}
			w.split = true
			w.stop.set(w.stopAt(newestFirst))
			wins = slices.Insert(wins, i, next)
			running++
			start(next)
		}
	}
	if first == nil && parent.Err() != nil {
		first = fmt.Errorf("%d windows not read to their end: %w", len(wins)-windowsDone(wins), context.Cause(parent))
	}
	if first != nil {
		return first // the run's bookmark stays where the pages emitted left it
	}
	for _, w := range wins {
		x.maxSeen = later(x.maxSeen, w.seen)
	}
	return nil
}

// past drops from a split window's page the records beyond stop (see
// beyond), which the window split off it reads, and counts the newest value
// over the rest.
func past(p windowPage, stop time.Time, newestFirst bool) windowPage {
	if len(p.ats) != len(p.batch.Records) {
		return p // no values told: nothing to go by (only a window in Field order is split)
	}
	b := p.batch
	recs := make([]schema.Record, 0, len(b.Records))
	ats := make([]time.Time, 0, len(p.ats))
	var ids []string
	var newest time.Time
	for i, at := range p.ats {
		if !at.IsZero() && beyond(at, stop, newestFirst) {
			continue
		}
		recs, ats = append(recs, b.Records[i]), append(ats, at)
		if len(b.IDs) == len(b.Records) {
			ids = append(ids, b.IDs[i])
		}
		newest = later(newest, at)
	}
	b.Records, b.IDs = recs, ids
	p.batch, p.ats, p.seen = b, ats, newest
	return p
}

// splitAt picks the running window with the most records left to read
// (what it has read, at the rate it read them, carried on over the span it
// has not reached) and where to split it: where the rest holds half its
// records by the walk's growth (cutsAt), beyond everything the window has
// emitted. A window whose pages come oldest first has read from its from
// to its newest value (seen) and has the rest up to until left; newest
// first, from until down to its oldest value (reach), and the rest down to
// from left. It declines (ok false) when no window has minSplitPages or
// more left.
func splitAt(wins []*window, wd *windowing, now time.Time, newestFirst bool) (i int, at time.Time, ok bool) {
	best := 0.0
	for j, w := range wins {
		if w.done || w.pages == 0 || w.records == 0 {
			continue
		}
		from, until := w.from, w.until
		if until.IsZero() {
			until = now
		}
		progress := w.seen
		if newestFirst {
			progress = w.reach
		}
		if from.IsZero() || from.After(progress) {
			from = wd.lo
		}
		if progress.IsZero() {
			continue
		}
		readSpan, leftSpan := progress.Sub(from), until.Sub(progress)
		if newestFirst {
			readSpan, leftSpan = leftSpan, readSpan
		}
		if readSpan <= 0 || leftSpan <= splitSlack {
			continue
		}
		left := float64(w.records) * float64(leftSpan) / float64(readSpan)
		if perPage := float64(w.records) / float64(w.pages); left < minSplitPages*perPage || left <= best {
			continue
		}
		lo, hi := progress, until
		if newestFirst {
			lo, hi = from, progress
		}
		cut := cutsAt(wd.origin, lo, hi, 2)
		if len(cut) != 1 || !cut[0].After(lo.Add(splitSlack)) || !cut[0].Before(hi.Add(-splitSlack)) {
			continue
		}
		i, at, best, ok = j, cut[0], left, true
	}
	return i, at, ok
}

// windowsDone is how many of wins are read to their end.
func windowsDone(wins []*window) int {
	n := 0
	for _, w := range wins {
		if w.done {
			n++
		}
	}
	return n
}

// emitWindowPage emits a window's page as the run's next batch, with the
// bookmark of what has been emitted when it moved (see above).
func (x *run) emitWindowPage(b Batch, wins []*window) error {
	var upTo time.Time
	for _, w := range wins {
		if !w.done {
			if x.req.Report.Strategy.Ordered {
				upTo = later(upTo, w.seen)
			}
			break
		}
		upTo = later(upTo, w.seen)
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
