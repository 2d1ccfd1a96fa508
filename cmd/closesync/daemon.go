package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/closesync/closesync/internal/daemon"
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
		Open: opener(cfg, log),
		Exit: func() { os.Exit(exitFailed) },
	})
}
