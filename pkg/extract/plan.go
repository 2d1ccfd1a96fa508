package extract

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/closeapi"
)

// Plan is what a run of a report would read, for `closesync sync
// --dry-run`: its filters and an estimate of its records and requests,
// found with read-only probes: a `_limit=0` count where Close answers one
// with total_results (leads with a query, opportunities), else the first
// page the walk would read, exact when it is the only one and otherwise
// extrapolated from its dates where the listing is in date order.
type Plan struct {
	Report string
	// Window describes what the run reads: the incremental filters sent,
	// the days of a daily report, or "everything".
	Window string
	// Records and Requests are estimates; -1 means unknown (Note says
	// why).
	Records, Requests int
	// Approx is set when Records is extrapolated from a first page (Note
	// says how) rather than counted.
	Approx bool
	// Note is one short reason: how an approximate estimate was made, or
	// why there is none.
	Note string
	// Probes is how many requests the estimate itself made.
	Probes int
}

// PlanRun estimates the run of req.Report without extracting anything:
// the estimate of the report's walker (Walker.Estimate).
func PlanRun(ctx context.Context, c Client, req Request) (Plan, error) {
	r := req.Report
	if r.Parent != "" {
		return Plan{}, fmt.Errorf("report %s is written with %s: plan %s instead", r.Name, r.Parent, r.Parent)
	}
	if r.Walk == nil {
		return Plan{}, fmt.Errorf("report %s declares no walker", r.Name)
	}
	if use, p, err := exportWanted(ctx, c, req); err != nil || use {
		if use {
			p = exportPlan(r, p)
		}
		return p, err
	}
	return r.Walk.Estimate(ctx, c, req)
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

// countingClient counts the probes a plan makes: each GET and each page
// of a listing.
type countingClient struct {
	Client
	n int
}

func (c *countingClient) Get(ctx context.Context, path string, q url.Values, out any) error {
	c.n++
	return c.Client.Get(ctx, path, q, out)
}

func (c *countingClient) counted(fn func(closeapi.Page) error) func(closeapi.Page) error {
	return func(p closeapi.Page) error {
		c.n++
		return fn(p)
	}
}

func (c *countingClient) ListOffset(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	return c.Client.ListOffset(ctx, path, q, limit, c.counted(fn))
}

func (c *countingClient) ListCursor(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	return c.Client.ListCursor(ctx, path, q, limit, c.counted(fn))
}
