package main

import (
	"context"
	"io"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/internal/logging"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schedule"
)

// observer shows a sync's runs while they go. On a terminal it is bars
// (a line per running report); otherwise noObserver, and the only output
// is the line each report's result prints as it finishes.
type observer interface {
	// started: a report's run has begun; the watch it returns sees the
	// run's requests.
	started(job, report string) *closeapi.Watch
	// read: the run read a page of records.
	read(job, report string, records, page int)
	// ended: the run's result is about to be printed.
	ended(job, report string)
	// lockWait: the database file is locked by another process; opened:
	// it is open (any wait is over).
	lockWait(w load.LockWait)
	opened()
	// out is where lines go while the observer shows (above its bars).
	out() io.Writer
	// stop removes what the observer shows; out is then stdout again.
	stop()
}

// noObserver shows nothing: lines go straight to w.
type noObserver struct{ w io.Writer }

func (noObserver) started(string, string) *closeapi.Watch { return nil }
func (noObserver) read(string, string, int, int)          {}
func (noObserver) ended(string, string)                   {}
func (noObserver) lockWait(load.LockWait)                 {}
func (noObserver) opened()                                {}
func (o noObserver) out() io.Writer                       { return o.w }
func (noObserver) stop()                                  {}

// showsBars reports whether a sync draws bars: when stdout is a terminal
// and TERM is not dumb.
func showsBars(e *env) bool {
	return logging.IsTerminal(e.stdout) && e.getenv("TERM") != "dumb"
}

// routedLogs is e with its stderr routable above the bars, when the bars
// are shown and stderr is a terminal too; else e as it is (stderr stays
// the file itself, so journald's stream is still recognised) and nil.
func routedLogs(e *env) (*env, *logging.Routed) {
	if !showsBars(e) || !logging.IsTerminal(e.stderr) {
		return e, nil
	}
	logs := logging.NewRouted(e.stderr)
	le := *e
	le.stderr = logs
	return &le, logs
}

// newObserver returns bars when showsBars, noObserver otherwise. logs,
// when not nil, is routed above the bars while they are shown.
func newObserver(e *env, logs *logging.Routed) observer {
	if !showsBars(e) {
		return noObserver{w: e.stdout}
	}
	return newBars(e.stdout, logs)
}

// watch is the pipeline's view of o.
func watch(o observer) pipeline.Watch {
	return pipeline.Watch{Started: o.started, Read: o.read}
}

// observedOpener is opener, telling o of the waits for the file's lock.
func observedOpener(cfg *config.Config, log *zap.Logger, o observer) schedule.Opener {
	return func(ctx context.Context) (schedule.Store, func() error, error) {
		opts := daemon.StoreOptions(cfg)
		opts.Logger = log
		opts.OnLockWait = o.lockWait
		store, err := load.Open(ctx, opts)
		o.opened()
		if err != nil {
			return nil, nil, err
		}
		return store, store.Close, nil
	}
}
