package systemd

import (
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/config"
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
