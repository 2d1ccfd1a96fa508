package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/status"
)

func cmdRun(ctx context.Context, args []string, e *env) error {
	fs := newFlags("run", "--config FILE", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Register SIGHUP before anything slow, so an early reload is not lost
	// (and does not kill the process with the default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log, err := startLogger(cfg, e)
	if err != nil {
		return err
	}
	defer log.Sync()
	return daemon.Run(ctx, daemon.Options{
		Path: *cfgPath, Config: cfg, Log: log, Hangup: hup, Load: loadConfig,
		Hooks: func(cfg *config.Config, st *status.Status) (daemon.Hooks, error) {
			return hooks.New(cfg, log, st)
		},
		Open: opener(cfg, log),
		Extractors: func(cfg *config.Config, obs daemon.APIObserver, jobs []schedule.Job) (func(string) (schedule.ExtractFunc, error), error) {
			cs, err := accounts.New(cfg, log, obs)
			if err != nil {
				return nil, err
			}
			cs.WithOrganizations(jobs)
			return cs.Extractor, nil
		},
		Exit: func() { os.Exit(exitFailed) },
	})
}
