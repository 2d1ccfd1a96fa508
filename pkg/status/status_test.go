package status

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// took is when a run that started at start and took seconds finished.
func took(start time.Time, seconds float64) *time.Time {
	t := start.Add(time.Duration(seconds * float64(time.Second)))
	return &t
}

type fakeRunNow map[string]error

func (f fakeRunNow) RunNow(job string) error {
	if err, ok := f[job]; ok {
		return err
	}
	return ErrUnknown
}

func TestEndpoints(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(path string) int {
		resp, err := http.Post(srv.URL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/jobs/core/run"); c != http.StatusServiceUnavailable {
		t.Errorf("before a scheduler is set: %d", c)
	}
	s.SetRunNower(fakeRunNow{"core": nil, "busy": ErrBusy, "broken": errors.New("boom")})
	for job, want := range map[string]int{"core": 202, "busy": 409, "nope": 404, "broken": 500} {
		if c := post("/jobs/" + job + "/run"); c != want {
			t.Errorf("run-now %s: %d, want %d", job, c, want)
		}
	}
	resp, _ := http.Get(srv.URL + "/jobs/core/run")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on run-now: %d", resp.StatusCode)
	}

	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	s.Observe(runlog.Run{ID: 1, Job: "core", Report: "leads", Status: "success", StartedAt: start, FinishedAt: took(start, 2), RowsUpserted: 10, Requests: 3})
	s.Observe(runlog.Run{ID: 2, Job: "core", Report: "leads", Status: "failed", StartedAt: start.Add(time.Hour), Error: "API key rejected"})
	resp, _ = http.Get(srv.URL + "/runs")
	var runs []run
	json.NewDecoder(resp.Body).Decode(&runs)
	resp.Body.Close()
	if len(runs) != 2 || runs[0].RunID != 2 {
		t.Errorf("/runs not newest first: %+v", runs)
	}
	resp, _ = http.Get(srv.URL + "/healthz")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status": "failed"`) || strings.Count(string(body), `"run_id"`) != 1 {
		t.Errorf("/healthz should show the last run per report: %s", body)
	}
	resp, _ = http.Get(srv.URL + "/metrics")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`closesync_runs_total{job="core",report="leads",status="success"} 1`,
		`closesync_runs_total{job="core",report="leads",status="failed"} 1`,
		`closesync_rows_upserted_total{job="core",report="leads"} 10`,
		`closesync_last_run_success_timestamp_seconds{job="core",report="leads"} 1.793527202e+09`,
		`closesync_config_last_reload_successful 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	s.Reloaded(false)
	resp, _ = http.Get(srv.URL + "/metrics")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "closesync_config_last_reload_successful 0") {
		t.Error("a failed reload is not reported")
	}
}

func TestAPIAndBookmarkLagMetrics(t *testing.T) {
	s := New()
	s.APIResponse("main", "GET /lead/", 200, 42, true)
	s.APIResponse("main", "GET /lead/", 429, 0, false)
	s.APIResponse("main", "GET /lead/", 0, 0, false)
	hourAgo := time.Now().Add(-time.Hour)
	s.Observe(runlog.Run{Job: "core", Report: "leads", Status: "success", StartedAt: time.Now(), Bookmark: schema.BookmarkAt(hourAgo)})
	families := scrape(t, s)
	codes := map[string]float64{}
	for _, m := range families["closesync_api_responses_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "code" {
				codes[l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if codes["200"] != 1 || codes["429"] != 1 || codes["0"] != 1 {
		t.Errorf("responses by code = %v", codes)
	}
	if v := families["closesync_api_rate_limit_remaining"].GetMetric()[0].GetGauge().GetValue(); v != 42 {
		t.Errorf("rate limit remaining = %v, want 42", v)
	}
	if lag := families["closesync_bookmark_lag_seconds"].GetMetric()[0].GetGauge().GetValue(); lag < 3600 || lag > 3700 {
		t.Errorf("bookmark lag = %vs, want about an hour", lag)
	}
}

// TestNoZeroBookmarksAndLastSuccessAge: a run without a bookmark (a full
// refresh, a failure) shows none in /healthz and /runs rather than
// 0001-01-01; closesync_last_success_age_seconds is the age of each
// report's last successful run at the scrape (a quiet table synced a
// minute ago is a minute old, whatever its bookmark lag), and a failed run
// after it does not reset it.
func TestNoZeroBookmarksAndLastSuccessAge(t *testing.T) {
	s := New()
	now := time.Now()
	quiet := now.Add(-5 * time.Hour) // the newest change Close has for the table
	s.Observe(runlog.Run{ID: 1, Job: "core", Report: "users", Status: "success", StartedAt: now.Add(-time.Minute), FinishedAt: took(now.Add(-time.Minute), 2)})
	s.Observe(runlog.Run{ID: 2, Job: "core", Report: "leads", Status: "success", StartedAt: now.Add(-time.Minute), FinishedAt: took(now.Add(-time.Minute), 2), Bookmark: schema.BookmarkAt(quiet)})
	s.Observe(runlog.Run{ID: 3, Job: "core", Report: "tasks", Status: "success", StartedAt: now.Add(-3 * time.Hour), FinishedAt: took(now.Add(-3*time.Hour), 10)})
	s.Observe(runlog.Run{ID: 4, Job: "core", Report: "tasks", Status: "failed", StartedAt: now.Add(-time.Minute), Error: "503"})
	s.Observe(runlog.Run{ID: 5, Job: "core", Report: "notes", Status: "failed", StartedAt: now, Error: "401"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, path := range []string{"/healthz", "/runs"} {
		body := get(path)
		if strings.Contains(body, "0001-01-01") {
			t.Errorf("%s shows a zero time:\n%s", path, body)
		}
		if strings.Count(body, `"bookmark"`) != 1 {
			t.Errorf("%s: want the one bookmark of leads:\n%s", path, body)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(get("/metrics")))
	if err != nil {
		t.Fatal(err)
	}
	age := map[string]float64{}
	for _, m := range families["closesync_last_success_age_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "report" {
				age[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	want := map[string]float64{"users": 58, "leads": 58, "tasks": 3*3600 - 10}
	if len(age) != len(want) {
		t.Errorf("ages for %v, want users, leads and tasks only (notes never succeeded)", age)
	}
	for r, w := range want {
		if got, ok := age[r]; !ok || got < w || got > w+30 {
			t.Errorf("last success age of %s = %v, want about %v", r, got, w)
		}
	}
	lag := families["closesync_bookmark_lag_seconds"].GetMetric()
	if len(lag) != 1 || lag[0].GetGauge().GetValue() < 5*3600 {
		t.Errorf("bookmark lag %v: want leads only, about 5 h", lag)
	}
}

// TestVerifyMetrics: each report's last verify shows as ok, the difference
// where Close counted, and when; a report Close does not count has no
// difference series.
func TestVerifyMetrics(t *testing.T) {
	s := New()
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	s.Verified(runlog.Run{Job: "core", Report: "leads", Trigger: runlog.Verify, Status: runlog.Success, StartedAt: at, FinishedAt: &at}, true, 0)
	s.Verified(runlog.Run{Job: "core", Report: "contacts", Trigger: runlog.Verify, Status: runlog.Failed, StartedAt: at, FinishedAt: &at}, true, -3)
	s.Verified(runlog.Run{Job: "core", Report: "event_log", Trigger: runlog.Verify, Status: runlog.Success, StartedAt: at, FinishedAt: &at}, false, 0)
	families := scrape(t, s)
	byReport := func(name string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "report" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		return out
	}
	if got := byReport("closesync_verify_ok"); len(got) != 3 || got["leads"] != 1 || got["contacts"] != 0 || got["event_log"] != 1 {
		t.Errorf("closesync_verify_ok = %v", got)
	}
	if got := byReport("closesync_verify_difference"); len(got) != 2 || got["leads"] != 0 || got["contacts"] != -3 {
		t.Errorf("closesync_verify_difference = %v", got)
	}
	if got := byReport("closesync_verify_last_timestamp_seconds"); got["leads"] != float64(at.Unix()) {
		t.Errorf("closesync_verify_last_timestamp_seconds = %v", got)
	}
}

// scrape is s's /metrics, parsed with the Prometheus text parser.
func scrape(t *testing.T, s *Status) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}
