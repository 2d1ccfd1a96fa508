package extract

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Plan is what a run of a report would read, for `closesync sync
// --dry-run`: its filters and an estimate of its requests, found with
// read-only count probes (Close answers `_limit=0` with just the
// total_results of a listing, where the endpoint counts).
type Plan struct {
	Report string
	// Window describes what the run reads: the incremental filters sent,
	// the days of a daily report, or "everything".
	Window string
	// Records and Requests are estimates; -1 means unknown (the endpoint
	// does not count, such as the event log's cursor stream).
	Records, Requests int
	// Probes is how many requests the estimate itself made.
	Probes int
}

// PlanRun estimates the run of req.Report without extracting anything.
func PlanRun(ctx context.Context, c Client, req Request) (Plan, error) {
	r := req.Report
	if r.Parent != "" {
		return Plan{}, fmt.Errorf("report %s is written with %s: plan %s instead", r.Name, r.Parent, r.Parent)
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	p := Plan{Report: r.Name, Records: -1, Requests: -1}
	x := &run{req: req}
	probe := &countingClient{Client: c}
	if r.Paging == Daily {
		from, today, err := x.dayRange()
		if err != nil {
			return p, err
		}
		days := int(today.Sub(from)/(24*time.Hour)) + 1
		p.Window = fmt.Sprintf("days %s to %s (UTC)", from.Format(time.DateOnly), today.Format(time.DateOnly))
		p.Requests = days + 1 // and /me/ or the metric listing
		return p, nil
	}
	if r.Paging == Search {
		from, err := x.searchFrom()
		if err != nil {
			return p, err
		}
		p.Window = "search " + r.Sources[0].Params.Get("object_type") + ", everything"
		if !from.IsZero() {
			p.Window = fmt.Sprintf("search %s, %s >= %s", r.Sources[0].Params.Get("object_type"), r.Strategy.Field, from.UTC().Format(time.RFC3339))
		}
		return p, nil // a search does not count without walking
	}
	q, err := x.query()
	if err != nil {
		return p, err
	}
	p.Window = describeQuery(r, q)
	records, requests := 0, 0
	for _, s := range r.Sources {
		s, err := x.resolve(ctx, probe, s)
		if err != nil {
			return p, fmt.Errorf("%s: %w", r.Name, err)
		}
		switch r.Paging {
		case Single, Object:
			requests++
			continue
		case Cursor:
			p.Probes = probe.n
			return p, nil // the event log does not count
		}
		params := cloneValues(s.Params)
		for k, v := range q {
			params[k] = v
		}
		params.Set("_limit", "0")
		var resp struct {
			Total *int `json:"total_results"`
		}
		if err := probe.Get(ctx, s.Path, params, &resp); err != nil {
			return p, fmt.Errorf("%s: count %s: %w", r.Name, s.Path, err)
		}
		if resp.Total == nil {
			p.Probes = probe.n
			return p, nil // this endpoint does not count
		}
		records += *resp.Total
		requests += max(1, (*resp.Total+r.PageSize-1)/r.PageSize)
	}
	p.Records, p.Requests, p.Probes = records, requests, probe.n
	return p, nil
}

// describeQuery renders the filters a run sends, or "everything".
func describeQuery(r *Report, q url.Values) string {
	if len(q) == 0 {
		if r.Method == Full {
			return "everything (replaced)"
		}
		return "everything"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		parts = append(parts, k+"="+strings.Join(q[k], ","))
	}
	return strings.Join(parts, " ")
}

// countingClient counts the probes a plan makes.
type countingClient struct {
	Client
	n int
}

func (c *countingClient) Get(ctx context.Context, path string, q url.Values, out any) error {
	c.n++
	return c.Client.Get(ctx, path, q, out)
}
