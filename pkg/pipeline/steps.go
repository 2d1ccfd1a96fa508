package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/schema"
)

// step is a post-load step: what it does, and what the log says when it
// fails. A step that fails does not fail the run (the data has landed, and
// the next run of the report does the step again), unless its error is a
// runFailingError.
type step struct {
	run    func(r *Runner, ctx context.Context, s *run) error
	failed string
}

// steps are the post-load steps by their declaration (extract.Step).
// RefetchEdited is not among them: it feeds the walk (refetchEdited).
var steps = map[extract.Step]step{
	// The events are stored; the next run of the report applies them.
	extract.ApplyEventDeletes:  {(*Runner).applyEventDeletes, "deletes from the event log not applied"},
	extract.PurgeDeleted:       {(*Runner).purgeStep, "hard deletes not applied; the rows stay marked deleted"},
	extract.RefreshCustomViews: {(*Runner).refreshViews, "custom field views not refreshed"},
	// The seen definitions stay as they were: the next run records the
	// changes.
	extract.RecordSchemaChanges: {(*Runner).recordSchemaChanges, "schema changes not recorded"},
}

// runSteps runs the report's declared steps in order, after a successful
// load. PurgeDeleted is skipped when an earlier step failed (deletes that
// were not applied leave nothing to purge). A step's failure is logged and
// the run stays a success, unless the step says it fails the run
// (runFailingError): that error is returned, once the steps have run.
func (r *Runner) runSteps(ctx context.Context, s *run) error {
	failed := false
	var fails error
	for _, name := range s.rr.Report.After {
		st, ok := steps[name]
		if !ok || (name == extract.PurgeDeleted && failed) {
			continue
		}
		if err := st.run(r, ctx, s); err != nil {
			failed = true
			var f runFailingError
			if errors.As(err, &f) {
				fails = &StageError{Stage: StageStep, Report: s.rr.Report.Name, Err: f.err}
				continue
			}
			err = &StageError{Stage: StageStep, Report: s.rr.Report.Name, Err: err}
			s.log.Error(st.failed, zap.String("step", string(name)), zap.Error(err))
		}
	}
	return fails
}

// runFailingError is a step's error that fails the run it is a step of.
type runFailingError struct{ err error }

func (f runFailingError) Error() string { return f.err.Error() }
func (f runFailingError) Unwrap() error { return f.err }

// eventLog is the report whose stored events tell deletions and edits: the
// one that declares ApplyEventDeletes (nil if none does).
func eventLog() *extract.Report {
	if rs := extract.Declaring(extract.ApplyEventDeletes); len(rs) > 0 {
		return rs[0]
	}
	return nil
}

// applyEventDeletes soft-deletes (and cascades) the rows whose deletion
// events the run stored in the report's table.
func (r *Runner) applyEventDeletes(ctx context.Context, s *run) error {
	var ids *[]string
	if r.CollectChanges {
		ids = &s.res.Deletions
	}
	n, err := r.Store.ApplyDeletes(ctx, s.row, s.rr.Report.Table.Name, extract.DeletableTables(), ids)
	s.res.RowsDeleted = n
	return err
}

// purgeStep removes soft-deleted rows when the job keeps none.
func (r *Runner) purgeStep(ctx context.Context, s *run) error {
	if !s.job.HardDeletes {
		return nil
	}
	return r.purge(ctx, s.org, s.log)
}

// purge removes the organization's soft-deleted rows of every deletable
// table (deletes: hard); the rows stay marked until the next try when it
// fails.
func (r *Runner) purge(ctx context.Context, org string, log *zap.Logger) error {
	n, err := r.Store.PurgeDeleted(ctx, org, extract.DeletableTables())
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("deleted rows removed (deletes: hard)", zap.Int64("rows", n))
	}
	return nil
}

// refreshViews rebuilds the <table>_custom views.
func (r *Runner) refreshViews(ctx context.Context, _ *run) error {
	return r.Store.RefreshCustomViews(ctx, extract.CustomFieldsReport, extract.CustomViewTables())
}

// recordSchemaChanges records the custom field changes since the last run
// of the definitions' report, and logs each.
func (r *Runner) recordSchemaChanges(ctx context.Context, s *run) error {
	mode := s.job.OnSchemaChange
	changes, err := r.Store.RecordFieldChanges(ctx, s.row, s.rr.Report.Table.Name, extract.CustomViewTables(),
		mode == "" || mode == SchemaEvolve)
	s.res.SchemaChanges = changes
	for _, c := range changes {
		s.log.Info("custom field changed in Close", zap.String("change", c.Change), zap.String("field_id", c.FieldID),
			zap.String("name", c.Name), zap.String("previous", c.Previous), zap.String("current", c.Current),
			zap.Strings("views", c.Views), zap.String("on_schema_change", mode))
	}
	if err != nil || mode != SchemaFail || len(changes) == 0 {
		return err
	}
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c.Change + " " + c.Name
		if c.Previous != "" {
			names[i] += " (was " + c.Previous + ")"
		}
	}
	return runFailingError{fmt.Errorf("on_schema_change: fail: %d custom field change(s) in Close (%s), recorded in sync.schema_changes; "+
		"the _custom views stay as they were until a run with on_schema_change: evolve", len(changes), strings.Join(names, ", "))}
}

// refetchEdited is the RefetchEdited step, before the walk: the records
// the event log reports edited since the report last ran, and that the
// walk will not read, are read too (req.Refetch). A lookup that fails is
// a warning: they are read when their next edit falls in the window.
func (r *Runner) refetchEdited(ctx context.Context, s *run, req *extract.Request) {
	ids, err := r.editedActivities(ctx, s, *req)
	if err != nil {
		s.log.Warn("edited activities not looked up; they are read when their next edit falls in the window",
			zap.Error(&StageError{Stage: StageStep, Report: s.rr.Report.Name, Err: err}))
		return
	}
	if len(ids) > 0 {
		req.Refetch = ids
		s.log.Info("re-reading activities edited after their attribution window", zap.Int("activities", len(ids)))
	}
}

// editedActivities lists, for an activity report with a bookmark, the
// activities the event log reports edited since the report last ran and
// that its walk will not read (created before the walk's window), so that
// edits older than the attribution window are seen too.
func (r *Runner) editedActivities(ctx context.Context, s *run, req extract.Request) ([]string, error) {
	rep, rr := s.rr.Report, s.rr
	typ, ok := rep.ActivityType()
	events := eventLog()
	if !ok || events == nil || req.Bookmark.IsZero() || rr.Mode == schema.Replace || req.FullRefresh {
		return nil, nil
	}
	since, err := r.Store.LastSuccessStart(ctx, s.job.Name, rep.Name)
	if err != nil || since.IsZero() {
		return nil, err
	}
	// What the walk reads starts at From: the edits it will not see are
	// of activities created before that.
	from := rep.Strategy.From(req.Bookmark, req.StartDate, req.Now, rr.Window)
	return r.Store.UpdatedActivities(ctx, events.Table.Name, rep.Table.Name, s.org, rep.EditEvents, typ, since, from)
}
