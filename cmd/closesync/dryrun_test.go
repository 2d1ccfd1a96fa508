package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

func TestSyncDryRunEstimatesWithoutWriting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 29, Scale: 450}, "leads", "opportunities", "contacts", "users", "event_log", "reporting_sent_emails")
	row := func(out, report string) []string {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1); len(f) == 7 && f[1] == report {
				return f
			}
		}
		t.Fatalf("no line for %s in:\n%s", report, out)
		return nil
	}
	code, out, errOut := h.run("sync", "--config", h.config, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("dry run:\n%s", out)
	if _, err := os.Stat(h.db); err == nil {
		t.Error("a dry run created the database")
	}
	leads, opps := h.fake.Count("lead"), h.fake.Count("opportunity")
	for _, c := range []struct {
		report string
		want   []string // reads, records, requests
	}{
		{"leads", []string{"query=sort:created", fmt.Sprint(leads), fmt.Sprint((leads + 199) / 200)}},
		{"opportunities", []string{"_order_by=date_created", fmt.Sprint(opps), fmt.Sprint((opps + 249) / 250)}},
		{"contacts", []string{"search contact, everything", "?", "?"}},
		{"users", []string{"everything (replaced)", "?", "?"}},
		{"reporting_sent_emails", []string{"days ", "?", "367"}},
	} {
		f := row(out, c.report)
		if !strings.HasPrefix(f[3], c.want[0]) || f[4] != c.want[1] || f[5] != c.want[2] {
			t.Errorf("%s: %q, want reads %q, records %s, requests %s", c.report, f, c.want[0], c.want[1], c.want[2])
		}
	}
	h.sync()
	runs := h.count(`SELECT count(*) FROM sync.runs`)
	// Two leads change: the next run reads from the bookmark.
	for _, id := range h.fake.IDs("lead")[:2] {
		h.fake.Update("lead", id, map[string]any{"description": "changed"})
	}
	code, out, errOut = h.run("sync", "--config", h.config, "--dry-run", "--report", "leads")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	f := row(out, "leads")
	if !strings.Contains(f[3], `date_updated >= "`) || f[4] == fmt.Sprint(leads) || f[5] != "1" {
		t.Errorf("incremental leads plan: %q", f)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs`); n != runs {
		t.Errorf("the dry run wrote run history: %d runs, was %d", n, runs)
	}
}
