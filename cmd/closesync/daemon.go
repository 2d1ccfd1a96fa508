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

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
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
	pool.OnResult = func(r pipeline.Result) {
		sds.observe(r)
		current.Load().observe(r)
	}
	pool.SetCollectChanges(hooks.wantsChanges())
	var obs apiObserver // nil unless the status endpoint is on
	if st != nil {
		obs = st
	}
	// One registry for the process: every reload's clients share each
	// key's rate budget with the clients they replace.
	budgets := closeapi.NewBudgets()
	sched, err := buildScheduler(cfg, pool, budgets, log, obs, sds)
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
			next, nextHooks, err := reload(*cfgPath, pool, budgets, log, st, obs, sds)
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
func reload(path string, pool *schedule.Pool, budgets *closeapi.Budgets, log *zap.Logger, st *status.Status, obs apiObserver, sds *sdStatus) (*schedule.Scheduler, *runHooks, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	sched, err := buildScheduler(cfg, pool, budgets, log, obs, sds)
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
func buildScheduler(cfg *config.Config, pool *schedule.Pool, budgets *closeapi.Budgets, log *zap.Logger, obs apiObserver, sds *sdStatus) (*schedule.Scheduler, error) {
	jobs, err := resolveJobs(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	cs, err := newClients(cfg, budgets, log, obs)
	if err != nil {
		return nil, err
	}
	cs.withOrganizations(jobs)
	byName := map[string]config.Job{}
	for _, j := range cfg.Jobs {
		byName[j.Name] = j
	}
	var sj []schedule.ScheduledJob
	for _, j := range jobs {
		c := byName[j.Name]
		var loc *time.Location
		if c.Timezone != "" {
			if loc, err = time.LoadLocation(c.Timezone); err != nil {
				return nil, usagef("jobs %s: timezone: %v", j.Name, err)
			}
		}
		// A report with a schedule of its own runs as its own entry; the job's
		// entry keeps the rest.
		own := reportSchedules(c)
		main := j
		main.Reports = nil
		for _, rr := range j.Reports {
			spec, ok := own[rr.Report.Name]
			if !ok {
				main.Reports = append(main.Reports, rr)
				continue
			}
			one := j
			one.Reports = []pipeline.ReportRun{rr}
			sj = append(sj, schedule.ScheduledJob{Job: one, Schedule: spec, Location: loc, Timeout: c.Timeout, Entry: j.Name + "/" + rr.Report.Name,
				RunOnStart: c.RunOnStart, CatchUp: c.CatchesUp(), Retry: retryOf(c)})
		}
		if len(main.Reports) > 0 {
			sj = append(sj, schedule.ScheduledJob{Job: main, Schedule: c.Schedule, Location: loc, Timeout: c.Timeout,
				RunOnStart: c.RunOnStart, CatchUp: c.CatchesUp(), Retry: retryOf(c)})
		}
		if c.Reconcile != "" {
			sj = append(sj, schedule.ScheduledJob{Job: j, Schedule: c.Reconcile, Location: loc, Timeout: c.Timeout,
				Entry: j.Name + "/reconcile", Reconcile: true})
		}
	}
	s, err := schedule.NewScheduler(pool, sj, sds.wrap(cs.extractor))
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

func retryOf(j config.Job) schedule.Retry {
	r := schedule.Retry{Attempts: j.Retry.Attempts, Delay: j.Retry.Delay}
	if r.Delay == 0 {
		r.Delay = config.DefaultRetryDelay
	}
	return r
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
	err := r.s.RunNow(job, runlog.Manual)
	switch {
	case errors.Is(err, schedule.ErrRunning):
		return status.ErrBusy
	case errors.Is(err, schedule.ErrNoJob):
		return status.ErrUnknown
	}
	return err
}

// reportSchedules maps each report of the job that has its own schedule
// (by the name of the report actually run: a child report's parent) to it.
func reportSchedules(j config.Job) map[string]string {
	out := map[string]string{}
	for _, ref := range j.Reports {
		if ref.Schedule == "" {
			continue
		}
		if rep, ok := extract.Lookup(ref.Name); ok {
			out[extract.Root(rep).Name] = ref.Schedule
		}
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
