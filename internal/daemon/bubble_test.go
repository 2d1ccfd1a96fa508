package daemon

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
)

// jobsConfig is a config whose jobs read users hourly from an account
// nothing answers (the runs never get that far: the store cannot open).
func jobsConfig(t *testing.T, jobs ...string) *config.Config {
	t.Helper()
	cfg := &config.Config{Database: "unused.duckdb", Schema: "close",
		Accounts: []config.Account{{Name: "main", APIKey: "api_bubbleTestKey", BaseURL: "http://127.0.0.1:9/api/v1", MaxConcurrency: 1}}}
	for _, j := range jobs {
		cfg.Jobs = append(cfg.Jobs, config.Job{Name: j, Account: "main", Schedule: "@every 1h",
			Reports: []config.ReportRef{{Name: "users"}}})
	}
	return cfg
}

// TestRunOnFakeTime runs the daemon in a synctest bubble, where time moves
// only when every goroutine waits, so each assertion is exact: the watchdog
// is pinged at half its interval; a successful reload replaces the jobs
// (a removed job no longer runs, an added one does, on the schedule of the
// new config); a stop says STOPPING; a second signal exits at once.
func TestRunOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t.Setenv("WATCHDOG_USEC", "60000000") // 60 s: a ping every 30 s
		t.Setenv("WATCHDOG_PID", "")
		t.Setenv("NOTIFY_SOCKET", "")
		var mu sync.Mutex
		var states []string
		count := func(state string) int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, s := range states {
				if s == state {
					n++
				}
			}
			return n
		}
		// Every run opens the store once (and fails: no store here), so
		// the opens per hour are the jobs that ran in it.
		var opens atomic.Int32
		hup := make(chan os.Signal, 1)
		second := make(chan os.Signal, 1)
		exited := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Options{Path: "closesync.yaml", Config: jobsConfig(t, "old"), Log: zap.NewNop(), Hangup: hup,
				Load: func(string) (*config.Config, error) { return jobsConfig(t, "new1", "new2"), nil },
				Open: func(context.Context) (schedule.Store, func() error, error) {
					opens.Add(1)
					return nil, nil, errors.New("no store in this test")
				},
				Exit:    func() { close(exited) },
				Signals: second,
				Notify: func(state string) {
					mu.Lock()
					defer mu.Unlock()
					states = append(states, state)
				},
			})
		}()
		synctest.Wait()
		if count("READY=1") != 1 {
			t.Fatalf("states %q: want READY=1 once at start", states)
		}
		start := opens.Load() // a first run's catch-up, if any

		// An hour on the first config: one job ran, and the watchdog was
		// pinged every 30 s.
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		if got := opens.Load() - start; got != 1 {
			t.Errorf("first hour: %d runs, want 1 (the job old)", got)
		}
		if got := count("WATCHDOG=1"); got != 120 {
			t.Errorf("%d watchdog pings in an hour, want 120 (one every 30 s)", got)
		}

		// A successful reload: the next hour runs the two new jobs, and
		// not the old one.
		hup <- syscall.SIGHUP
		synctest.Wait()
		if count("RELOADING=1") != 1 || count("READY=1") != 2 {
			t.Errorf("states after the reload %q: want RELOADING=1, then READY=1", states)
		}
		before := opens.Load()
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := opens.Load() - before; got != 2 {
			t.Errorf("hour after the reload: %d runs, want 2 (new1 and new2, not old)", got)
		}

		// The stop, then a second signal while it is under way.
		cancel()
		synctest.Wait()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if count("STOPPING=1") != 1 {
			t.Errorf("states %q: want STOPPING=1", states)
		}
		second <- syscall.SIGTERM
		synctest.Wait()
		select {
		case <-exited:
		default:
			t.Error("a second signal did not exit")
		}
		if i := slices.Index(states, "STOPPING=1"); i < slices.Index(states, "RELOADING=1") {
			t.Errorf("states out of order: %q", states)
		}
	})
}
