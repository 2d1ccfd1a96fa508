package extract

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
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

// countingClient counts the probes a plan makes.
type countingClient struct {
	Client
	n int
}

func (c *countingClient) Get(ctx context.Context, path string, q url.Values, out any) error {
	c.n++
	return c.Client.Get(ctx, path, q, out)
}
