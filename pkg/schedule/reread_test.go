package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// TestParseReread: the re-read flags against the rest of the command line,
// and the trigger of the runs they ask for.
func TestParseReread(t *testing.T) {
	t.Parallel()
	leads := []string{"leads"}
	for _, c := range []struct {
		name           string
		full           bool
		since, until   string
		reports        []string
		dry, reconcile bool
		want, fail     string
		trigger        runlog.Trigger
	}{
		{name: "none", want: "", trigger: runlog.Manual},
		{name: "full refresh", full: true, reports: leads, trigger: runlog.FullRefresh},
		{name: "a window", since: "2024-01-01", until: "2024-02-01", reports: leads, want: "2024-01-01T00:00:00Z-2024-02-01T00:00:00Z", trigger: runlog.Backfill},
		{name: "a window to now", since: "2024-01-01", until: "2999-01-01", reports: leads, want: "2024-01-01T00:00:00Z-", trigger: runlog.Backfill},
		{name: "full and since", full: true, since: "2024-01-01", reports: leads, fail: "cannot be combined with --since/--until"},
		{name: "until alone", until: "2024-01-01", reports: leads, fail: "--until needs --since"},
		{name: "with dry run", full: true, dry: true, reports: leads, fail: "--full-refresh cannot be combined with --dry-run"},
		{name: "no report", since: "2024-01-01", fail: "--since needs --report R"},
		{name: "a bad date", since: "January", reports: leads, fail: `--since "January"`},
		{name: "an empty window", since: "2024-02-01", until: "2024-01-01", reports: leads, fail: "is not after --since"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rr, err := ParseReread(c.full, c.since, c.until, c.reports, c.dry, c.reconcile)
			if c.fail != "" {
				if err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.fail) {
					t.Errorf("error %v, want a usage error with %q", err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if !rr.Since.IsZero() {
				got = rr.Since.Format(time.RFC3339) + "-"
				if !rr.Until.IsZero() {
					got += rr.Until.Format(time.RFC3339)
				}
			}
			if got != c.want || rr.FullRefresh != c.full || rr.Trigger("manual") != c.trigger {
				t.Errorf("window %q full %v trigger %s, want %q %v %s", got, rr.FullRefresh, rr.Trigger("manual"), c.want, c.full, c.trigger)
			}
		})
	}
}

// TestRereadNote: the line after a re-read's result says what it did.
func TestRereadNote(t *testing.T) {
	t.Parallel()
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := func(report, bookmark string) pipeline.Result {
		b, err := schema.ParseBookmark(bookmark)
		if err != nil {
			t.Fatal(err)
		}
		return pipeline.Result{Run: runlog.Run{Report: report, Status: runlog.Success, Bookmark: b, RowsExtracted: 7}}
	}
	for _, c := range []struct {
		name string
		w    Reread
		res  Triggered
		want string
	}{
		{"a widened start_date's backfill", Reread{}, Triggered{Result: ok("leads", ""), FollowupTrigger: runlog.Backfill},
			"backfill: start_date is earlier than leads was first loaded from; that range was read (the bookmark stays)"},
		{"a full refresh's reconcile", Reread{FullRefresh: true}, Triggered{Result: ok("leads", ""), FollowupTrigger: runlog.Reconcile},
			"reconcile: from the full refresh's listing of 7 ids, no extra request"},
		{"a full refresh of a reconcilable report", Reread{FullRefresh: true}, Triggered{Result: ok("leads", "")},
			"full refresh: rows were upserted over what was there, none dropped; the reconcile line below marked the rows whose objects no longer exist"},
		{"a window to now", Reread{Since: since}, Triggered{Result: ok("leads", "2024-06-01T00:00:00Z")},
			"backfill: read the window from 2024-01-01T00:00:00Z to now; bookmark now 2024-06-01T00:00:00Z (never moved back)"},
		{"a failed run", Reread{Since: since}, Triggered{Result: pipeline.Result{Run: runlog.Run{Report: "leads", Status: runlog.Failed}}}, ""},
		{"a plain sync", Reread{}, Triggered{Result: ok("leads", "")}, ""},
	} {
		if got := c.w.Note(c.res); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
