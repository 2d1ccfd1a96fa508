package schedule

import (
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// Reread is what sync --full-refresh or --since/--until asks of the
// selected reports: re-read beyond the bookmark, which never moves back.
type Reread struct {
	FullRefresh  bool
	Since, Until time.Time
}

// ParseReread checks the re-read flags against the rest of the command
// line; every error is a usage error (ErrUsage).
func ParseReread(full bool, since, until string, reports []string, dry, reconcile bool) (Reread, error) {
	rr := Reread{FullRefresh: full}
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
	}{{"--since", since, &rr.Since}, {"--until", until, &rr.Until}} {
		if f.value == "" {
			continue
		}
		d, err := config.ParseDate(f.value)
		if err != nil {
			return rr, usagef("%s %q: %v", f.name, f.value, err)
		}
		*f.into = d.UTC()
	}
	if !rr.Until.IsZero() && !rr.Until.After(rr.Since) {
		return rr, usagef("--until %s is not after --since %s", until, since)
	}
	if !rr.Until.IsZero() && rr.Until.After(time.Now()) {
		rr.Until = time.Time{} // a window ending in the future reads to now
	}
	return rr, nil
}

// Apply marks the jobs' report runs; a window on a report that is read
// whole every run is refused.
func (w Reread) Apply(jobs []pipeline.Job) error {
	for i := range jobs {
		for k := range jobs[i].Reports {
			rr := &jobs[i].Reports[k]
			if !w.Since.IsZero() && (rr.Report.Method != extract.Incremental || rr.Mode == schema.Replace) {
				return usagef("jobs %s: report %s is read whole on every run (full refresh or mode replace): --since does not apply; run it without",
					jobs[i].Name, rr.Report.Name)
			}
			rr.FullRefresh, rr.Since, rr.Until = w.FullRefresh, w.Since, w.Until
		}
	}
	return nil
}

// Trigger is the sync.runs trigger of the re-read runs.
func (w Reread) Trigger(def runlog.Trigger) runlog.Trigger {
	switch {
	case w.FullRefresh:
		return runlog.FullRefresh
	case !w.Since.IsZero():
		return runlog.Backfill
	}
	return def
}

// Triggered is a result, with the trigger of its run when it is a
// followup (a run the command did not ask for; "" otherwise).
type Triggered struct {
	pipeline.Result
	FollowupTrigger runlog.Trigger
}

// WithFollowups lists each result followed by the run it led to, if any
// (a widened start_date's backfill, a full refresh's reconcile).
func WithFollowups(results []pipeline.Result) []Triggered {
	var out []Triggered
	for _, r := range results {
		out = append(out, Triggered{Result: r})
		if r.Followup != nil {
			out = append(out, Triggered{Result: *r.Followup, FollowupTrigger: r.Followup.Trigger})
		}
	}
	return out
}

// Note tells what a re-read did and did not do, for the line after its
// result ("" when there is nothing to tell).
func (w Reread) Note(res Triggered) string {
	rep, ok := extract.Lookup(res.Report)
	switch res.FollowupTrigger {
	case runlog.Backfill:
		return fmt.Sprintf("backfill: start_date is earlier than %s was first loaded from; that range was read (the bookmark stays)", res.Report)
	case runlog.Reconcile:
		return fmt.Sprintf("reconcile: from the full refresh's listing of %d ids, no extra request", res.RowsExtracted)
	default:
		// Not a followup (or one without a note): the re-read's own run.
	}
	if !ok || res.Status != runlog.Success {
		return ""
	}
	switch {
	case w.FullRefresh && rep.Method == extract.Incremental && rep.Reconcilable():
		return "full refresh: rows were upserted over what was there, none dropped; the reconcile line below marked the rows whose objects no longer exist"
	case w.FullRefresh && rep.Method == extract.Incremental:
		return fmt.Sprintf("full refresh: rows were upserted over what was there, none dropped (Close does not delete %s objects)", res.Report)
	case !w.Since.IsZero():
		return fmt.Sprintf("backfill: %s; bookmark %s (never moved back)", w.describe(), orNone(res.Bookmark.String()))
	}
	return ""
}

func (w Reread) describe() string {
	until := "now"
	if !w.Until.IsZero() {
		until = w.Until.Format(time.RFC3339)
	}
	return fmt.Sprintf("read %s from %s to %s", "the window", w.Since.Format(time.RFC3339), until)
}

func orNone(s string) string {
	if s == "" {
		return "unchanged"
	}
	return "now " + s
}
