package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
)

// activityTypes maps each activities_* report to the _type it holds.
var activityTypes = map[string]string{
	"activities_call": "Call", "activities_created": "Created", "activities_custom_activity": "Custom",
	"activities_email_threads": "EmailThread", "activities_emails": "Email", "activities_form_submission": "FormSubmission",
	"activities_lead_status_change": "LeadStatusChange", "activities_meeting": "Meeting", "activities_notes": "Note",
	"activities_opportunity_status_change": "OpportunityStatusChange", "activities_sms": "SMS",
	"activities_task_completed": "TaskCompleted", "activities_whatsapp_message": "WhatsAppMessage",
}

// TestEveryReportEqualsTruth syncs the whole catalog twice and checks every
// table against the fake: its row count, and that its key is unique. The
// catalog is synced in three groups at once, each into a file of its own
// from a fake of its own (same seed): the spine with every table a typed
// view is made of, the other activity types with the reporting reports,
// and the configuration collections with everything else.
func TestEveryReportEqualsTruth(t *testing.T) {
	t.Parallel()
	groups := []struct {
		name    string
		reports []string
	}{
		{"spine", []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
			"activities", "activities_call", "activities_custom_activity", "custom_activity_types", "custom_objects",
			"custom_object_types", "custom_fields", "event_log"}},
		{"activity types and reporting", []string{"reporting_activity", "reporting_sent_emails"}},
		{"configuration", nil},
	}
	for _, r := range extract.Catalog() {
		if r.Parent != "" || contains(groups[0].reports, r.Name) {
			continue
		}
		g := 2
		if strings.HasPrefix(r.Name, "activities_") {
			g = 1
		}
		if !contains(groups[1].reports, r.Name) {
			groups[g].reports = append(groups[g].reports, r.Name)
		}
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			everyReportEqualsTruth(t, g.reports)
		})
	}
}

func everyReportEqualsTruth(t *testing.T, roots []string) {
	t.Helper()
	h := newHarness(t, closefake.Options{Seed: 21, Scale: 60}, roots...)
	h.keepReadsOpen()
	want := h.catalogTruth()
	var metrics []map[string]any
	h.get("/report/activity/metrics/", &struct{ Data *[]map[string]any }{&metrics})
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -365)
	var calls, sent int
	for _, a := range h.fake.Objects("activity") {
		if a["_type"] == "Call" && !mustTime(t, a["date_created"]).Before(since) {
			calls++
		}
		if a["_type"] == "Email" && a["direction"] == "outgoing" && !mustTime(t, a["date_sent"]).Before(since) {
			sent++
		}
	}

	for round := 1; round <= 2; round++ {
		h.sync()
		var reports []*extract.Report
		var qs []string
		for _, r := range extract.Catalog() {
			if !contains(roots, extract.Root(r).Name) {
				continue
			}
			n, ok := want[r.Name]
			if !ok {
				t.Errorf("%s: no truth for this report: add it to the test", r.Name)
				continue
			}
			if n == 0 && !r.MayBeEmpty {
				t.Errorf("%s: the fake has no rows for it; the test proves nothing", r.Name)
			}
			key := strings.Join(r.Table.Key, ", ")
			reports = append(reports, r)
			qs = append(qs, fmt.Sprintf(`SELECT count(*) FROM close.%s`, r.Name),
				fmt.Sprintf(`SELECT count(*) FROM (SELECT %s FROM close.%s GROUP BY ALL HAVING count(*) > 1)`, key, r.Name))
		}
		got := h.counts(qs...) // one open of the file for every table
		for i, r := range reports {
			if n := got[2*i]; n != int64(want[r.Name]) {
				t.Errorf("round %d: close.%s has %d rows, fake has %d", round, r.Name, n, want[r.Name])
			}
			if dup := got[2*i+1]; dup != 0 {
				t.Errorf("round %d: close.%s: %d duplicate keys (%s)", round, r.Name, dup, strings.Join(r.Table.Key, ", "))
			}
		}
	}
	// With every table synced, every typed view exists (a report named like
	// a view once kept them all from being made).
	views := []string{"leads_custom", "contacts_custom", "opportunities_custom", "activities_custom", "custom_objects_custom",
		"activities_call_custom", "activities_custom_activity_custom"}
	if contains(roots, "custom_fields") {
		if n := h.count(`SELECT count(*) FROM duckdb_views() WHERE schema_name = 'close' AND list_contains(?, view_name)`, views); n != int64(len(views)) {
			t.Errorf("%d of the typed views %v exist", n, views)
		}
	}
	if !contains(roots, "reporting_activity") || !contains(roots, "reporting_sent_emails") {
		return
	}
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT CAST(sum(value) AS BIGINT) FROM close.reporting_activity WHERE metric = 'calls.all.count'`, calls},
		{`SELECT CAST(sum(value) AS BIGINT) FROM close.reporting_sent_emails WHERE metric = 'sent'`, sent},
		{`SELECT count(*) FROM close.reporting_activity WHERE organization_id <> '` + h.fake.OrganizationID() + `'`, 0},
	} {
		if got := h.count(c.q); got != int64(c.want) {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
}

// get decodes a GET of the fake's API into out.
func (h *harness) get(path string, out any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/v1"+path, nil)
	req.SetBasicAuth(h.key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
	if err != nil {
		t.Fatalf("fake timestamp %v: %v", v, err)
	}
	return ts
}

// catalogTruth is the row count of every table of the catalog as the fake
// holds it now (reporting tables: over the last 365 days and today).
func (h *harness) catalogTruth() map[string]int {
	t := h.t
	want := h.truth()
	for report, kind := range dimensionKinds {
		want[report] = h.fake.Count(kind)
	}
	byType := map[string]int{}
	for _, a := range h.fake.Objects("activity") {
		byType[fmt.Sprint(a["_type"])]++
	}
	for report, typ := range activityTypes {
		want[report] = byType[typ]
	}
	users := h.fake.Count("user")
	inactive := (users + 2) / 4
	for report, n := range map[string]int{
		"organizations": 1, "organizations_memberships": users - inactive, "organizations_inactive_memberships": inactive,
		"organizations_lead_statuses": h.fake.Count("lead_status"), "organizations_opportunity_statuses": h.fake.Count("opportunity_status"),
		"organizations_invoices": 0, "users_self": 1, "users_self_organizations": 1, "users_self_memberships": 1,
		"users_self_email_signatures": 1, "users_self_sip_numbers": 1, "users_self_email_accounts": 3,
		"custom_objects": h.fake.Count("custom_object"),
	} {
		want[report] = n
	}
	// The reports are read a day at a time over the last 365 days and today.
	var metrics []map[string]any
	h.get("/report/activity/metrics/", &struct{ Data *[]map[string]any }{&metrics})
	want["reporting_activity"] = 366 * users * len(metrics)
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -365)
	templates := map[string]bool{}
	for _, a := range h.fake.Objects("activity") {
		if a["_type"] == "Email" && a["direction"] == "outgoing" && !mustTime(t, a["date_sent"]).Before(since) {
			templates[mustTime(t, a["date_sent"]).Format(time.DateOnly)+fmt.Sprint(a["template_id"])] = true
		}
	}
	want["reporting_sent_emails"] = 3 * len(templates) // sent, opened and replied per day and template
	return want
}
