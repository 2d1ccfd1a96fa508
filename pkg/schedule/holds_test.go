package schedule

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/pipeline"
)

// TestHoldsKeepAVerifyApartFromTheSyncsOfItsReports: a verify cannot hold
// a report an entry of its job is running, a sync waits for a verify of
// its reports, and entries of other reports or jobs go on.
func TestHoldsKeepAVerifyApartFromTheSyncsOfItsReports(t *testing.T) {
	t.Parallel()
	entry := func(job string, reports ...string) ScheduledJob {
		j := ScheduledJob{Job: pipeline.Job{Name: job}}
		for _, r := range reports {
			j.Reports = append(j.Reports, pipeline.ReportRun{Report: report(r)})
		}
		return j
	}
	var h holds
	sync, ok := h.try(entry("core", "leads"))
	if !ok {
		t.Fatal("a free report is held")
	}
	if _, ok := h.try(entry("core", "leads", "users")); ok {
		t.Error("a verify held leads while its sync ran")
	}
	other, ok := h.try(entry("other", "leads"))
	if !ok {
		t.Error("another job's leads are held by core's sync")
	}
	other()
	sync()
	verify, ok := h.try(entry("core", "leads", "users"))
	if !ok {
		t.Fatal("the verify could not hold reports no one runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.wait(ctx, entry("core", "users")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a sync did not wait for the verify of its report: %v", err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		verify()
	}()
	release, err := h.wait(context.Background(), entry("core", "users"))
	if err != nil {
		t.Fatal(err)
	}
	release()
}
