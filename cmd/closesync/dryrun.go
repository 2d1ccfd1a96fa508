package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schedule"
)

// dryRun prints what `sync` would read, per job and report: the filters or
// days, and the records and requests it estimates from read-only count
// probes, with the time that takes at the latency the probes measured and
// the rate-limit room Close reported. Nothing is written: the database is
// opened read-only, and only to read the bookmarks.
func dryRun(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, e *env) error {
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	obs := &accounts.Remaining{}
	cs, err := accounts.New(cfg, log, obs)
	if err != nil {
		return err
	}
	bookmarks := func(job schedule.Job, report string) (string, error) { return "", nil }
	if _, err := os.Stat(cfg.Database); err == nil {
		store, err := load.Open(ctx, load.Options{Path: cfg.Database, Schema: cfg.Schema, Migrations: closesync.SQL, ReadOnly: true,
			LockTimeout: cfg.LockTimeout})
		if err != nil {
			return err
		}
		defer store.Close()
		bookmarks = func(job schedule.Job, report string) (string, error) {
			// Bookmarks are the account's organization's.
			org := job.Params["organization_id"]
			if find := cs.Organization(job.Account); org == "" && find != nil {
				var err error
				if org, err = find(ctx); err != nil {
					return "", fmt.Errorf("job %s: tell the organization of account %s: %w", job.Name, job.Account, err)
				}
			}
			b, _, err := store.Bookmark(ctx, job.Account, org, report)
			return b, err
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tREPORT\tMODE\tREADS\tRECORDS\tREQUESTS\tEST. TIME")
	var failed error
	for _, job := range jobs {
		c := cs.Client(job.Account)
		for _, rr := range job.Reports {
			bm, err := bookmarks(job, rr.Report.Name)
			if err != nil {
				return err
			}
			req := extract.Request{Report: rr.Report, StartDate: job.StartDate, Window: rr.Window, Params: job.Params, Now: time.Now()}
			if rr.Mode != load.Replace {
				req.Bookmark = bm
			}
			start := time.Now()
			p, err := extract.PlanRun(ctx, c, req)
			if err != nil {
				failed = errors.Join(failed, err)
				fmt.Fprintf(tw, "%s\t%s\t%s\t(error: %v)\t\t\t\n", job.Name, rr.Report.Name, rr.Mode, err)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", job.Name, rr.Report.Name, rr.Mode, p.Window, count(p.Records), count(p.Requests),
				estimate(p, time.Since(start)))
		}
	}
	tw.Flush()
	for account, n := range obs.Snapshot() {
		fmt.Fprintf(e.stdout, "account %s: %d requests left in Close's current rate-limit window\n", account, n)
	}
	fmt.Fprintln(e.stdout, "Estimates come from count probes (total_results); '?' where an endpoint does not count. Nothing was written.")
	if failed != nil {
		return errFailed
	}
	return nil
}

func count(n int) string {
	if n < 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

// estimate is the walk's duration at the probes' mean latency: pages of
// one report are read one after another.
func estimate(p extract.Plan, took time.Duration) string {
	if p.Requests < 0 {
		return "?"
	}
	per := took
	if p.Probes > 0 {
		per = took / time.Duration(p.Probes)
	}
	if per <= 0 {
		per = 200 * time.Millisecond
	}
	return "~" + (per * time.Duration(p.Requests)).Round(100*time.Millisecond).String()
}
