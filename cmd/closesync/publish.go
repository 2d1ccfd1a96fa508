package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/pkg/config"
)

// cmdPublish writes the database into publish.parquet now, as the runs do
// after they succeed: a sync.runs row with trigger publish. It needs no API
// key, and waits for the database file like a run does.
func cmdPublish(ctx context.Context, args []string, e *env) error {
	fs := newFlags("publish", "--config FILE", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFor(*cfgPath, config.Needs{}) // reads the database only: no API key needed
	if err != nil {
		return err
	}
	if cfg.Publish.Parquet == "" {
		return usageError{errors.New("nothing to publish to: set publish.parquet in the config (README \"Open files for the lakehouse\")")}
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		return fmt.Errorf("nothing to publish: database %s: %w", cfg.Database, err)
	}
	log, err := startLogger(cfg, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	r, err := hooks.PublishParquet(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%-8s %s: %d tables, %d rows, %s, run %d, %s\n", "publish", cfg.Publish.Parquet,
		len(r.Manifest.Tables), r.Rows, mb(r.Bytes), r.Manifest.RunID, r.Duration.Round(time.Millisecond))
	return nil
}
