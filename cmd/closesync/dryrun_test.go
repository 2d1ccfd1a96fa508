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
	row := func(out, report string) []string { t.Helper(); return dryRunRow(t, out, report) }
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
		{"users", []string{"everything (replaced)", fmt.Sprint(h.fake.Count("user")), "1"}},
		{"reporting_sent_emails", []string{"days ", "?", "367"}},
	} {
		f := row(out, c.report)
		if !strings.HasPrefix(f[3], c.want[0]) || f[4] != c.want[1] || f[5] != c.want[2] {
			t.Errorf("%s: %q, want reads %q, records %s, requests %s", c.report, f, c.want[0], c.want[1], c.want[2])
		}
	}
	// More contacts than a search page: extrapolated from the first.
	if f := row(out, "contacts"); f[3] != "search contact, everything" || !strings.HasPrefix(f[4], "~") || f[7] != "from the first page's dates" {
		t.Errorf("contacts: %q, want an extrapolation from the first page", f)
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

// dryRunRow is the fields of report's line in a dry run's table: job,
// report, mode, reads, records, requests, time and the note ("" when
// none).
func dryRunRow(t *testing.T, out, report string) []string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1); len(f) >= 7 && f[1] == report {
			return append(f, "")[:8]
		}
	}
	t.Fatalf("no line for %s in:\n%s", report, out)
	return nil
}

// TestDryRunEstimatesEveryReport: with reports: all, the dry run
// estimates every report it can against the fake: counts where Close
// counts, the one page of a single-page report (5 lead statuses), the
// first page's records where it is the only one, an extrapolation (~)
// from a full first page in date order (activities, the event log), and a
// note where it cannot.
func TestDryRunEstimatesEveryReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 7, Scale: 150}, "all")
	code, out, errOut := h.run("sync", "--config", h.config, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("dry run:\n%s", out)
	n := func(kind string) string { return fmt.Sprint(h.fake.Count(kind)) }
	for _, c := range []struct {
		report, records, requests, note string
	}{
		{"lead_statuses", "5", "1", ""},
		{"opportunity_statuses", n("opportunity_status"), "1", ""},
		{"pipelines", n("pipeline"), "1", ""},
		{"users", n("user"), "1", ""},
		{"users_self", "1", "1", ""},
		{"organizations", "1", "1", ""},
		{"leads", n("lead"), "1", ""},
		{"opportunities", n("opportunity"), "1", ""},
		{"contacts", "~", "", "from the first page's dates"}, // more than a search page
		{"custom_objects", n("custom_object"), "1", ""},
		{"activities_call", "", "1", ""}, // one page of calls: counted exactly below
		{"activities", "~", "", "from the first page's dates"},
		{"event_log", "~", "", "from the first page's dates"},
		{"reporting_activity", "?", "367", "rows per day, user and metric are known only once read"},
	} {
		f := dryRunRow(t, out, c.report)
		if c.records == "~" {
			if !strings.HasPrefix(f[4], "~") || f[4] == "~0" {
				t.Errorf("%s: records %q, want an extrapolation (~N)", c.report, f[4])
			}
		} else if c.records != "" && f[4] != c.records {
			t.Errorf("%s: records %q, want %s", c.report, f[4], c.records)
		}
		if c.requests != "" && f[5] != c.requests {
			t.Errorf("%s: requests %q, want %s", c.report, f[5], c.requests)
		}
		if f[7] != c.note {
			t.Errorf("%s: note %q, want %q", c.report, f[7], c.note)
		}
	}
	// Every report has an estimate or a reason.
	for _, l := range strings.Split(out, "\n") {
		if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1); len(f) == 7 && f[0] == "core" && f[4] == "?" {
			t.Errorf("%s has no estimate and no reason: %q", f[1], l)
		}
	}
	// --report takes a glob, and one that matches nothing is refused.
	code, out, errOut = h.run("sync", "--config", h.config, "--dry-run", "--report", "users_self*")
	if code != 0 {
		t.Fatalf("--report users_self*: exit %d\n%s\n%s", code, out, errOut)
	}
	if lines := strings.Count(out, "\ncore "); lines != 2 || !strings.Contains(out, "users_self_email_accounts") {
		t.Errorf("--report users_self*: %d report lines, want users_self and users_self_email_accounts:\n%s", lines, out)
	}
	code, _, errOut = h.run("sync", "--config", h.config, "--dry-run", "--report", "user_self*")
	if code != 2 || !strings.Contains(errOut, `pattern "user_self*" matches no report`) {
		t.Errorf("--report user_self*: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(h.db); err == nil {
		t.Error("a dry run created the database")
	}
}
