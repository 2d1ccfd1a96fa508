package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

// PlanFunc estimates a run of a report without extracting anything
// (extract.PlanRun with an account's client).
type PlanFunc func(ctx context.Context, req extract.Request) (extract.Plan, error)

// Verdict is what a verify run concluded of one report.
type Verdict string

// Verdicts.
const (
	// Equal: the database's live rows are as many as Close counts.
	Equal Verdict = "equal"
	// Behind: Close counts more, and no more than it changed after the
	// newest change the database holds: the next sync reads them.
	Behind Verdict = "behind"
	// Differs: a difference the changes since the last sync do not
	// explain (rows deleted or lost on one side): the run fails.
	Differs Verdict = "differs"
	// Unverifiable: Close gives no count and the ids cannot be listed.
	Unverifiable Verdict = "unverifiable"
)

// Verification is what a verify run found for one report.
type Verification struct {
	Verdict Verdict
	// Stored is the organization's live rows in the database.
	Stored load.Tally
	// Close is Close's count of the report's objects (from start_date);
	// -1 when unknown.
	Close int64
	// CloseNewest is the newest date_updated Close listed; zero when the
	// count came without a listing.
	CloseNewest time.Time
	// Pending is how many records Close changed after the newest change
	// the database holds (-1 unknown), which the next sync reads: the
	// difference a verify tolerates.
	Pending int64
	// How says where Close's count came from, or why there is none.
	How string
}

// Difference is Close's count less the database's live rows (meaningless
// while Close is unknown).
func (v *Verification) Difference() int64 { return v.Close - v.Stored.Rows }

// ErrDiffers marks a verify run that found a difference.
var ErrDiffers = errors.New("the database differs from Close")

// RunVerify compares, per report of the job, the organization's live rows
// in the database with Close's own count: total_results or the one page
// there is where Close answers one (the dry run's probes, with no bookmark),
// else a listing of every id as reconcile reads it. A report whose count
// differs by more than Close changed since the file's newest change (by
// the field its incremental reads filter on) fails its run, a
// sync.runs row with trigger verify, whose error gives both counts;
// nothing of the report's table is written.
func (r *Runner) RunVerify(ctx context.Context, job Job) []Result {
	return r.eachReport(ctx, job, runlog.Verify, job.Reports, func(ctx context.Context, rr ReportRun) Result {
		res := r.verify(ctx, job, rr)
		if res.ID != 0 {
			r.Watch.ended(res)
		}
		return res
	})
}

func (r *Runner) verify(ctx context.Context, job Job, rr ReportRun) Result {
	s, ok := r.begin(ctx, job, rr, runlog.Verify)
	if !ok {
		return s.res
	}
	v := &Verification{Close: -1, Pending: -1}
	s.res.Verification = v
	r.finish(ctx, s, s.do(ctx, func(ctx context.Context, s *run) error {
		return r.compare(ctx, s, v)
	}))
	fields := []zap.Field{zap.String("status", string(s.res.Status)), zap.String("verdict", string(v.Verdict)),
		zap.Int64("stored", v.Stored.Rows), zap.Int64("close", v.Close), zap.String("how", v.How), zap.Int64("requests", s.res.Requests)}
	if s.res.Err != nil {
		s.log.Error("verify finished", append(fields, zap.Error(s.res.Err))...)
	} else {
		s.log.Info("verify finished", fields...)
	}
	return s.res
}

// compare fills v for the run s and returns ErrDiffers (wrapped, with the
// figures) when the report differs.
func (r *Runner) compare(ctx context.Context, s *run, v *Verification) error {
	if s.orgErr != nil {
		return &StageError{Stage: StageExtract, Report: s.rr.Report.Name, Err: s.orgErr}
	}
	rep := s.rr.Report
	if err := awaitTurn(ctx); err != nil {
		return staged(StageExtract, rep.Name, err)
	}
	stored, err := r.Store.Tally(ctx, rep.Table, s.org, rep.Strategy.Field)
	if err != nil {
		return &StageError{Stage: StageLoad, Report: rep.Name, Err: err}
	}
	v.Stored = stored
	req := extract.Request{Report: rep, StartDate: s.job.StartDate, Params: s.job.Params, Now: s.res.StartedAt,
		Warn: func(msg string) { s.log.Warn(msg) }}
	var plan PlanFunc
	why := "Close gives no count of it and its ids cannot be listed"
	if r.Plan != nil {
		if plan, err = r.Plan(s.job.Account); err != nil {
			return &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
		}
		p, err := plan(ctx, req)
		if err != nil {
			return &StageError{Stage: StageExtract, Report: rep.Name, Err: fmt.Errorf("count: %w", err)}
		}
		if p.Records >= 0 && !p.Approx {
			v.Close, v.How = int64(p.Records), "counted"
		} else if p.Note != "" {
			why = p.Note
		}
	}
	if v.Close < 0 && rep.Reconcilable() {
		n, newest, err := r.listAll(ctx, s, req)
		if err != nil {
			return err
		}
		v.Close, v.CloseNewest, v.How = n, newest, "listed ids"
	}
	switch {
	case v.Close < 0:
		v.Verdict, v.How = Unverifiable, why
		return nil
	case v.Close == stored.Rows:
		v.Verdict = Equal
		return nil
	}
	// What Close changed after the newest change the file holds (the
	// field the report's incremental reads filter on), which the next
	// sync reads; without one, since the bookmark (its overlap included).
	if plan != nil && rep.Method == extract.Incremental {
		if !stored.Newest.IsZero() {
			req.Since = stored.Newest.Add(time.Second)
		} else {
			bm, ok, err := r.Store.Bookmark(ctx, s.job.Account, s.org, rep.Name)
			if err != nil {
				return &StageError{Stage: StageLoad, Report: rep.Name, Err: err}
			}
			req.Bookmark = bm
			if !ok {
				req.Since = s.res.StartedAt // no bookmark: nothing is pending
			}
		}
		p, err := plan(ctx, req)
		if err != nil {
			return &StageError{Stage: StageExtract, Report: rep.Name, Err: fmt.Errorf("count the changes since the last sync: %w", err)}
		}
		v.Pending = int64(p.Records)
	}
	if diff := v.Difference(); diff > 0 && v.Pending >= diff {
		v.Verdict = Behind
		return nil
	}
	v.Verdict = Differs
	pending := "unknown"
	if v.Pending >= 0 {
		pending = fmt.Sprint(v.Pending)
	}
	return &StageError{Stage: StageStep, Report: rep.Name, Err: fmt.Errorf("%w: %s: %d live rows, Close has %d (%s); changed in Close since the last sync: %s",
		ErrDiffers, rep.Name, stored.Rows, v.Close, v.How, pending)}
}

// listAll lists every id of the report as reconcile does and returns how
// many there are and the newest value of the table's Order field among
// them, when the listing carries it.
func (r *Runner) listAll(ctx context.Context, s *run, req extract.Request) (int64, time.Time, error) {
	rep := s.rr.Report
	ext, err := r.Extract(s.job.Account)
	if err != nil {
		return 0, time.Time{}, &StageError{Stage: StageExtract, Report: rep.Name, Err: err}
	}
	req.IDsOnly = true
	seen := map[string]bool{}
	var newest time.Time
	order := rep.Table.Order
	err = ext(ctx, req, func(b extract.Batch) error {
		ids, err := extract.RecordIDs(rep, b)
		if err != nil {
			return err
		}
		for i, id := range ids {
			seen[id] = true // a keyset restart reads its boundary twice
			if order == "" {
				continue
			}
			var rec map[string]json.RawMessage
			if json.Unmarshal(b.Records[i].Raw, &rec) != nil {
				continue
			}
			var at time.Time
			if json.Unmarshal(rec[order], &at) == nil && at.After(newest) {
				newest = at.UTC()
			}
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, &StageError{Stage: StageExtract, Report: rep.Name, Err: fmt.Errorf("list ids: %w", err)}
	}
	return int64(len(seen)), newest, nil
}
