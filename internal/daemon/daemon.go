// Package daemon is closesync run: every job on its schedule until the
// context ends (SIGTERM, SIGINT), SIGHUP reloading the config, with the
// systemd notifications, the watchdog and the status endpoint. The command
// gives it the config, the logger, how to reload the config and open the
// database; everything else is here. Once runs jobs in the foreground.
package daemon

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
	"github.com/oklog/run"
	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/internal/buildinfo"
	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/internal/systemd"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/status"
)

// Hooks is what follows each finished report run of one config generation
// (status, notifications, snapshot).
type Hooks interface {
	Observe(r pipeline.Result)
	// Closed runs after the database file is closed.
	Closed()
	// Stop delivers what is pending until ctx ends.
	Stop(ctx context.Context)
	// WantsChanges reports whether runs must collect the keys they change.
	WantsChanges() bool
}

// APIObserver receives every Close API response (the status endpoint's
// metrics).
type APIObserver interface {
	APIResponse(account, group string, status, remaining int, hasRemaining bool)
}

// newHooks is hooks.New as a Hooks.
func newHooks(cfg *config.Config, log *zap.Logger, st *status.Status) (Hooks, error) {
	h, err := hooks.New(cfg, log, st)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Options is what the daemon needs from its command.
type Options struct {
	Path   string         // the config file, reloaded on SIGHUP
	Config *config.Config // loaded from Path
	Log    *zap.Logger
	// Hangup delivers SIGHUP (registered before anything slow, so that an
	// early reload is not lost).
	Hangup <-chan os.Signal
	// Load loads and validates the config at path (a reload).
	Load func(path string) (*config.Config, error)
	// Open opens the database for a run.
	Open schedule.Opener
	// Exit ends the process at a second signal (default os.Exit(1)).
	Exit func()
	// Notify sends an sd_notify state: READY, RELOADING, STOPPING and the
	// watchdog pings (default: to $NOTIFY_SOCKET, if set).
	Notify func(state string)
	// Signals delivers the second SIGTERM or SIGINT that forces an exit
	// while runs stop (default: signal.Notify, registered when the stop
	// begins).
	Signals <-chan os.Signal
}

// instance is one running daemon.
type instance struct {
	opts Options
	log  *zap.Logger
	// budgets are the rate-limit budgets of the process: every generation
	// of clients takes its accounts' from here, so a reload keeps them.
	budgets *closeapi.Budgets
	st      *status.Status // nil: no status endpoint
	obs     APIObserver
	pool    *schedule.Pool
	sds     *systemd.Status
	current atomic.Pointer[Hooks]
	wh      *webhooks // nil: no webhooks
}

// Run runs the daemon until ctx ends and its runs have stopped.
func Run(ctx context.Context, opts Options) error {
	cfg, log := opts.Config, opts.Log
	d := &instance{opts: opts, log: log, budgets: closeapi.NewBudgets()}
	// What follows each run (status, notifications, snapshot) is rebuilt on
	// reload; runs in progress use the generation current when they end.
	if cfg.HTTP.Listen != "" {
		d.st = status.New()
		bi := buildinfo.Read()
		d.st.SetBuildInfo(status.BuildInfo{Version: bi.Version, Revision: bi.RevisionLabel(), GoVersion: bi.GoVersion, DuckDB: bi.DuckDB})
		d.obs = d.st
	}
	first, err := newHooks(cfg, log, d.st)
	if err != nil {
		return err
	}
	d.current.Store(&first)
	d.pool = schedule.NewPool(func(ctx context.Context) (schedule.Store, func() error, error) {
		store, closeStore, err := opts.Open(ctx)
		if err != nil {
			return nil, nil, err
		}
		return store, func() error {
			if err := closeStore(); err != nil {
				return err
			}
			(*d.current.Load()).Closed()
			return nil
		}, nil
	}, log)
	d.sds = systemd.NewStatus(cfg, d.pool.Running, log)
	d.pool.OnResult = func(r pipeline.Result) {
		d.sds.Observe(r)
		(*d.current.Load()).Observe(r)
	}
	d.pool.SetCollectChanges(first.WantsChanges())
	sched, err := d.build(cfg)
	if err != nil {
		return err
	}
	var g run.Group
	if d.st != nil {
		d.st.SetRunNower(runNower{sched})
		srv, err := serveStatus(cfg.HTTP.Listen, d.st, log)
		if err != nil {
			return err
		}
		g.Add(srv.execute, srv.interrupt)
	}
	if cfg.Webhooks.Listen != "" {
		wh, err := startWebhooks(ctx, cfg, d.budgets, log, sched)
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		d.wh = wh
		g.Add(wh.execute, wh.interrupt)
	}
	loopCtx, cancel := context.WithCancel(ctx)
	g.Add(func() error { return d.loop(loopCtx, sched) }, func(error) { cancel() })
	return g.Run()
}

// loop serves signals, the watchdog and the STATUS= refresh until ctx ends,
// then stops the runs.
func (d *instance) loop(ctx context.Context, sched *schedule.Scheduler) error {
	cfg, log, path := d.opts.Config, d.log, d.opts.Path
	sched.Start()
	sched.Startup(time.Now())
	d.sds.Update()
	d.notify(daemon.SdNotifyReady)
	log.Info("closesync started", zap.String("config", path), zap.Int("jobs", len(cfg.Jobs)))

	// With WatchdogSec= set, systemd restarts the service unless pinged
	// within the interval: ping at half of it from this loop, which also
	// serves signals, so a wedged loop stops the pings.
	watchdog, stopWatchdog := systemd.Watchdog(log)
	defer stopWatchdog()

	// STATUS= names the next run; refresh it as time passes.
	statusTick := time.NewTicker(30 * time.Second)
	defer statusTick.Stop()
	for {
		select {
		case <-statusTick.C:
			d.sds.Update()
		case <-watchdog:
			d.notify(daemon.SdNotifyWatchdog)
		case <-ctx.Done():
			d.forceExitOnSecondSignal()
			d.notify(daemon.SdNotifyStopping)
			d.sds.Stopping()
			grace := cfg.StopGrace
			if grace == 0 {
				grace = config.DefaultStopGrace
			}
			log.Info("stopping: cancelling runs at the next batch boundary", zap.Duration("grace", grace))
			sched.Stop()
			if err := d.pool.Stop(grace); err != nil {
				log.Error("stop", zap.Error(err))
				return err
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			(*d.current.Load()).Stop(stopCtx)
			cancel()
			log.Info("stopped")
			return nil
		case <-d.opts.Hangup:
			d.notify(daemon.SdNotifyReloading)
			next, nextHooks, err := d.reload(path)
			if err != nil {
				log.Error("reload failed: keeping the running config", zap.String("config", path), zap.Error(err))
			} else {
				sched.Stop()
				sched = next
				sched.Start()
				old := *d.current.Swap(&nextHooks)
				d.pool.SetCollectChanges(nextHooks.WantsChanges())
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					old.Stop(ctx)
				}()
				if d.st != nil {
					d.st.SetRunNower(runNower{sched})
				}
				if d.wh != nil {
					d.wh.setScheduler(sched)
				}
				log.Info("config reloaded", zap.String("config", path))
			}
			if d.st != nil {
				d.st.Reloaded(err == nil)
			}
			d.notify(daemon.SdNotifyReady)
		}
	}
}

// reload loads and validates the config and builds its scheduler; on any
// error the caller keeps the running one.
func (d *instance) reload(path string) (*schedule.Scheduler, Hooks, error) {
	cfg, err := d.opts.Load(path)
	if err != nil {
		return nil, nil, err
	}
	sched, err := d.build(cfg)
	if err != nil {
		return nil, nil, err
	}
	next, err := newHooks(cfg, d.log, d.st)
	if err != nil {
		return nil, nil, err
	}
	d.sds.SetConfig(cfg)
	return sched, next, nil
}

// notify sends an sd_notify state through Options.Notify.
func (d *instance) notify(state string) {
	if d.opts.Notify != nil {
		d.opts.Notify(state)
		return
	}
	systemd.Notify(d.log, state)
}

// forceExitOnSecondSignal makes a second SIGTERM or SIGINT, while runs stop
// at a batch boundary, exit at once. Nothing is corrupted: the batch in
// progress is a DuckDB transaction that is rolled back, and the next start
// marks the interrupted runs failed and resumes from their bookmarks.
func (d *instance) forceExitOnSecondSignal() {
	exit := d.opts.Exit
	if exit == nil {
		exit = func() { os.Exit(1) }
	}
	again := d.opts.Signals
	if again == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		again = ch
	}
	go func() {
		sig := <-again
		d.log.Warn("second signal: exiting now; the batch in progress is rolled back", zap.String("signal", sig.String()))
		_ = d.log.Sync()
		exit()
	}()
}

// build builds the config's scheduler; STATUS= sees each report start.
func (d *instance) build(cfg *config.Config) (*schedule.Scheduler, error) {
	jobs, err := schedule.Jobs(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	cs, err := accounts.New(cfg, d.budgets, d.log, d.obs)
	if err != nil {
		return nil, err
	}
	cs.WithOrganizations(jobs)
	sj, err := schedule.Build(cfg, jobs)
	if err != nil {
		return nil, err
	}
	for i := range sj {
		if sj[i].Verify {
			sj[i].Plan = cs.Planner
		}
	}
	s, err := schedule.NewScheduler(d.pool, sj, d.sds.Wrap(cs.Extractor))
	if err != nil {
		return nil, schedule.Usage(err)
	}
	return s, nil
}

// statusServer is the status endpoint, an actor of the daemon's run group.
type statusServer struct {
	srv     *http.Server
	ln      net.Listener
	log     *zap.Logger
	stopped chan struct{}
}

// serveStatus listens on addr; the endpoint serves from execute until
// interrupt shuts it down.
func serveStatus(addr string, st *status.Status, log *zap.Logger) (*statusServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	log.Info("status endpoint listening", zap.String("addr", ln.Addr().String()))
	return &statusServer{srv: &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln: ln, log: log,
		stopped: make(chan struct{})}, nil
}

func (s *statusServer) execute() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// The daemon runs on without its endpoint.
		s.log.Error("status endpoint stopped", zap.Error(err))
		<-s.stopped
	}
	return nil
}

func (s *statusServer) interrupt(error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	close(s.stopped)
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
