package hooks

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/buildinfo"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schedule"
)

// StoreOptions opens cfg's database: its file, schema, migrations, lock
// timeout, DuckDB engine settings (memory_limit, when the config sets none,
// from the tables its jobs write: load.MemoryLimitFor) and compaction policy (a writer's Close
// compacts the file when it is due), for every load.Open of it (a reader
// and the writer of one process share one DuckDB instance, so their
// engine settings must agree). Callers add ReadOnly or a Logger.
func StoreOptions(cfg *config.Config) load.Options {
	d := cfg.DuckDB
	if d.MemoryLimit == "" {
		d.MemoryLimit = load.MemoryLimitFor(schedule.TablesWritten(cfg))
	}
	return load.Options{Path: cfg.Database, Schema: cfg.Schema, Migrations: closesync.SQL, LockTimeout: cfg.LockTimeout,
		Engine:     load.Engine{MemoryLimit: d.MemoryLimit, Threads: d.Threads, CheckpointThreshold: d.CheckpointThreshold, TempDirectory: d.TempDirectory},
		Compaction: load.Compaction{FreeRatio: d.CompactFreeRatio, MinSize: d.CompactMinBytes(), MinInterval: load.DefaultCompactMinInterval}}
}

// PublishParquet opens cfg's database (its engine settings apply, and it
// waits for the file's lock as a run does), writes it into
// cfg.Publish.Parquet (load.Store.PublishParquet: a sync.runs row with
// trigger publish, success or failure) and closes it. The database must
// not be open in this process.
func PublishParquet(ctx context.Context, cfg *config.Config, log *zap.Logger) (load.PublishResult, error) {
	opts := StoreOptions(cfg)
	opts.Logger = log
	opts.Compaction = load.Compaction{} // the runs' own close compacts when due
	store, err := load.Open(ctx, opts)
	if err != nil {
		return load.PublishResult{}, fmt.Errorf("publish parquet to %s: %w", cfg.Publish.Parquet, err)
	}
	r, err := store.PublishParquet(ctx, load.ParquetOptions{Dir: cfg.Publish.Parquet, PartitionAbove: int64(cfg.Publish.PartitionAbove),
		Views: cfg.Publish.Views, Generator: "closesync " + buildinfo.Read().Version})
	if cerr := store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
	}
	return r, err
}

// publishParquet is Closed's publish: logged, and on failure tried again
// after the next run that succeeds.
func (h *Hooks) publishParquet() {
	dir := h.cfg.Publish.Parquet
	r, err := PublishParquet(context.Background(), h.cfg, h.log)
	if err != nil {
		h.log.Error("parquet not published; the previous version stays", zap.String("dir", dir), zap.Error(err))
		h.unpublished.Store(true)
		return
	}
	h.log.Info("parquet published", zap.String("dir", dir), zap.Int64("run_id", r.Manifest.RunID),
		zap.Int("tables", len(r.Manifest.Tables)), zap.Int64("rows", r.Rows), zap.Int64("bytes", r.Bytes), zap.Duration("took", r.Duration))
}
