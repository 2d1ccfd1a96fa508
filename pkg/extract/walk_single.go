package extract

import (
	"context"
	"encoding/json"
	"fmt"
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

// Estimate reads each source's one response, as the run would, and
// counts its records.
func (Single) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	x := newRun(req, nil)
	return x.estimateSources(ctx, c, func(c Client, s Source, q url.Values) (sourceCount, error) {
		var resp closeapi.SinglePage
		if err := c.Get(ctx, s.Path, q, &resp); err != nil {
			return sourceCount{}, fmt.Errorf("%s: read %s: %w", x.req.Report.Name, s.Path, err)
		}
		return sourceCount{records: len(resp.Data), requests: 1, known: true}, nil
	})
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

// Estimate is one object and one request per source, without calling
// (but for /me/ when a path names {organization_id} or {user_id}).
func (Object) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	return newRun(req, nil).estimateSources(ctx, c, func(Client, Source, url.Values) (sourceCount, error) {
		return sourceCount{records: 1, requests: 1, known: true}, nil
	})
}
