package extract

import (
	"context"
	"fmt"
	"net/url"

	"github.com/closesync/closesync/pkg/closeapi"
)

// Cursor pages with _cursor/cursor_next (the event log).
type Cursor struct {
	// PageSize is the _limit of each page.
	PageSize int
}

// Walk reads every source, then the objects to refetch.
func (w Cursor) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	return x.walkWindowed(ctx, c, func(ctx context.Context, x *run, s Source, q url.Values) error {
		return c.ListCursor(ctx, s.Path, q, w.PageSize, x.handler(s.Tag))
	})
}

// Estimate reads the stream's first page, newest first, and extrapolates
// its rate back to the bookmark (at most the log's 30 days; see
// fromSample): a cursor stream does not count.
func (w Cursor) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	x := newRun(req, nil)
	return x.estimateSources(ctx, c, func(c Client, s Source, q url.Values) (sourceCount, error) {
		p, err := firstPage(func(fn func(closeapi.Page) error) error { return c.ListCursor(ctx, s.Path, q, w.PageSize, fn) })
		if err != nil {
			return sourceCount{}, fmt.Errorf("%s: first page of %s: %w", x.req.Report.Name, s.Path, err)
		}
		return fromSample(p, w.PageSize, sampleOrder{field: x.req.Report.Strategy.Field}, x.from(), x.req.Now), nil
	})
}
