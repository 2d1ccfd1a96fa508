package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
)

// cmdCompact copies the database into a new file and renames it over the
// old one, which gives the free blocks back to the file system (DuckDB
// never shrinks a file). It is a sync.runs row with trigger compact. It
// needs no API key, and waits for the database file like a run does, then
// refuses (naming the process that holds it).
func cmdCompact(ctx context.Context, args []string, e *env) error {
	fs := newFlags("compact", "--config FILE", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFor(*cfgPath, config.Needs{}) // writes the database only: no API key needed
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		return fmt.Errorf("nothing to compact: database %s: %w", cfg.Database, err)
	}
	log, err := startLogger(cfg, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	opts := daemon.StoreOptions(cfg)
	opts.Logger = log
	opts.Compaction = load.Compaction{} // this command compacts once, whatever the policy
	store, err := load.Open(ctx, opts)
	if err != nil {
		return err
	}
	r, err := store.Compact(ctx)
	if cerr := store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", cerr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%-8s %s: %s -> %s (%.0f%% of it was free), %s\n", "compact", cfg.Database,
		mb(r.Before.Bytes), mb(r.After.Bytes), 100*r.Before.FreeRatio(), r.Duration.Round(time.Millisecond))
	return nil
}

// mb formats a file size in megabytes.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
