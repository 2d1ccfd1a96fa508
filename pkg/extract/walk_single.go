package extract

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/closesync/closesync/pkg/closeapi"
)

// Single reads an endpoint that returns everything in one response, a data
// array (statuses, pipelines).
type Single struct{}

// Walk reads every source's one response.
func (Single) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	return x.walkSources(ctx, c, func(s Source, q url.Values) error {
		var resp closeapi.SinglePage // a data array, or ErrNotAPage
		if err := c.Get(ctx, s.Path, q, &resp); err != nil {
			return err
		}
		return x.handler(s.Tag)(closeapi.Page{Data: resp.Data})
	})
}

// Estimate is one request per source.
func (Single) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	return newRun(req, nil).estimateSources(ctx, c, oneRequest)
}

// Object reads a single object rather than a list (/me/,
// /organization/{id}/).
type Object struct{}

// Walk reads every source's object.
func (Object) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	return x.walkSources(ctx, c, func(s Source, q url.Values) error {
		// An object with an id, or ErrNotAPage: a 200 that is an error
		// object, an HTML page or empty must not replace the table.
		var obj closeapi.Object
		if err := c.Get(ctx, s.Path, q, &obj); err != nil {
			return err
		}
		return x.handler(s.Tag)(closeapi.Page{Data: []json.RawMessage{obj.Raw}})
	})
}

// Estimate is one request per source.
func (Object) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	return newRun(req, nil).estimateSources(ctx, c, oneRequest)
}

// oneRequest estimates a source read with one request of unknown size.
func oneRequest(Client, Source, url.Values) (records, requests int, known bool, err error) {
	return 0, 1, true, nil
}
