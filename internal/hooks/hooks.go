// Package hooks is what follows every finished report run, in the daemon
// and in closesync sync alike: the status endpoint, webhook notifications,
// and the snapshot and Parquet files published once the database is closed.
package hooks

import (
	"context"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/notify"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
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
	// unpublished: a run succeeded since the last Parquet publish.
	unpublished atomic.Bool
	cfg         *config.Config
}

// New builds the hooks of cfg; st is nil without the status endpoint. A bad
// notify config is a usage error (schedule.ErrUsage).
func New(cfg *config.Config, log *zap.Logger, st *status.Status) (*Hooks, error) {
	h := &Hooks{log: log, status: st, database: cfg.Database, snapshot: cfg.Snapshot, cfg: cfg}
	if cfg.Notify.URL != "" {
		n, err := notify.New(cfg.Notify, log, nil)
		if err != nil {
			return nil, schedule.Usage(fmt.Errorf("notify: %w", err))
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
func (h *Hooks) Observe(r pipeline.Result) {
	if r.Status == runlog.Success {
		h.wrote.Store(true)
		// A verification writes no row of a table: nothing to publish.
		if r.Trigger != runlog.Verify {
			h.unpublished.Store(true)
		}
	}
	if h.status != nil {
		h.status.Observe(r.Run)
		if v := r.Verification; v != nil {
			h.status.Verified(r.Run, v.Close >= 0, v.Difference())
		}
	}
	if h.notifier != nil {
		h.notifier.Notify(r.Run, notify.Changes{Created: r.Changes.Created, Updated: r.Changes.Updated, Deleted: r.Deletions})
		var recorded []notify.SchemaChange
		for _, c := range r.SchemaChanges {
			if c.New {
				recorded = append(recorded, notify.SchemaChange{Change: c.Change, FieldID: c.FieldID, Name: c.Name,
					ObjectType: c.ObjectType, Views: append([]string{}, c.Views...), Previous: c.Previous, Current: c.Current})
			}
		}
		h.notifier.NotifySchema(r.Run, recorded)
	}
}

// Closed runs after the database file is closed (checkpointed): it
// publishes the Parquet files (publish.parquet) and the snapshot if a run
// succeeded since the last of each. Runs wait for it: the database is
// opened again only once it returns.
func (h *Hooks) Closed() {
	if h.cfg.Publish.Parquet != "" && h.unpublished.Swap(false) {
		h.publishParquet()
	}
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
