package pipeline

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/privacy"
	"github.com/closesync/closesync/pkg/rawjson"
	"github.com/closesync/closesync/pkg/schema"
)

// walk is the body of an ordinary run: the table set up, the bookmark read
// (or a replace's shadow begun), the report's batches streamed into a
// batch writer, and a replace swapped in.
func (r *Runner) walk(ctx context.Context, s *run) error {
	rep, rr := s.rr.Report, s.rr
	ext, err := r.Extract(s.job.Account)
	if err != nil {
		return &StageError{Stage: StageExtract, Report: rep.Name, Err: configError{err}}
	}
	if err := r.Store.EnsureTable(ctx, rep.Table, rr.Mode, s.org); err != nil {
		return &StageError{Stage: StageLoad, Report: rep.Name, Err: configError{err}}
	}
	req := extract.Request{Report: rep, StartDate: s.job.StartDate, Window: rr.Window, Now: time.Now(), Params: s.job.Params,
		Concurrency: s.job.Concurrency, Warn: func(msg string) { s.log.Warn(msg) }, ExportAbove: s.job.ExportAbove}
	if rr.Mode != schema.Replace {
		// A replaced table is rebuilt from a full read: no bookmark.
		bm, _, err := r.Store.Bookmark(ctx, s.job.Account, s.org, rep.Name)
		if err != nil {
			return &StageError{Stage: StageLoad, Report: rep.Name, Err: err}
		}
		req.Bookmark = bm
	} else if err := r.Store.StartReplace(ctx, rep.Table, s.org); err != nil {
		return &StageError{Stage: StageLoad, Report: rep.Name, Err: err}
	}
	windowRequest(rr, &req)
	if rep.Has(extract.RefetchEdited) {
		r.refetchEdited(ctx, s, &req)
	}
	rawRules, customRules, err := rr.Privacy.Rules(ctx, func(ctx context.Context, name string) ([]string, error) {
		if privacy.IsCustomFieldID(name) {
			return []string{name}, nil
		}
		return r.Store.CustomFieldIDs(ctx, extract.CustomFieldsReport, s.org, name)
	})
	if err != nil {
		return &StageError{Stage: StageLoad, Report: rep.Name, Err: configError{fmt.Errorf("privacy: %w", err)}}
	}
	opts := []load.BatchOption{load.WithBatchRows(r.BatchRows), load.WithCounters(s.counters)}
	if rr.History && rr.Mode == schema.Upsert {
		if err := r.Store.EnsureVersions(ctx, rep.Table); err != nil {
			return &StageError{Stage: StageLoad, Report: rep.Name, Err: err}
		}
		opts = append(opts, load.WithHistory())
	}
	if r.CollectChanges {
		opts = append(opts, load.WithChanges(&s.res.Changes))
	}
	w := load.NewBatchWriter(r.Store, s.row, rep.Table, rr.Mode, opts...)
	// totals copies what the writer committed into the result; a replace's
	// rows count only once swapped in.
	totals := func() {
		t := w.Totals()
		s.res.RowsExtracted, s.res.Bookmark = t.Records, t.Bookmark
		if rr.Mode != schema.Replace {
			s.res.RowsUpserted = t.Rows
		}
	}
	defer totals()
	flush := func() error {
		defer totals()
		return staged(StageLoad, rep.Name, w.Flush(ctx))
	}
	emit := func(b extract.Batch) error {
		answered(ctx) // a page came: the account works
		r.Watch.read(s.job.Name, rep.Name, len(b.Records), b.Page)
		if rr.listed != nil {
			ids, err := extract.RecordIDs(rep, b)
			if err != nil {
				return &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
			}
			*rr.listed = append(*rr.listed, ids...)
		}
		if rr.FilterNulls {
			if err := dropNulls(b.Records); err != nil {
				return &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
			}
		}
		if err := protect(b.Records, rawRules, customRules); err != nil {
			return &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
		}
		bookmark := b.Bookmark
		if rr.Mode == schema.Replace {
			bookmark = schema.Bookmark{} // a replace is rebuilt in full: no bookmark
		}
		return staged(StageLoad, rep.Name, w.Write(ctx, b.Records, bookmark))
	}
	if err := awaitTurn(ctx); err != nil {
		return staged(StageExtract, rep.Name, err)
	}
	if err := fetchAhead(ctx, ext, req, emit); err != nil {
		// Whole pages already read are valid data with a valid bookmark:
		// keep them unless the run was cancelled.
		if ctx.Err() == nil {
			if ferr := flush(); ferr != nil {
				s.log.Warn("could not save the pages read before the error", zap.Error(ferr))
			}
		}
		return staged(StageExtract, rep.Name, err)
	}
	if err := flush(); err != nil {
		return err
	}
	// The keys new to the table's _raw that the batches recorded, for the
	// schema.changed notification (they are in sync.schema_changes).
	if added, err := r.Store.RawKeyChanges(ctx, s.row.ID); err != nil {
		s.log.Warn("new raw keys not read for the notification", zap.Error(err))
	} else {
		s.res.SchemaChanges = append(s.res.SchemaChanges, added...)
	}
	if rr.Mode != schema.Replace {
		return nil
	}
	if err := r.confirmEmpty(ctx, s, func() error {
		if err := fetchAhead(ctx, ext, req, emit); err != nil {
			return staged(StageExtract, rep.Name, err)
		}
		return flush()
	}); err != nil {
		return err
	}
	if _, err := r.Store.FinishReplace(ctx, s.row, rep.Table); err != nil {
		return &StageError{Stage: StageLoad, Report: rep.Name, Err: fmt.Errorf("replace %s: %w", rep.Name, err)}
	}
	s.res.RowsUpserted = w.Totals().Rows
	return nil
}

// confirmEmpty is the zero-row replace guard. A full refresh that read no
// record would empty its table, and a gateway or a backend in trouble can
// answer a well-formed empty page. So when the read found nothing and the
// table has live rows, the whole listing is read once more (reread: one
// request per source when it is empty again) into the same shadow. The
// replace goes ahead only when that second read is again a well-formed
// listing: if it is empty again, the endpoint has answered an empty page
// twice and the table is emptied (with a warning); if it has records, they
// are what is swapped in. A second read that fails fails the run, and the
// old rows stay.
func (r *Runner) confirmEmpty(ctx context.Context, s *run, reread func() error) error {
	rep := s.rr.Report
	if s.res.RowsExtracted > 0 {
		return nil
	}
	stored, err := r.Store.StoredRows(ctx, rep.Table, s.org)
	if err != nil || stored == 0 {
		return staged(StageLoad, rep.Name, err)
	}
	s.log.Warn("the full refresh read no records where the table has rows; reading it again before replacing",
		zap.Int64("stored_rows", stored))
	if err := reread(); err != nil {
		return &StageError{Stage: StageOf(err), Report: rep.Name,
			Err: fmt.Errorf("%s read no records where close.%s has %d; reading it again failed, the rows stay: %w",
				rep.Name, rep.Table.Name, stored, err)}
	}
	if s.res.RowsExtracted == 0 {
		s.log.Warn("the endpoint answered an empty listing twice: the table is emptied", zap.Int64("rows_removed", stored))
	}
	return nil
}

// dropNulls removes the null-valued keys of each record's _raw, in place.
func dropNulls(recs []schema.Record) error {
	for i := range recs {
		raw, err := rawjson.DropNulls(recs[i].Raw)
		if err != nil {
			return fmt.Errorf("record %d of the page: %w", i, err)
		}
		recs[i].Raw = raw
	}
	return nil
}

// protect applies a report's privacy rules to each record, in place: raw to
// its _raw, custom to its custom column (derived from _raw before).
func protect(recs []schema.Record, raw, custom *rawjson.Rules) error {
	if raw.Empty() && custom.Empty() {
		return nil
	}
	for i := range recs {
		out, err := raw.Apply(recs[i].Raw)
		if err != nil {
			return fmt.Errorf("record %d of the page: %w", i, err)
		}
		recs[i].Raw = out
		if recs[i].Custom != nil {
			if recs[i].Custom, err = custom.Apply(recs[i].Custom); err != nil {
				return fmt.Errorf("record %d of the page: custom fields: %w", i, err)
			}
		}
	}
	return nil
}
