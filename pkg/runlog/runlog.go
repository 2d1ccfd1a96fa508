// Package runlog is the record of one run of one report: the row closesync
// writes to sync.runs and the one shape that history, the status endpoint,
// notifications and the command line all read. Status and Trigger are typed,
// so a misspelt value cannot compile.
package runlog

import (
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Status is a run's state, the values of sync.runs.status.
type Status string

// Run statuses.
const (
	Running   Status = "running"
	Success   Status = "success"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Trigger is what started a run, the values of sync.runs.trigger.
type Trigger string

// Triggers.
const (
	// Schedule is a cron tick of the daemon.
	Schedule Trigger = "schedule"
	// Startup is the daemon's catch-up run when it starts.
	Startup Trigger = "startup"
	// Manual is closesync sync, the demo or a run-now request.
	Manual Trigger = "manual"
	// Retry is a job-level retry of a failed run.
	Retry Trigger = "retry"
	// Reconcile is the id listing that marks rows Close no longer has.
	Reconcile Trigger = "reconcile"
	// Backfill re-reads a widened start_date without moving the bookmark.
	Backfill Trigger = "backfill"
	// FullRefresh re-reads a report in full without moving its bookmark.
	FullRefresh Trigger = "full_refresh"
	// Reset records closesync reset forgetting a report's state.
	Reset Trigger = "reset"
	// Compact records a compaction of the database file (closesync compact,
	// or after a run when the file is mostly free blocks).
	Compact Trigger = "compact"
	// Verify compares a report's live rows with Close's own count
	// (closesync verify, or a job's verify schedule); it writes no row of
	// the report's table.
	Verify Trigger = "verify"
	// Publish records the database written out as Parquet (publish.parquet:
	// after the runs that wrote, or closesync publish); it changes no data.
	Publish Trigger = "publish"
	// Webhook is a daemon run started by a Close webhook delivery.
	Webhook Trigger = "webhook"
)

// Run is one run of one report: a row of sync.runs, plus the error and the
// bookmark the run committed, which the row does not hold. Its fields (and
// so its JSON, closesync history --json) follow the columns of sync.runs.
type Run struct {
	ID            int64      `json:"run_id"`
	Job           string     `json:"job"`
	Report        string     `json:"report"`
	Account       string     `json:"account"`
	Trigger       Trigger    `json:"trigger"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	Status        Status     `json:"status"`
	RowsExtracted int64      `json:"rows_extracted"`
	RowsUpserted  int64      `json:"rows_upserted"`
	RowsDeleted   int64      `json:"rows_deleted"`
	Requests      int64      `json:"requests"`
	Retries       int64      `json:"retries"`
	// Error is the run's error message as stored ("" on success).
	Error string `json:"error,omitempty"`
	// Org is the organization of the account ("" when it was not told).
	Org string `json:"organization_id,omitempty"`
	// Err is the error itself, for the process that ran it (not stored).
	Err error `json:"-"`
	// Bookmark is the last bookmark the run committed (zero if none).
	Bookmark schema.Bookmark `json:"-"`
}

// Duration is how long the run took (up to now while it is running).
func (r Run) Duration() time.Duration {
	if r.FinishedAt == nil {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// ErrorText is the run's error message: Error as stored, else Err's text
// ("" for a run without an error).
func (r Run) ErrorText() string {
	if r.Error == "" && r.Err != nil {
		return r.Err.Error()
	}
	return r.Error
}
