package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/status"
)

func init() {
	commands = append([]command{{"run", "run the daemon: every job on its schedule until SIGTERM; SIGHUP reloads", cmdRun}}, commands...)
}

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
	// What follows each run (status, notifications, snapshot) is rebuilt on
	// reload; runs in progress use the generation current when they end.
	var st *status.Status
	if cfg.HTTP.Listen != "" {
		st = status.New()
	}
	hooks, err := newRunHooks(cfg, log, st)
	if err != nil {
		return err
	}
	var current atomic.Pointer[runHooks]
	current.Store(hooks)
	pool := schedule.NewPool(func(ctx context.Context) (schedule.Store, func() error, error) {
		store, err := openStore(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		return store, func() error {
			if err := store.Close(); err != nil {
				return err
			}
			current.Load().closed()
			return nil
		}, nil
	}, log)
	sds := newSDStatus(cfg, pool, log)
	pool.OnResult = func(trigger string, r schedule.Result) {
		sds.observe(r)
		current.Load().observe(trigger, r)
	}
	pool.SetCollectChanges(hooks.wantsChanges())
	var obs apiObserver // nil unless the status endpoint is on
	if st != nil {
		obs = st
	}
	sched, err := buildScheduler(cfg, pool, log, obs, sds)
	if err != nil {
		return err
	}
	if st != nil {
		st.SetRunNower(runNower{sched})
		srv, err := serveStatus(cfg.HTTP.Listen, st, log)
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}()
	}
	sched.Start()
	sched.Startup(time.Now())
	sds.update()
	sdNotify(log, daemon.SdNotifyReady)
	log.Info("closesync started", zap.String("config", *cfgPath), zap.Int("jobs", len(cfg.Jobs)))

	// With WatchdogSec= set, systemd restarts the service unless pinged
	// within the interval: ping at half of it from this loop, which also
	// serves signals, so a wedged loop stops the pings.
	var watchdog <-chan time.Time
	if iv, err := daemon.SdWatchdogEnabled(false); err != nil {
		log.Warn("watchdog settings unreadable", zap.Error(err))
	} else if iv > 0 {
		t := time.NewTicker(iv / 2)
		defer t.Stop()
		watchdog = t.C
		log.Info("systemd watchdog enabled", zap.Duration("interval", iv))
	}

	// STATUS= names the next run; refresh it as time passes.
	statusTick := time.NewTicker(30 * time.Second)
	defer statusTick.Stop()
	for {
		select {
		case <-statusTick.C:
			sds.update()
		case <-watchdog:
			sdNotify(log, daemon.SdNotifyWatchdog)
		case <-ctx.Done():
			forceExitOnSecondSignal(log)
			sdNotify(log, daemon.SdNotifyStopping)
			sds.stopping()
			grace := cfg.StopGrace
			if grace == 0 {
				grace = config.DefaultStopGrace
			}
			log.Info("stopping: cancelling runs at the next batch boundary", zap.Duration("grace", grace))
			sched.Stop()
			if err := pool.Stop(grace); err != nil {
				log.Error("stop", zap.Error(err))
				return err
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			current.Load().stop(stopCtx)
			cancel()
			log.Info("stopped")
			return nil
		case <-hup:
			sdNotify(log, daemon.SdNotifyReloading)
			next, nextHooks, err := reload(*cfgPath, pool, log, st, obs, sds)
			if err != nil {
				log.Error("reload failed: keeping the running config", zap.String("config", *cfgPath), zap.Error(err))
			} else {
				sched.Stop()
				sched = next
				sched.Start()
				old := current.Swap(nextHooks)
				pool.SetCollectChanges(nextHooks.wantsChanges())
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					old.stop(ctx)
				}()
				if st != nil {
					st.SetRunNower(runNower{sched})
				}
				log.Info("config reloaded", zap.String("config", *cfgPath))
			}
			if st != nil {
				st.Reloaded(err == nil)
			}
			sdNotify(log, daemon.SdNotifyReady)
		}
	}
}

// reload loads and validates the config and builds its scheduler; on any
// error the caller keeps the running one.
func reload(path string, pool *schedule.Pool, log *zap.Logger, st *status.Status, obs apiObserver, sds *sdStatus) (*schedule.Scheduler, *runHooks, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	sched, err := buildScheduler(cfg, pool, log, obs, sds)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := newRunHooks(cfg, log, st)
	if err != nil {
		return nil, nil, err
	}
	sds.setConfig(cfg)
	return sched, hooks, nil
}

// forceExitOnSecondSignal makes a second SIGTERM or SIGINT, while runs stop
// at a batch boundary, exit at once. Nothing is corrupted: the batch in
// progress is a DuckDB transaction that is rolled back, and the next start
// marks the interrupted runs failed and resumes from their bookmarks.
func forceExitOnSecondSignal(log *zap.Logger) {
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, os.Interrupt)
	go func() {
		sig := <-again
		log.Warn("second signal: exiting now; the batch in progress is rolled back", zap.String("signal", sig.String()))
		log.Sync()
		os.Exit(exitFailed)
	}()
}

// buildScheduler builds the config's scheduler; sds (STATUS=) sees each
// report start.
func buildScheduler(cfg *config.Config, pool *schedule.Pool, log *zap.Logger, obs apiObserver, sds *sdStatus) (*schedule.Scheduler, error) {
	jobs, err := resolveJobs(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	cs, err := newClients(cfg, log, obs)
	if err != nil {
		return nil, err
	}
	cs.withOrganizations(jobs)
	sj, err := schedule.Build(cfg, jobs)
	if err != nil {
		return nil, err
	}
	s, err := schedule.NewScheduler(pool, sj, sds.wrap(cs.extractor))
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// serveStatus listens on addr and serves the status endpoint until the
// returned server is shut down.
func serveStatus(addr string, st *status.Status, log *zap.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status endpoint stopped", zap.Error(err))
		}
	}()
	log.Info("status endpoint listening", zap.String("addr", ln.Addr().String()))
	return srv, nil
}

// runNower lets POST /jobs/{name}/run start a job of the current scheduler.
type runNower struct{ s *schedule.Scheduler }

func (r runNower) RunNow(job string) error {
	err := r.s.RunNow(job, schedule.TriggerManual)
	switch {
	case errors.Is(err, schedule.ErrRunning):
		return status.ErrBusy
	case errors.Is(err, schedule.ErrNoJob):
		return status.ErrUnknown
	}
	return err
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

// sdNotify tells systemd about a state change; without NOTIFY_SOCKET it does
// nothing.
func sdNotify(log *zap.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify", zap.String("state", state), zap.Error(fmt.Errorf("%w", err)))
	}
}
