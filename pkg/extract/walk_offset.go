package extract

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/closesync/closesync/pkg/closeapi"
)

// Offset pages with _skip/_limit/has_more. An incremental report whose
// strategy names a Keyset is walked in that field's order and restarted
// from the last value seen before _skip nears the resource's max_skip, so
// no organisation is too large to read.
type Offset struct {
	// PageSize is the _limit of each page.
	PageSize int
	// Counts is set for endpoints that answer total_results (Close's
	// /opportunity/, and /lead/ given a query): a dry run counts them with
	// a `_limit=0` probe. Elsewhere what Close does with `_limit=0` is not
	// known, so the dry run reads the walk's first page instead.
	Counts bool
}

// Walk reads every source, then the objects to refetch.
func (w Offset) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	return x.walkWindowed(ctx, c, func(ctx context.Context, x *run, s Source, q url.Values) error {
		if r := x.req.Report; r.Method == Incremental && r.Strategy.Keyset != "" {
			return w.keysetWalk(ctx, c, x, s, q)
		}
		return listShared(ctx, c, s.Path, q, w.PageSize, x.handler(s.Tag))
	})
}

// Estimate counts each source with a `_limit=0` probe where the endpoint
// Counts, else reads the first page the walk would (see fromSample).
func (w Offset) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	x := newRun(req, nil)
	return x.estimateSources(ctx, c, func(c Client, s Source, q url.Values) (sourceCount, error) {
		if w.Counts {
			var resp struct {
				Total *int `json:"total_results"`
			}
			if err := c.Get(ctx, s.Path, merge(q, url.Values{"_limit": {"0"}}), &resp); err != nil {
				return sourceCount{}, fmt.Errorf("%s: count %s: %w", x.req.Report.Name, s.Path, err)
			}
			if resp.Total != nil {
				return sourceCount{records: *resp.Total, requests: max(1, (*resp.Total+w.PageSize-1)/w.PageSize), known: true}, nil
			}
		}
		n, err := x.sampleOffset(ctx, c, s, q, w.PageSize)
		if err != nil {
			return n, fmt.Errorf("%s: first page of %s: %w", x.req.Report.Name, s.Path, err)
		}
		return n, nil
	})
}

func (Offset) listsEveryID() {}

// restartEvery is how many records a keyset walk reads before it restarts
// from the last key seen. Close's max_skip varies by resource and is not
// published (250,000 was seen for emails), so the walk restarts long before
// any plausible cap, and again at once if a max_skip 400 names a smaller one.
const restartEvery = 10000

// errRestart stops one offset listing so the walk can restart.
var errRestart = errors.New("restart the walk from the last key")

// keysetWalk pages through an offset listing sorted by the strategy's
// immutable Keyset field, restarting it with <key> >= last value seen
// whenever _skip would near the resource's max_skip. Records at the restart
// boundary are read twice, which upserts make harmless; no record is
// skipped, whatever the size of the organisation.
func (w Offset) keysetWalk(ctx context.Context, c Client, x *run, s Source, q url.Values) error {
	st := x.req.Report.Strategy
	every := restartEvery
	var from string // the key the current listing starts at
	for {
		var last string
		var read int
		err := c.ListOffset(ctx, s.Path, keysetQuery(st, q, from), w.PageSize, func(p closeapi.Page) error {
			key, err := x.handlePage(p, s.Tag)
			if err != nil {
				return err
			}
			read += len(p.Data)
			if key != "" {
				last = key
			}
			if p.HasMore && read+w.PageSize > every {
				return errRestart
			}
			return nil
		})
		var mse *closeapi.MaxSkipError
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRestart):
		case errors.As(err, &mse) && last != "":
			if mse.Max > w.PageSize {
				every = mse.Max
			} else {
				every = max(read, w.PageSize)
			}
		default:
			return err
		}
		if last == "" || last == from {
			return fmt.Errorf("more than %d records share %s %s: cannot page past the API's max_skip", every, st.Keyset, from)
		}
		from = last
	}
}

// keysetQuery adds the restart condition <key> >= from to a walk's query.
func keysetQuery(st Strategy, q url.Values, from string) url.Values {
	if from == "" {
		return q
	}
	out := merge(q)
	t, err := parseTime(from)
	if err != nil {
		return out
	}
	if st.Filter == LeadQuery {
		// The legacy query compares at minute precision: the records of the
		// boundary minute are read again.
		out.Set("query", fmt.Sprintf(`%s >= "%s" %s`, st.Keyset, t.UTC().Format(filterMinute), out.Get("query")))
		return out
	}
	out.Set(st.Keyset+"__gte", t.UTC().Format(filterTime))
	return out
}
