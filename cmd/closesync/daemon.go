package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/internal/daemon"
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
			h, err := newRunHooks(cfg, log, st)
			if err != nil {
				return nil, err
			}
			return daemonHooks{h}, nil
		},
		Open: func(ctx context.Context) (schedule.Store, func() error, error) {
			store, err := openStore(ctx, cfg, log)
			if err != nil {
				return nil, nil, err
			}
			return store, store.Close, nil
		},
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

// daemonHooks are the run hooks as the daemon calls them.
type daemonHooks struct{ h *runHooks }

func (d daemonHooks) Observe(trigger string, r schedule.Result) { d.h.observe(trigger, r) }
func (d daemonHooks) Closed()                                   { d.h.closed() }
func (d daemonHooks) Stop(ctx context.Context)                  { d.h.stop(ctx) }
func (d daemonHooks) WantsChanges() bool                        { return d.h.wantsChanges() }

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
