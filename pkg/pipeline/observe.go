package pipeline

import (
	"github.com/closesync/closesync/pkg/closeapi"
)

// Watch is told how a Runner's report runs go, for a progress display and
// for printing each result as it comes. Every func may be nil. They are
// called from the runs' goroutines, several at once when a job's reports
// run concurrently, and must not block for long.
type Watch struct {
	// Started: a report's run has begun (its sync.runs row is written).
	// The closeapi.Watch it returns (nil: none) is told what the run's
	// requests wait for and which pages they read.
	Started func(job, report string) *closeapi.Watch
	// Read: the walk read page (1-based) of the run, with records records
	// of the report (what its listing returned, before child rows).
	Read func(job, report string, records, page int)
	// Ended: a run that began (RunReport's or a reconcile's) has ended,
	// with its result; a run another led to (a widened start_date's
	// backfill, a full refresh's reconcile) is told in its Followup, once
	// both have ended. The results RunJob and the
	// others return include it again; runs that never began (cancelled
	// before their turn, skipped, a run row that could not be written) are
	// only there.
	Ended func(Result)
}

func (w Watch) started(job, report string) *closeapi.Watch {
	if w.Started == nil {
		return nil
	}
	return w.Started(job, report)
}

func (w Watch) read(job, report string, records, page int) {
	if w.Read != nil {
		w.Read(job, report, records, page)
	}
}

func (w Watch) ended(res Result) {
	if w.Ended != nil {
		w.Ended(res)
	}
}
