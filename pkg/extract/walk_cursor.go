package extract

import (
	"context"
	"net/url"
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

// Estimate gives the filters only: a cursor stream does not count.
func (w Cursor) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	return newRun(req, nil).estimateSources(ctx, c, func(Client, Source, url.Values) (int, int, bool, error) {
		return 0, 0, false, nil
	})
}
