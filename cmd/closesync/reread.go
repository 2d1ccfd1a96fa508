package main

import (
	"fmt"
	"io"
	"time"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// reread is what sync --full-refresh or --since/--until asks of the
// selected reports: re-read beyond the bookmark, which never moves back.
type reread struct {
	fullRefresh  bool
	since, until time.Time
}

// parseReread checks the re-read flags against the rest of the command line.
func parseReread(full bool, since, until string, reports []string, dry, reconcile bool) (reread, error) {
	rr := reread{fullRefresh: full}
	if !full && since == "" && until == "" {
		return rr, nil
	}
	what := "--full-refresh"
	if !full {
		what = "--since"
	}
	switch {
	case full && (since != "" || until != ""):
		return rr, usagef("--full-refresh re-reads from start_date: it cannot be combined with --since/--until")
	case until != "" && since == "":
		return rr, usagef("--until needs --since: the window's start")
	case dry || reconcile:
		return rr, usagef("%s cannot be combined with --dry-run or --reconcile", what)
	case len(reports) == 0:
		return rr, usagef("%s needs --report R: name the reports to re-read", what)
	}
	for _, f := range []struct {
		name, value string
		into        *time.Time
	}{{"--since", since, &rr.since}, {"--until", until, &rr.until}} {
		if f.value == "" {
			continue
		}
		d, err := config.ParseDate(f.value)
		if err != nil {
			return rr, usagef("%s %q: %v", f.name, f.value, err)
		}
		*f.into = d.UTC()
	}
	if !rr.until.IsZero() && !rr.until.After(rr.since) {
		return rr, usagef("--until %s is not after --since %s", until, since)
	}
	if !rr.until.IsZero() && rr.until.After(time.Now()) {
		rr.until = time.Time{} // a window ending in the future reads to now
	}
	return rr, nil
}

// apply marks the jobs' report runs; a window on a report that is read
// whole every run is refused.
func (w reread) apply(jobs []pipeline.Job) error {
	for i := range jobs {
		for k := range jobs[i].Reports {
			rr := &jobs[i].Reports[k]
			if !w.since.IsZero() && (rr.Report.Method != extract.Incremental || rr.Mode == schema.Replace) {
				return usagef("jobs %s: report %s is read whole on every run (full refresh or mode replace): --since does not apply; run it without",
					jobs[i].Name, rr.Report.Name)
			}
			rr.FullRefresh, rr.Since, rr.Until = w.fullRefresh, w.since, w.until
		}
	}
	return nil
}

// trigger is the sync.runs trigger of the re-read runs.
func (w reread) trigger(def runlog.Trigger) runlog.Trigger {
	switch {
	case w.fullRefresh:
		return runlog.FullRefresh
	case !w.since.IsZero():
		return runlog.Backfill
	}
	return def
}

// note tells what a re-read did and did not do, after its result line.
func (w reread) note(out io.Writer, res triggered) {
	rep, ok := extract.Lookup(res.Report)
	switch res.trigger {
	case runlog.Backfill:
		fmt.Fprintf(out, "         backfill: start_date is earlier than %s was first loaded from; that range was read (the bookmark stays)\n", res.Report)
		return
	case runlog.Reconcile:
		fmt.Fprintf(out, "         reconcile: from the full refresh's listing of %d ids, no extra request\n", res.RowsExtracted)
		return
	}
	if !ok || res.Status != runlog.Success {
		return
	}
	switch {
	case w.fullRefresh && rep.Method == extract.Incremental && rep.Reconcilable():
		fmt.Fprintf(out, "         full refresh: rows were upserted over what was there, none dropped; the reconcile line below marked the rows whose objects no longer exist\n")
	case w.fullRefresh && rep.Method == extract.Incremental:
		fmt.Fprintf(out, "         full refresh: rows were upserted over what was there, none dropped (Close does not delete %s objects)\n", res.Report)
	case !w.since.IsZero():
		fmt.Fprintf(out, "         backfill: %s; bookmark %s (never moved back)\n", w.describe(), orNone(res.Bookmark.String()))
	}
}

func (w reread) describe() string {
	until := "now"
	if !w.until.IsZero() {
		until = w.until.Format(time.RFC3339)
	}
	return fmt.Sprintf("read %s from %s to %s", "the window", w.since.Format(time.RFC3339), until)
}

func orNone(s string) string {
	if s == "" {
		return "unchanged"
	}
	return "now " + s
}

// triggered is a result with the trigger of its run when it is a followup,
// not a run the command asked for ("" otherwise).
type triggered struct {
	pipeline.Result
	trigger runlog.Trigger
}

// withFollowups lists each result followed by the run it led to, if any
// (a widened start_date's backfill, a full refresh's reconcile).
func withFollowups(results []pipeline.Result) []triggered {
	var out []triggered
	for _, r := range results {
		out = append(out, triggered{Result: r})
		if r.Followup != nil {
			out = append(out, triggered{Result: *r.Followup, trigger: r.Followup.Trigger})
		}
	}
	return out
}
