package daemon

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schema"
)

// Estimate is what a dry run found for one report run.
type Estimate struct {
	Job  string
	Run  pipeline.ReportRun
	Plan extract.Plan
	// Time is the walk's duration at the probes' mean latency (pages of one
	// report are read one after another); negative when the requests are
	// unknown.
	Time time.Duration
	Err  error // the planning failed
}

// DryRun is what Once would read, per job and report: the filters or days,
// and the records and requests it estimates from read-only probes (a
// `_limit=0` count where Close answers one, else the walk's first page:
// see extract.Plan), with the time that takes at the latency the probes
// measured; each
// receives them in order. Nothing is written: the database is opened
// read-only, and only to read the bookmarks. It returns the rate-limit room
// Close reported per account. A bookmark that cannot be read is its
// report's Estimate.Err.
func DryRun(ctx context.Context, cfg *config.Config, log *zap.Logger, jobs []pipeline.Job, each func(Estimate)) (map[string]int, error) {
	obs := &accounts.Remaining{}
	cs, err := accounts.New(cfg, closeapi.NewBudgets(), log, obs)
	if err != nil {
		return nil, err
	}
	bookmarks := func(job pipeline.Job, report string) (schema.Bookmark, error) { return schema.Bookmark{}, nil }
	if _, err := os.Stat(cfg.Database); err == nil {
		opts := StoreOptions(cfg)
		opts.ReadOnly = true
		store, err := load.Open(ctx, opts)
		if err != nil {
			return nil, err
		}
		defer func() { _ = store.Close() }() // read-only: nothing to lose
		bookmarks = func(job pipeline.Job, report string) (schema.Bookmark, error) {
			// Bookmarks are the account's organization's.
			org := job.Params["organization_id"]
			if find := cs.Organization(job.Account); org == "" && find != nil {
				var err error
				if org, err = find(ctx); err != nil {
					return schema.Bookmark{}, fmt.Errorf("job %s: tell the organization of account %s: %w", job.Name, job.Account, err)
				}
			}
			b, _, err := store.Bookmark(ctx, job.Account, org, report)
			return b, err
		}
	}
	for _, job := range jobs {
		c := cs.Client(job.Account)
		for _, rr := range job.Reports {
			bm, err := bookmarks(job, rr.Report.Name)
			if err != nil {
				// A bookmark that cannot be read is that report's error.
				each(Estimate{Job: job.Name, Run: rr, Time: -1, Err: err})
				continue
			}
			req := extract.Request{Report: rr.Report, StartDate: job.StartDate, Window: rr.Window, Params: job.Params, Now: time.Now(),
				ExportAbove: job.ExportAbove}
			if rr.Mode != schema.Replace {
				req.Bookmark = bm
			}
			start := time.Now()
			p, err := extract.PlanRun(ctx, c, req)
			each(Estimate{Job: job.Name, Run: rr, Plan: p, Time: walkTime(p, time.Since(start)), Err: err})
		}
	}
	return obs.Snapshot(), nil
}

// walkTime is the walk's duration at the probes' mean latency: pages of
// one report are read one after another.
func walkTime(p extract.Plan, took time.Duration) time.Duration {
	if p.Requests < 0 {
		return -1
	}
	per := took
	if p.Probes > 0 {
		per = took / time.Duration(p.Probes)
	}
	if per <= 0 {
		per = 200 * time.Millisecond
	}
	return (per * time.Duration(p.Requests)).Round(100 * time.Millisecond)
}

// StoreOptions opens cfg's database for every load.Open of it: see
// hooks.StoreOptions (the hooks open it too, to publish it).
func StoreOptions(cfg *config.Config) load.Options { return hooks.StoreOptions(cfg) }
