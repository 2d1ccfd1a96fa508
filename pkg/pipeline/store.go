package pipeline

import (
	"context"
	"time"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// RunLog is the run history: one sync.runs row per run, and the bookmark
// each report's committed batches left.
type RunLog interface {
	BeginRun(ctx context.Context, info load.RunInfo) (int64, error)
	FinishRun(ctx context.Context, id int64, status runlog.Status, c load.Counters, errMsg string) error
	Bookmark(ctx context.Context, account, org, report string) (schema.Bookmark, bool, error)
	// LastSuccessStart is when the job's last successful run of the report
	// started (zero: never).
	LastSuccessStart(ctx context.Context, job, report string) (time.Time, error)
}

// Writer writes a report's table.
type Writer interface {
	load.Applier
	EnsureTable(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error
	StartReplace(ctx context.Context, t schema.Table, org string) error
	// RawKeyChanges are the keys new to a table's _raw that run recorded.
	RawKeyChanges(ctx context.Context, runID int64) ([]load.SchemaChange, error)
	// EnsureVersions makes t's versions table (history).
	EnsureVersions(ctx context.Context, t schema.Table) error
	FinishReplace(ctx context.Context, run load.Run, t schema.Table) (int64, error)
	// StoredRows counts the organization's live rows of t (the zero-row
	// replace guard).
	StoredRows(ctx context.Context, t schema.Table, org string) (int64, error)
	// CustomFieldIDs are the ids of the organization's custom fields of
	// that name (or id) in the definitions table (privacy options).
	CustomFieldIDs(ctx context.Context, definitions, org, name string) ([]string, error)
	// Tally counts them and finds their newest value of column (verify).
	Tally(ctx context.Context, t schema.Table, org, column string) (load.Tally, error)
}

// Maintainer is the work of the steps: deletes, reconcile, purge, views and
// the edited-activity lookup.
type Maintainer interface {
	ApplyDeletes(ctx context.Context, run load.Run, eventTable string, tables []schema.Table, deletedIDs *[]string) (int64, error)
	Reconcile(ctx context.Context, run load.Run, t schema.Table, ids []string, listedFrom time.Time, deletedIDs *[]string) (int64, error)
	PurgeDeleted(ctx context.Context, org string, tables []schema.Table) (int64, error)
	RefreshCustomViews(ctx context.Context, definitions string, tables []schema.Table) error
	RecordFieldChanges(ctx context.Context, run load.Run, definitions string, tables []schema.Table, follow bool) ([]load.SchemaChange, error)
	UpdatedActivities(ctx context.Context, eventTable, activityTable, org, objectType, typ string, storedSince, createdBefore time.Time) ([]string, error)
}

// Ranges tells where each report's loaded range starts, for the backfill
// of a widened start_date.
type Ranges interface {
	LoadedFrom(ctx context.Context, account, report string) (schema.Bookmark, bool, error)
	SetLoadedFrom(ctx context.Context, account, report string, from schema.Bookmark, onlyUnset bool) (bool, error)
	// SucceededBefore tells whether the report had a successful run other
	// than run id.
	SucceededBefore(ctx context.Context, account, report string, id int64) (bool, error)
	// Oldest is the oldest value of column in t.
	Oldest(ctx context.Context, t schema.Table, column string) (time.Time, bool, error)
}

// Store is everything a run needs from the database (*load.Store).
type Store interface {
	RunLog
	Writer
	Maintainer
	Ranges
}
