package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

func cmdHistory(ctx context.Context, args []string, e *env) error {
	fs := newFlags("history", "--config FILE [--limit N] [--json]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	limit := fs.Int("limit", 20, "how many runs, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *limit <= 0 {
		return usagef("--limit must be positive")
	}
	cfg, err := loadConfigFor(*cfgPath, config.Needs{}) // reads the database only: no API key needed
	if err != nil {
		return err
	}
	opts := daemon.StoreOptions(cfg)
	opts.ReadOnly, opts.LockTimeout = true, 10*time.Second
	store, err := load.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }() // read-only: nothing to lose
	runs, err := store.Runs(ctx, *limit)
	if err != nil {
		return err
	}
	return printRuns(e, runs, *asJSON)
}

func printRuns(e *env, runs []runlog.Run, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if runs == nil {
			runs = []runlog.Run{}
		}
		return enc.Encode(runs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tJOB\tREPORT\tTRIGGER\tSTARTED\tDURATION\tSTATUS\tEXTRACTED\tUPSERTED\tDELETED\tREQUESTS\tRETRIES\tERROR")
	for _, r := range runs {
		dur := "-"
		if r.FinishedAt != nil {
			dur = r.Duration().Round(time.Millisecond).String()
		}
		errText := r.Error
		if len(errText) > 80 {
			errText = errText[:77] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Job, r.Report, r.Trigger,
			r.StartedAt.UTC().Format("2006-01-02 15:04:05"), dur, r.Status, r.RowsExtracted, r.RowsUpserted, r.RowsDeleted,
			r.Requests, r.Retries, errText)
	}
	return tw.Flush()
}
