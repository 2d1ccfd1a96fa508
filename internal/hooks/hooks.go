// Package hooks is what follows every finished report run, in the daemon
// and in closesync sync alike: the status endpoint, webhook notifications,
// and the snapshot published once the database is closed.
package hooks

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/notify"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/status"
)

// Hooks is what follows every finished report run of one config.
type Hooks struct {
	log      *zap.Logger
	status   *status.Status   // nil: no status endpoint
	notifier *notify.Notifier // nil: notifications off
	database string
	snapshot string      // empty: off
	wrote    atomic.Bool // a run succeeded since the last snapshot
	cfg      *config.Config
}

// New builds the hooks of cfg; st is nil without the status endpoint. A bad
// notify config is a usage error (schedule.ErrUsage).
func New(cfg *config.Config, log *zap.Logger, st *status.Status) (*Hooks, error) {
	h := &Hooks{log: log, status: st, database: cfg.Database, snapshot: cfg.Snapshot, cfg: cfg}
	if cfg.Notify.URL != "" {
		n, err := notify.New(cfg.Notify, log, nil)
		if err != nil {
			return nil, schedule.Usage(fmt.Errorf("notify: %v", err))
		}
		h.notifier = n
	}
	return h, nil
}

// WantsChanges reports whether runs must collect the keys they change.
func (h *Hooks) WantsChanges() bool {
	if h.notifier == nil {
		return false
	}
	for _, on := range h.cfg.Notify.On {
		if on == notify.OnChanges {
			return true
		}
	}
	return false
}

// Observe records a finished report run.
func (h *Hooks) Observe(trigger string, r schedule.Result) {
	if r.Status == load.StatusSuccess {
		h.wrote.Store(true)
	}
	if h.status != nil {
		h.status.Observe(statusRun(trigger, r))
	}
	if h.notifier != nil {
		s := notify.Summary{RunID: r.RunID, Job: r.Job, Report: r.Report, Account: r.Account, Trigger: trigger, Status: r.Status,
			StartedAt: r.Started, FinishedAt: r.Started.Add(r.Duration), RowsExtracted: r.Extract, RowsUpserted: r.Rows,
			RowsDeleted: r.Deleted, Requests: r.Requests, Retries: r.Retries}
		if r.Err != nil {
			s.Error = r.Err.Error()
		}
		h.notifier.Notify(s, notify.Changes{Created: r.Changes.Created, Updated: r.Changes.Updated, Deleted: r.Deletions})
	}
}

// Closed runs after the database file is closed (checkpointed): it
// publishes the snapshot if a run succeeded since the last one.
func (h *Hooks) Closed() {
	if h.snapshot == "" || !h.wrote.Swap(false) {
		return
	}
	if err := load.PublishSnapshot(h.database, h.snapshot); err != nil {
		h.log.Error("snapshot not published", zap.String("snapshot", h.snapshot), zap.Error(err))
		h.wrote.Store(true) // try again after the next run
		return
	}
	h.log.Info("snapshot published", zap.String("snapshot", h.snapshot))
}

// Stop delivers pending notifications until ctx ends.
func (h *Hooks) Stop(ctx context.Context) {
	if h.notifier == nil {
		return
	}
	if err := h.notifier.Close(ctx); err != nil {
		h.log.Warn("notifications not delivered before exit", zap.Error(err))
	}
}

func statusRun(trigger string, r schedule.Result) status.Run {
	out := status.Run{RunID: r.RunID, Job: r.Job, Report: r.Report, Trigger: trigger, Status: r.Status, Started: r.Started,
		Duration: r.Duration.Seconds(), Rows: r.Rows, Extract: r.Extract, Deleted: r.Deleted, Requests: r.Requests, Retries: r.Retries}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	if t, err := time.Parse(time.RFC3339Nano, r.Bookmark); err == nil && !t.IsZero() {
		out.Bookmark = &t
	}
	return out
}
