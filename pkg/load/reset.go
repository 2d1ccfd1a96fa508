package load

import (
	"context"
	"errors"
	"fmt"

	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// ResetError is the error of a reset that was recorded as a failed run.
type ResetError struct{ Err error }

func (e *ResetError) Error() string { return e.Err.Error() }
func (e *ResetError) Unwrap() error { return e.Err }

// ResetRun forgets an account's state of a report (ResetReport) as a run of
// its own in sync.runs (info names job, report, account and trigger): the
// rows dropped are the run's deleted rows. A reset that fails is recorded
// as a failed run and its error is a *ResetError; other errors are the run
// record's.
func (s *Store) ResetRun(ctx context.Context, info RunInfo, t schema.Table, drop bool) (Reset, error) {
	id, err := s.BeginRun(ctx, info)
	if err != nil {
		return Reset{}, err
	}
	r, err := s.ResetReport(ctx, info.Account, info.Report, t, drop)
	if err != nil {
		if ferr := s.FinishRun(ctx, id, runlog.Failed, Counters{}, err.Error()); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return r, &ResetError{Err: err}
	}
	var total int64
	for _, d := range r.Dropped {
		total += d.Rows
	}
	if total > 0 {
		if err := s.AddDeleted(ctx, id, total); err != nil {
			return r, fmt.Errorf("record the rows dropped by reset %s/%s: %w", info.Job, info.Report, err)
		}
	}
	return r, s.FinishRun(ctx, id, runlog.Success, Counters{}, "")
}
