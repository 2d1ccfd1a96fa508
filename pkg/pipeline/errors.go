package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/closesync/closesync/pkg/closeapi"
)

// Stage is the part of a run an error came from.
type Stage string

// Stages.
const (
	// StageExtract is reading from the Close API (and telling the
	// account's organization).
	StageExtract Stage = "extract"
	// StageLoad is writing to the store: tables, batches, the run row.
	StageLoad Stage = "load"
	// StageStep is a declared step (deletes, reconcile, purge, views).
	StageStep Stage = "step"
)

// StageError is the error of a run, with the stage it failed in. Its text
// is Err's: the stage is for callers (errors.As) and logs, and the message
// stored in sync.runs reads as it always has.
type StageError struct {
	Stage  Stage
	Report string
	Err    error
}

func (e *StageError) Error() string { return e.Err.Error() }

func (e *StageError) Unwrap() error { return e.Err }

// Temporary reports whether running the report again unchanged may pass
// (see Temporary).
func (e *StageError) Temporary() bool { return Temporary(e.Err) }

// staged wraps err as a StageError of stage, unless it is nil or already
// carries a stage (an emit error that the walk wrapped keeps its own).
func staged(stage Stage, report string, err error) error {
	if err == nil {
		return nil
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: stage, Report: report, Err: err}
}

// StageOf is the stage err carries ("" when none).
func StageOf(err error) Stage {
	var se *StageError
	if errors.As(err, &se) {
		return se.Stage
	}
	return ""
}

// ErrConfig marks a run that failed on its configuration (the account or
// the table its mode needs cannot be set up): running it again unchanged
// fails the same way.
var ErrConfig = errors.New("configuration error")

// configError is a run's setup error, matching ErrConfig.
type configError struct{ err error }

func (e configError) Error() string        { return e.err.Error() }
func (e configError) Unwrap() error        { return e.err }
func (e configError) Is(target error) bool { return target == ErrConfig }

// Temporary reports whether a failed run may succeed when it runs again
// unchanged (a job-level retry). Permanent are a configuration error
// (ErrConfig) and a request Close rejected itself: a 4xx (401 key rejected,
// 402 plan, 403 forbidden, 404, a 400 other than max_skip or an expired
// cursor). Temporary are a 408, 429 or 5xx, a timeout or network failure
// (closeapi.Temporary, closeapi.Unreachable), a locked database file
// (load.ErrLocked), and an error nothing classifies (a database error): a
// later try may pass.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, ErrConfig) {
		return false
	}
	var ae *closeapi.APIError
	if !errors.As(err, &ae) {
		return true
	}
	return closeapi.Temporary(ae) || ae.Status == http.StatusRequestTimeout || ae.Status >= 500 ||
		errors.Is(ae, closeapi.ErrMaxSkip) || errors.Is(ae, closeapi.ErrCursorExpired)
}

// namedDeadline names the deadline that ended ctx (a job's timeout) in err,
// rather than a bare "context deadline exceeded".
func namedDeadline(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// Identity, not errors.Is: a cause set by WithTimeoutCause (such as
		// schedule.TimeoutError) matches context.DeadlineExceeded too, and
		// it is the one to name.
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() { //nolint:errorlint // identity on purpose, see above
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}
