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

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/closesync/closesync/pkg/closeapi"
)

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
	if resp, _ := http.Get(srv.URL + "/jobs/core/run"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on run-now: %d", resp.StatusCode)
	}

	start := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	s.Observe(Run{RunID: 1, Job: "core", Report: "leads", Status: "success", Started: start, Duration: 2, Rows: 10, Requests: 3})
	s.Observe(Run{RunID: 2, Job: "core", Report: "leads", Status: "failed", Started: start.Add(time.Hour), Error: "API key rejected"})
	resp, _ := http.Get(srv.URL + "/runs")
	var runs []Run
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
	s.APIResponse("main", "GET /lead/", 200, closeapi.RateLimit{Limit: 100, Remaining: 42}, true)
	s.APIResponse("main", "GET /lead/", 429, closeapi.RateLimit{}, false)
	s.APIResponse("main", "GET /lead/", 0, closeapi.RateLimit{}, false)
	s.Observe(Run{Job: "core", Report: "leads", Status: "success", Started: time.Now(), Bookmark: time.Now().Add(-time.Hour)})
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
