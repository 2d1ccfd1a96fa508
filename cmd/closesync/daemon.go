package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/status"
)

// stopGrace bounds the wait for runs to stop at a batch boundary after
// SIGTERM; it stays below the unit's TimeoutStopSec.
const stopGrace = 30 * time.Second

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
	pool := schedule.NewPool(func(ctx context.Context) (schedule.Store, func() error, error) {
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}, log)
	sched, err := buildScheduler(cfg, pool, log)
	if err != nil {
		return err
	}
	var st *status.Status
	if cfg.HTTP.Listen != "" {
		st = status.New()
		pool.OnResult = func(trigger string, r schedule.Result) { st.Observe(statusRun(trigger, r)) }
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
	notify(log, daemon.SdNotifyReady)
	log.Info("closesync started", zap.String("config", *cfgPath), zap.Int("jobs", len(cfg.Jobs)))

	for {
		select {
		case <-ctx.Done():
			notify(log, daemon.SdNotifyStopping)
			log.Info("stopping: cancelling runs at the next batch boundary", zap.Duration("grace", stopGrace))
			sched.Stop()
			if err := pool.Stop(stopGrace); err != nil {
				log.Error("stop", zap.Error(err))
				return err
			}
			log.Info("stopped")
			return nil
		case <-hup:
			notify(log, daemon.SdNotifyReloading)
			next, err := reload(*cfgPath, pool, log)
			if err != nil {
				log.Error("reload failed: keeping the running config", zap.String("config", *cfgPath), zap.Error(err))
			} else {
				sched.Stop()
				sched = next
				sched.Start()
				if st != nil {
					st.SetRunNower(runNower{sched})
				}
				log.Info("config reloaded", zap.String("config", *cfgPath))
			}
			if st != nil {
				st.Reloaded(err == nil)
			}
			notify(log, daemon.SdNotifyReady)
		}
	}
}

// reload loads and validates the config and builds its scheduler; on any
// error the caller keeps the running one.
func reload(path string, pool *schedule.Pool, log *zap.Logger) (*schedule.Scheduler, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	return buildScheduler(cfg, pool, log)
}

func buildScheduler(cfg *config.Config, pool *schedule.Pool, log *zap.Logger) (*schedule.Scheduler, error) {
	jobs, err := resolveJobs(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	cs, err := newClients(cfg, log)
	if err != nil {
		return nil, err
	}
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
			one.Reports = []schedule.ReportRun{rr}
			sj = append(sj, schedule.ScheduledJob{Job: one, Schedule: spec, Location: loc, Timeout: c.Timeout, Entry: j.Name + "/" + rr.Report.Name})
		}
		if len(main.Reports) > 0 {
			sj = append(sj, schedule.ScheduledJob{Job: main, Schedule: c.Schedule, Location: loc, Timeout: c.Timeout})
		}
	}
	s, err := schedule.NewScheduler(pool, sj, cs.extractor)
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
	return out
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

// notify tells systemd about a state change; without NOTIFY_SOCKET it does
// nothing.
func notify(log *zap.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify", zap.String("state", state), zap.Error(fmt.Errorf("%w", err)))
	}
}
