package main

import (
	"fmt"
	"io"
	"time"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schedule"
)

// rereadNote tells what a re-read did and did not do, after its result line.
func rereadNote(out io.Writer, w schedule.Reread, res schedule.Triggered) {
	rep, ok := extract.Lookup(res.Report)
	switch res.Trigger {
	case schedule.TriggerBackfill:
		fmt.Fprintf(out, "         backfill: start_date is earlier than %s was first loaded from; that range was read (the bookmark stays)\n", res.Report)
		return
	case schedule.TriggerReconcile:
		fmt.Fprintf(out, "         reconcile: from the full refresh's listing of %d ids, no extra request\n", res.Extract)
		return
	}
	if !ok || res.Status != load.StatusSuccess {
		return
	}
	switch {
	case w.FullRefresh && rep.Method == extract.Incremental && rep.Reconcilable():
		fmt.Fprintf(out, "         full refresh: rows were upserted over what was there, none dropped; the reconcile line below marked the rows whose objects no longer exist\n")
	case w.FullRefresh && rep.Method == extract.Incremental:
		fmt.Fprintf(out, "         full refresh: rows were upserted over what was there, none dropped (Close does not delete %s objects)\n", res.Report)
	case !w.Since.IsZero():
		fmt.Fprintf(out, "         backfill: %s; bookmark %s (never moved back)\n", describeWindow(w), orNone(res.Bookmark))
	}
}

func describeWindow(w schedule.Reread) string {
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
