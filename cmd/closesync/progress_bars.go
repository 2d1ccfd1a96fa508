package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/closesync/closesync/internal/logging"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/load"
)

const (
	// barsRefresh is how often the bars are redrawn.
	barsRefresh = 150 * time.Millisecond
	// shownWait is the least wait a line shows: the budget's pacing of
	// requests waits a few milliseconds at a time.
	shownWait = 100 * time.Millisecond
)

// bars draws, on a terminal, one line per running report (records, rate,
// pages; a bar, total and ETA when Close counted the listing; what it
// waits for) and one for a wait on the file's lock. Lines printed through
// out, and the log lines routed to it, appear above the bars.
type bars struct {
	p    *mpb.Progress
	logs *logging.Routed // routed to p while the bars show; nil: not routed
	now  func() time.Time

	mu   sync.Mutex
	runs map[string]*runLine // by job/report
	lock *lockLine
}

func newBars(w io.Writer, logs *logging.Routed) *bars {
	b := &bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(20), mpb.WithRefreshRate(barsRefresh)),
		runs: map[string]*runLine{}, now: time.Now}
	if logs != nil {
		logs.Route(b.p)
		b.logs = logs
	}
	return b
}

func (b *bars) out() io.Writer { return b.p }

func (b *bars) started(job, report string) *closeapi.Watch {
	key := job + "/" + report
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.runs[key]
	if l == nil {
		// A widened start_date's backfill runs in its report's line.
		l = &runLine{now: b.now, start: b.now(), totals: map[string]int64{}}
		l.bar = b.p.New(0, mpb.BarStyle().Lbound("[").Rbound("]"),
			mpb.BarFillerMiddleware(l.hideWithoutTotal),
			mpb.PrependDecorators(decor.Name(key, decor.WC{C: decor.DSyncWidthR | decor.DextraSpace})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return l.text() })))
		b.runs[key] = l
	}
	return &closeapi.Watch{RateLimited: l.rateLimited, Retrying: l.retrying, Page: l.page}
}

func (b *bars) line(job, report string) *runLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs[job+"/"+report]
}

func (b *bars) read(job, report string, records, page int) {
	if l := b.line(job, report); l != nil {
		l.read(records, page)
	}
}

func (b *bars) ended(job, report string) {
	key := job + "/" + report
	b.mu.Lock()
	l := b.runs[key]
	delete(b.runs, key)
	b.mu.Unlock()
	if l != nil {
		l.bar.Abort(true)
	}
}

func (b *bars) lockWait(w load.LockWait) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		l := &lockLine{now: b.now}
		l.bar = b.p.New(0, mpb.NopStyle(),
			mpb.PrependDecorators(decor.Name("database", decor.WC{C: decor.DSyncWidthR | decor.DextraSpace})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return l.text() })))
		b.lock = l
	}
	b.lock.set(w)
}

func (b *bars) opened() {
	b.mu.Lock()
	l := b.lock
	b.lock = nil
	b.mu.Unlock()
	if l != nil {
		l.bar.Abort(true)
	}
}

// stop removes every line left, routes the logs back and waits for the
// last lines printed above the bars to be drawn.
func (b *bars) stop() {
	b.mu.Lock()
	left := make([]*mpb.Bar, 0, len(b.runs)+1)
	for k, l := range b.runs {
		left = append(left, l.bar)
		delete(b.runs, k)
	}
	if b.lock != nil {
		left = append(left, b.lock.bar)
		b.lock = nil
	}
	b.mu.Unlock()
	for _, bar := range left {
		bar.Abort(true)
	}
	if b.logs != nil {
		b.logs.Route(nil)
	}
	b.p.Wait()
}

// runLine is the state of one running report's line.
type runLine struct {
	bar *mpb.Bar
	now func() time.Time

	mu      sync.Mutex
	start   time.Time
	records int64
	pages   int
	totals  map[string]int64 // the first total_results of each listing path
	wait    wait
}

// wait is what a run waits for until a time.
type wait struct {
	rateLimit bool // on the rate limit; else a retry
	attempt   int  // the retry's attempt
	status    int  // the failed attempt's HTTP status; 0: a network error
	until     time.Time
}

func (l *runLine) rateLimited(_ string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wait = wait{rateLimit: true, until: l.now().Add(d)}
}

func (l *runLine) retrying(attempt int, d time.Duration, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wait = wait{attempt: attempt + 1, status: status, until: l.now().Add(d)}
}

// page takes a listing's total (leads' and opportunities' total_results)
// from its first page. A listing restarted (a keyset walk past max_skip,
// an expired search cursor) counts what is left: only the first counts.
func (l *runLine) page(path string, p closeapi.Page) {
	if p.TotalResults == nil {
		return
	}
	l.mu.Lock()
	if _, ok := l.totals[path]; ok {
		l.mu.Unlock()
		return
	}
	l.totals[path] = *p.TotalResults
	total := max(l.total(), l.records)
	l.mu.Unlock()
	// Not under mu: the bar's goroutine takes it to draw the line.
	l.bar.SetTotal(total, false)
}

func (l *runLine) read(records, page int) {
	l.mu.Lock()
	l.records += int64(records)
	l.pages = page
	if l.wait.attempt > 0 {
		l.wait = wait{} // the retry went through
	}
	n, over := l.records, l.total() > 0 && l.records > l.total()
	l.mu.Unlock()
	if over {
		l.bar.SetTotal(n, false)
	}
	l.bar.SetCurrent(n)
}

// total is the sum of the listings' totals; 0: none counted. The caller
// holds mu.
func (l *runLine) total() int64 {
	var t int64
	for _, n := range l.totals {
		t += n
	}
	return t
}

// hideWithoutTotal draws the bar only once a total is known: without one
// the line is its counts.
func (l *runLine) hideWithoutTotal(base mpb.BarFiller) mpb.BarFiller {
	return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
		l.mu.Lock()
		known := len(l.totals) > 0
		l.mu.Unlock()
		if !known {
			return nil
		}
		return base.Fill(w, st)
	})
}

// text is the line after the name (and bar).
func (l *runLine) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	elapsed := now.Sub(l.start)
	var parts []string
	total := l.total()
	if len(l.totals) > 0 {
		parts = append(parts, fmt.Sprintf("%s/%s records", thousands(l.records), thousands(max(total, l.records))))
	} else {
		parts = append(parts, thousands(l.records)+" records")
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(l.records) / s
	}
	parts = append(parts, fmt.Sprintf("%s/s", thousands(int64(rate+0.5))), plural(l.pages, "page"))
	if total > l.records && rate > 0 {
		eta := time.Duration(float64(total-l.records) / rate * float64(time.Second))
		parts = append(parts, "ETA "+short(eta))
	}
	if w := l.wait; w.until.Sub(now) >= shownWait {
		parts = append(parts, w.text(w.until.Sub(now)))
	} else if w.attempt > 0 {
		parts = append(parts, fmt.Sprintf("retry %d", w.attempt))
	}
	return strings.Join(parts, " · ")
}

func (w wait) text(left time.Duration) string {
	if w.rateLimit {
		return "waiting " + short(left) + " (rate limit)"
	}
	why := "a network error"
	if w.status != 0 {
		why = strconv.Itoa(w.status)
	}
	return fmt.Sprintf("retry %d in %s after %s", w.attempt, short(left), why)
}

// lockLine is the line of a wait for the database file's lock.
type lockLine struct {
	bar *mpb.Bar
	now func() time.Time

	mu    sync.Mutex
	w     load.LockWait
	since time.Time // when w was told
}

func (l *lockLine) set(w load.LockWait) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w, l.since = w, l.now()
}

func (l *lockLine) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	waited := l.w.Waited + l.now().Sub(l.since)
	return fmt.Sprintf("waiting for the file lock held by %s: %s of lock_timeout %s (attempt %d)",
		l.w.Holder, short(waited), short(l.w.Timeout), l.w.Attempt)
}

// thousands writes n with thousands separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(int64(n)) + " " + what + "s"
}

// short is d for a person: 1.2s below a minute, 3m05s, 1h02m.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
