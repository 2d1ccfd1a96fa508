package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/config"
)

// dryRun prints what `sync` would read, per job and report (daemon.DryRun):
// records and requests, exact, extrapolated (~) or unknown with a note
// saying why, and the rate-limit room Close reported. Nothing is written.
func dryRun(ctx context.Context, cfg *config.Config, onlyJobs, onlyReports []string, e *env) error {
	log, jobs, err := startJobs(cfg, onlyJobs, onlyReports, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tREPORT\tMODE\tREADS\tRECORDS\tREQUESTS\tEST. TIME\tNOTE")
	failed := false
	remaining, err := daemon.DryRun(ctx, cfg, log, jobs, func(est daemon.Estimate) {
		if est.Err != nil {
			failed = true
			fmt.Fprintf(tw, "%s\t%s\t%s\t(error: %v)\t\t\t\t\n", est.Job, est.Run.Report.Name, est.Run.Mode, est.Err)
			return
		}
		t := "?"
		if est.Time >= 0 {
			t = "~" + est.Time.String()
		}
		records := count(est.Plan.Records)
		if est.Plan.Approx {
			records = "~" + records
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", est.Job, est.Run.Report.Name, est.Run.Mode, est.Plan.Window, records,
			count(est.Plan.Requests), t, est.Plan.Note)
	})
	if err != nil {
		return err
	}
	tw.Flush()
	for account, n := range remaining {
		fmt.Fprintf(e.stdout, "account %s: %d requests left in Close's current rate-limit window\n", account, n)
	}
	fmt.Fprintln(e.stdout, "Records are counted (total_results) or read from the one page there is; ~ marks an extrapolation from a first page; '?' is unknown, NOTE says why. Nothing was written.")
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
