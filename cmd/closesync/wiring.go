package main

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/internal/logging"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/privacy"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/schema"
)

// loadConfig loads and validates the config of a command that calls Close
// (every account's key must be readable); any problem is a usage error
// (exit 2) listing every problem with its key path.
func loadConfig(path string) (*config.Config, error) {
	return loadConfigFor(path, config.Needs{Keys: true})
}

// loadConfigFor is loadConfig for a command that needs what needs says
// (history and offline validate need no key).
func loadConfigFor(path string, needs config.Needs) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config is required")
	}
	// Unknown keys, wrong types and bad values, all in one pass.
	needs.CheckField = checkPrivacyField
	needs.CheckHistory = func(report, mode string) string {
		rep, ok := extract.Lookup(report)
		if !ok {
			return ""
		}
		root := extract.Root(rep)
		if m, err := schema.ParseWriteMode(root.DefaultMode.String()); mode == "" && (err != nil || m != schema.Upsert) {
			return fmt.Sprintf("its mode is %s by default: set mode: upsert", root.DefaultMode)
		}
		return load.HistoryProblem(root.Table)
	}
	cfg, err := config.Check(path, extract.Names(), needs)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// newLogger is logging.New on the command's stderr; a bad level is a
// usage error.
func newLogger(level, format string, e *env) (*zap.Logger, error) {
	log, err := logging.New(level, format, e.stderr, e.getenv)
	if err != nil {
		return nil, usageError{err}
	}
	return log, nil
}

// startLogger builds the logger the config asks for and logs the config's
// warnings with it. The caller syncs it.
func startLogger(cfg *config.Config, e *env) (*zap.Logger, error) {
	log, err := newLogger(cfg.Log.Level, cfg.Log.Format, e)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	return log, nil
}

// The DuckDB store is what the scheduler and the pipeline run against.
var _ schedule.Store = (*load.Store)(nil)

func openStore(ctx context.Context, cfg *config.Config, log *zap.Logger) (*load.Store, error) {
	opts := daemon.StoreOptions(cfg)
	opts.Logger = log
	return load.Open(ctx, opts)
}

// opener opens the database for a run; its close func closes it.
func opener(cfg *config.Config, log *zap.Logger) schedule.Opener {
	return func(ctx context.Context) (schedule.Store, func() error, error) {
		store, err := openStore(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		return store, store.Close, nil
	}
}

// checkPrivacyField checks a report's exclude or hash entry against the
// report's table (privacy.Check).
func checkPrivacyField(report, field string, hash bool) string {
	rep, ok := extract.Lookup(report)
	if !ok {
		return ""
	}
	return privacy.Check(extract.Root(rep), field, hash)
}
