package systemd

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
)

// TestNextRun: the status's "next run" is the soonest tick of every entry
// (job, report with its own schedule, reconcile), in the job's timezone.
func TestNextRun(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 10, 0, 0, time.UTC)
	leads := []config.ReportRef{{Name: "leads"}}
	for _, c := range []struct {
		name      string
		jobs      []config.Job
		at, entry string
	}{
		{"one job", []config.Job{{Name: "a", Schedule: "@hourly", Reports: leads}}, "2026-12-02T11:00:00Z", "a"},
		{"the soonest of two", []config.Job{{Name: "a", Schedule: "@hourly", Reports: leads}, {Name: "b", Schedule: "*/20 * * * *", Reports: leads}},
			"2026-12-02T10:20:00Z", "b"},
		{"every report on its own schedule", []config.Job{{Name: "c", Schedule: "15 10 * * *", Reports: []config.ReportRef{{Name: "users", Schedule: "5 * * * *"}}}},
			"2026-12-02T11:05:00Z", "c/users"},
		{"in the job's timezone", []config.Job{{Name: "d", Schedule: "0 9 * * *", Timezone: "Europe/Berlin", Reports: leads}}, "2026-12-03T08:00:00Z", "d"},
		{"reconcile first", []config.Job{{Name: "e", Schedule: "0 0 1 1 *", Reconcile: "@daily", Reports: leads}}, "2026-12-03T00:00:00Z", "e/reconcile"},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, entry := nextRun(&config.Config{Jobs: c.jobs}, now)
			if got := at.UTC().Format(time.RFC3339); got != c.at || entry != c.entry {
				t.Errorf("next run %s (%s), want %s (%s)", got, entry, c.at, c.entry)
			}
		})
	}
}

// TestStatusText: the STATUS= line names the running report's job, else
// the next run, and the latest failure until that report succeeds.
func TestStatusText(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 10, 0, 0, time.UTC)
	cfg := &config.Config{Jobs: []config.Job{{Name: "core", Account: "main", Schedule: "@hourly", Reports: []config.ReportRef{{Name: "leads"}, {Name: "users"}}}}}
	running := map[string]bool{}
	s := NewStatus(cfg, func(entry string) bool { return running[entry] }, zap.NewNop())
	s.now = func() time.Time { return now }
	text := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.text()
	}
	if got, want := text(), "idle; next run 2026-12-02T11:00:00Z (job core)"; got != want {
		t.Errorf("idle: %q, want %q", got, want)
	}
	running["core"] = true
	s.started("main", "leads")
	if got, want := text(), "running job core (report leads)"; got != want {
		t.Errorf("running: %q, want %q", got, want)
	}
	s.Observe(pipeline.Result{Run: runlog.Run{Job: "core", Report: "leads", Account: "main", Status: runlog.Success}})
	s.Observe(pipeline.Result{Run: runlog.Run{Job: "core", Report: "users", Account: "main", Status: runlog.Failed, Err: errors.New("GET /user/: 403 Forbidden\nmore")}})
	running["core"] = false
	want := "idle; next run 2026-12-02T11:00:00Z (job core); last run failed: job core, report users: GET /user/: 403 Forbidden"
	if got := text(); got != want {
		t.Errorf("after a failure: %q, want %q", got, want)
	}
	s.Observe(pipeline.Result{Run: runlog.Run{Job: "core", Report: "users", Account: "main", Status: runlog.Success}})
	if got, want := text(), "idle; next run 2026-12-02T11:00:00Z (job core)"; got != want {
		t.Errorf("after the report succeeded again: %q, want %q", got, want)
	}
}
