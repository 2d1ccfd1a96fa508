package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/config"
)

// dryRun prints what `sync` would read, per job and report (daemon.DryRun),
// and the rate-limit room Close reported. Nothing is written.
func dryRun(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, e *env) error {
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tREPORT\tMODE\tREADS\tRECORDS\tREQUESTS\tEST. TIME")
	failed := false
	remaining, err := daemon.DryRun(ctx, cfg, log, jobs, func(est daemon.Estimate) {
		if est.Err != nil {
			failed = true
			fmt.Fprintf(tw, "%s\t%s\t%s\t(error: %v)\t\t\t\n", est.Job, est.Run.Report.Name, est.Run.Mode, est.Err)
			return
		}
		t := "?"
		if est.Time >= 0 {
			t = "~" + est.Time.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", est.Job, est.Run.Report.Name, est.Run.Mode, est.Plan.Window, count(est.Plan.Records),
			count(est.Plan.Requests), t)
	})
	if err != nil {
		return err
	}
	tw.Flush()
	for account, n := range remaining {
		fmt.Fprintf(e.stdout, "account %s: %d requests left in Close's current rate-limit window\n", account, n)
	}
	fmt.Fprintln(e.stdout, "Estimates come from count probes (total_results); '?' where an endpoint does not count. Nothing was written.")
	if failed {
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
