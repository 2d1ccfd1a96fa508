package main

import (
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestStarterViews: today's row of pipeline_daily is the open pipeline as
// the opportunities table has it now (count and value per status and
// owner), activity_daily counts every live activity once, and
// opportunities_closed_monthly every won or lost opportunity with a date.
func TestStarterViews(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 5, Scale: 40})
	h.sync()
	got := h.counts(
		`SELECT count(*) FROM close.opportunities WHERE _deleted_at IS NULL AND status_type = 'active'`,
		`SELECT coalesce(sum(opportunities), 0) FROM close.pipeline_daily WHERE day = current_date`,
		`SELECT count(*) FROM (
			SELECT status_id, user_id, count(*) AS n, sum(value) AS v FROM close.opportunities
			WHERE _deleted_at IS NULL AND status_type = 'active' GROUP BY ALL
			EXCEPT SELECT status_id, user_id, sum(opportunities), sum(value) FROM close.pipeline_daily WHERE day = current_date GROUP BY ALL)`,
		`SELECT count(DISTINCT day) FROM close.pipeline_daily`,
		`SELECT count(*) FROM close.activities WHERE _deleted_at IS NULL`,
		`SELECT sum(activities) FROM close.activity_daily`,
		`SELECT count(*) FROM close.opportunities WHERE _deleted_at IS NULL AND status_type IN ('won', 'lost') AND coalesce(date_won, date_lost) IS NOT NULL`,
		`SELECT sum(opportunities) FROM close.opportunities_closed_monthly`,
		`SELECT count(*) FROM close.activities WHERE _type = 'OpportunityStatusChange'`,
	)
	open, today, mismatched, days := got[0], got[1], got[2], got[3]
	if open == 0 || today != open || mismatched != 0 {
		t.Errorf("pipeline_daily today: %d opportunities (%d groups differ), the table has %d open", today, mismatched, open)
	}
	if days < 2 {
		t.Errorf("pipeline_daily has %d days", days)
	}
	if got[4] == 0 || got[5] != got[4] {
		t.Errorf("activity_daily counts %d activities, the table has %d", got[5], got[4])
	}
	if got[7] != got[6] {
		t.Errorf("opportunities_closed_monthly counts %d, the table has %d won or lost", got[7], got[6])
	}
	t.Logf("%d status changes, %d days", got[8], days)
}
