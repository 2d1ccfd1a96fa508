package extract

import (
	"context"
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Daily asks an aggregate reporting endpoint for one UTC day at a time
// (see reporting.go).
type Daily struct {
	// Day reads one day of the report.
	Day DayFunc
}

// Walk reads a Daily report from the day after its bookmark, less the
// attribution window, through today. Each complete day is committed with
// itself as the bookmark; today is read but never bookmarked.
func (w Daily) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	r := x.req.Report
	from, today := x.dayRange()
	ids, err := x.ids(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if ids["organization_id"] == "" {
		return fmt.Errorf("%s: no organization_id: set it on the job (/me/ names no organization)", r.Name)
	}
	dc := &DayContext{OrganizationID: ids["organization_id"], UserID: x.req.Params["user_id"]}
	last := x.lastDay(today)
	for day := from; !day.After(last); day = day.Add(24 * time.Hour) {
		rows, err := w.Day(ctx, c, day, dc)
		if err != nil {
			return fmt.Errorf("%s day %s: %w", r.Name, day.Format(time.DateOnly), err)
		}
		x.page++
		b := Batch{Page: x.page, Records: make([]schema.Record, len(rows))}
		for i, raw := range rows {
			b.Records[i] = schema.Record{Raw: raw}
		}
		if day.Before(today) && x.dayBookmark(day) {
			b.Bookmark = schema.BookmarkAt(day)
			x.emitted = b.Bookmark
		}
		if err := x.emit(b); err != nil {
			return fmt.Errorf("%s day %s: %w", r.Name, day.Format(time.DateOnly), err)
		}
	}
	return nil
}

// Estimate is a request a day, and one for /me/ or the metric listing.
func (w Daily) Estimate(_ context.Context, _ Client, req Request) (Plan, error) {
	x := newRun(req, nil)
	p := Plan{Report: x.req.Report.Name, Records: -1, Requests: -1}
	from, today := x.dayRange()
	days := int(today.Sub(from)/(24*time.Hour)) + 1
	p.Window = fmt.Sprintf("days %s to %s (UTC)", from.Format(time.DateOnly), today.Format(time.DateOnly))
	p.Requests = days + 1
	p.Note = noteDaily
	return p, nil
}

// firstDay is where a Daily report without a start date begins.
func firstDay(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour).Add(-defaultReportingStart)
}

// dayRange is the first and last UTC day a Daily report's run reads: the
// day after the bookmark less the attribution window, in whole days (the
// day form of Strategy.From, which a start date does not bound, so a
// window reaches back before it), else the start date's day.
func (x *run) dayRange() (from, today time.Time) {
	r := x.req.Report
	today = x.req.Now.UTC().Truncate(24 * time.Hour)
	from = firstDay(x.req.Now)
	if !x.req.StartDate.IsZero() {
		from = x.req.StartDate.UTC().Truncate(24 * time.Hour)
	}
	switch b := x.req.Bookmark; {
	case b.IsZero():
	case b.Time().After(today):
		x.warn(fmt.Sprintf("%s: stored bookmark %s is in the future; ignoring it and reading from the start date", r.Name, b))
	default:
		window := r.Strategy.window(x.req.Window).Truncate(24 * time.Hour)
		from = b.Time().Truncate(24 * time.Hour).Add(24 * time.Hour).Add(-window)
	}
	if ws, ok := x.windowStart(); ok {
		from = firstDay(x.req.Now)
		if !ws.IsZero() {
			from = ws.UTC().Truncate(24 * time.Hour)
		}
	}
	return from, today
}
