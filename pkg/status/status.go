// Package status serves closesync's optional HTTP endpoint (config key
// http.listen): / (the list of endpoints), /healthz, /metrics
// (Prometheus), /runs and POST /jobs/{name}/run. It keeps what it reports in memory, fed by every
// finished run, because the database file may be locked by a run in
// progress and must stay free for readers between runs.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/closesync/closesync/pkg/runlog"
)

// recentRuns is how many finished runs /runs keeps.
const recentRuns = 200

// run is a finished run as /runs and /healthz report it.
type run struct {
	RunID    int64          `json:"run_id"`
	Job      string         `json:"job"`
	Report   string         `json:"report"`
	Trigger  runlog.Trigger `json:"trigger"`
	Status   runlog.Status  `json:"status"`
	Started  time.Time      `json:"started_at"`
	Duration float64        `json:"duration_seconds"`
	Rows     int64          `json:"rows_upserted"`
	Extract  int64          `json:"rows_extracted"`
	Deleted  int64          `json:"rows_deleted"`
	Requests int64          `json:"requests"`
	Retries  int64          `json:"retries"`
	Error    string         `json:"error,omitempty"`
	// Bookmark is the time up to which the report's data is complete, when
	// the run committed one (nil, and absent from the JSON, otherwise).
	Bookmark *time.Time `json:"bookmark,omitempty"`
}

// finishedAt is when a finished run ended (its start if that is unknown).
func finishedAt(r runlog.Run) time.Time {
	if r.FinishedAt == nil {
		return r.StartedAt
	}
	return *r.FinishedAt
}

// runOf is r as the endpoint reports it.
func runOf(r runlog.Run) run {
	out := run{RunID: r.ID, Job: r.Job, Report: r.Report, Trigger: r.Trigger, Status: r.Status, Started: r.StartedAt,
		Duration: finishedAt(r).Sub(r.StartedAt).Seconds(), Rows: r.RowsUpserted, Extract: r.RowsExtracted, Deleted: r.RowsDeleted,
		Requests: r.Requests, Retries: r.Retries, Error: r.ErrorText()}
	if !r.Bookmark.IsZero() {
		t := r.Bookmark.Time()
		out.Bookmark = &t
	}
	return out
}

// RunNower starts a job now; ErrBusy when it is running, ErrUnknown when
// there is no such job.
type RunNower interface {
	RunNow(job string) error
}

// Errors a RunNower returns.
var (
	ErrBusy    = errors.New("job is running")
	ErrUnknown = errors.New("no such job")
)

// Status holds the metrics and recent runs. Safe for concurrent use.
type Status struct {
	reg *prometheus.Registry

	runs        *prometheus.CounterVec
	rows        *prometheus.CounterVec
	extracted   *prometheus.CounterVec
	deleted     *prometheus.CounterVec
	requests    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	reloadOK    prometheus.Gauge
	build       *prometheus.GaugeVec
	apiCalls    *prometheus.CounterVec
	remaining   *prometheus.GaugeVec
	lag         *lagCollector
	verifyOK    *prometheus.GaugeVec
	verifyDiff  *prometheus.GaugeVec
	verifyAt    *prometheus.GaugeVec
	age         *lagCollector // since each report's last successful run finished

	mu      sync.Mutex
	recent  []run
	last    map[string]run // job/report -> last run
	started time.Time
	runNow  RunNower
}

// New returns an empty Status with its own registry.
func New() *Status {
	s := &Status{reg: prometheus.NewRegistry(), last: map[string]run{}, started: time.Now()}
	labels := []string{"job", "report"}
	s.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_runs_total", Help: "Finished runs by outcome."},
		[]string{"job", "report", "status"})
	s.rows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_rows_upserted_total", Help: "Rows written."}, labels)
	s.extracted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_rows_extracted_total", Help: "Records read from Close."}, labels)
	s.deleted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_rows_deleted_total", Help: "Rows soft-deleted."}, labels)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_requests_total", Help: "Close API requests, retries included."}, labels)
	s.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_retries_total", Help: "Close API requests retried."}, labels)
	s.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_last_run_success_timestamp_seconds",
		Help: "When the report last finished successfully."}, labels)
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "closesync_run_duration_seconds", Help: "Run duration.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}, labels)
	s.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "closesync_config_last_reload_successful",
		Help: "Whether the last config reload succeeded."})
	s.reloadOK.Set(1)
	s.build = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_build_info",
		Help: "1, labelled with the version, VCS revision (-dirty: uncommitted changes), Go and DuckDB versions of the binary."},
		[]string{"version", "revision", "goversion", "duckdb"})
	s.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "closesync_api_responses_total",
		Help: "Close API attempts by account, endpoint group and status code (0: no response; 429: rate limited)."},
		[]string{"account", "group", "code"})
	s.remaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_api_rate_limit_remaining",
		Help: "Requests left in the current rate-limit window, as Close's last response said."}, []string{"account", "group"})
	s.lag = &lagCollector{desc: prometheus.NewDesc("closesync_bookmark_lag_seconds",
		"How far behind now the report's committed bookmark is (incremental reports).", []string{"job", "report"}, nil),
		marks: map[[2]string]time.Time{}}
	s.age = &lagCollector{desc: prometheus.NewDesc("closesync_last_success_age_seconds",
		"Seconds since the report's last successful run finished, at the scrape: what a freshness alert should use.",
		[]string{"job", "report"}, nil), marks: map[[2]string]time.Time{}}
	s.verifyOK = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_verify_ok",
		Help: "1 when the report's last verify found its live rows as Close counts them (or behind by what Close changed since the last sync), 0 when they differed or the check failed."}, labels)
	s.verifyDiff = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_verify_difference",
		Help: "Close's count less the database's live rows at the report's last verify (reports Close counts or whose ids it lists)."}, labels)
	s.verifyAt = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "closesync_verify_last_timestamp_seconds",
		Help: "When the report's last verify finished."}, labels)
	s.reg.MustRegister(s.apiCalls, s.remaining, s.lag, s.age, s.verifyOK, s.verifyDiff, s.verifyAt)
	s.reg.MustRegister(s.runs, s.rows, s.extracted, s.deleted, s.requests, s.retries, s.lastSuccess, s.duration, s.reloadOK, s.build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// SetRunNower sets what POST /jobs/{name}/run starts (replaced on reload).
func (s *Status) SetRunNower(r RunNower) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runNow = r
}

// Reloaded records the outcome of a config reload.
func (s *Status) Reloaded(ok bool) {
	if ok {
		s.reloadOK.Set(1)
	} else {
		s.reloadOK.Set(0)
	}
}

// Observe records a finished run.
func (s *Status) Observe(r runlog.Run) {
	status := string(r.Status)
	s.runs.WithLabelValues(r.Job, r.Report, status).Inc()
	s.rows.WithLabelValues(r.Job, r.Report).Add(float64(r.RowsUpserted))
	s.extracted.WithLabelValues(r.Job, r.Report).Add(float64(r.RowsExtracted))
	s.deleted.WithLabelValues(r.Job, r.Report).Add(float64(r.RowsDeleted))
	s.requests.WithLabelValues(r.Job, r.Report).Add(float64(r.Requests))
	s.retries.WithLabelValues(r.Job, r.Report).Add(float64(r.Retries))
	finished := finishedAt(r)
	s.duration.WithLabelValues(r.Job, r.Report).Observe(finished.Sub(r.StartedAt).Seconds())
	if !r.Bookmark.IsZero() {
		s.lag.set(r.Job, r.Report, r.Bookmark.Time())
	}
	if r.Status == runlog.Success {
		s.lastSuccess.WithLabelValues(r.Job, r.Report).Set(float64(finished.Unix()))
		s.age.set(r.Job, r.Report, finished)
	}
	v := runOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = append(s.recent, v)
	if len(s.recent) > recentRuns {
		s.recent = s.recent[len(s.recent)-recentRuns:]
	}
	s.last[r.Job+"/"+r.Report] = v
}

// Verified records the outcome of r, a verify run (it succeeded when it
// found no difference), and, when Close gave a count (counted), Close's
// count less the live rows.
func (s *Status) Verified(r runlog.Run, counted bool, difference int64) {
	ok := 0.0
	if r.Status == runlog.Success {
		ok = 1
	}
	s.verifyOK.WithLabelValues(r.Job, r.Report).Set(ok)
	if counted {
		s.verifyDiff.WithLabelValues(r.Job, r.Report).Set(float64(difference))
	} else {
		s.verifyDiff.DeleteLabelValues(r.Job, r.Report)
	}
	s.verifyAt.WithLabelValues(r.Job, r.Report).Set(float64(finishedAt(r).Unix()))
}

// APIResponse records one Close API attempt: its status code (0 when there
// was no response) and, when the response said (hasRemaining), how many
// requests are left in the current rate-limit window.
func (s *Status) APIResponse(account, group string, code, remaining int, hasRemaining bool) {
	s.apiCalls.WithLabelValues(account, group, strconv.Itoa(code)).Inc()
	if hasRemaining {
		s.remaining.WithLabelValues(account, group).Set(float64(remaining))
	}
}

// lagCollector reports each time's distance from the time of the scrape
// (a bookmark, a last success), so it grows between runs as it really does.
type lagCollector struct {
	desc  *prometheus.Desc
	mu    sync.Mutex
	marks map[[2]string]time.Time
}

func (c *lagCollector) set(job, report string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.marks[[2]string{job, report}] = t
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, t := range c.marks {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, now.Sub(t).Seconds(), k[0], k[1])
	}
}

// Handler serves the endpoints, and at / the list of them.
func (s *Status) Handler() http.Handler {
	mux := http.NewServeMux()
	eps := s.endpoints()
	for _, ep := range eps {
		mux.Handle(ep.method+" "+ep.path, ep.handler)
	}
	mux.Handle("GET /{$}", index(eps))
	return mux
}

// endpoints are what Handler serves, each with what / says of it.
func (s *Status) endpoints() []endpoint {
	return []endpoint{
		{"GET", "/metrics", "Prometheus metrics: runs, rows, requests, rate-limit room, bookmark lag, closesync_build_info",
			promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})},
		{"GET", "/healthz", "200 while the daemon runs, with the last run of each job's reports (JSON)", http.HandlerFunc(s.healthz)},
		{"GET", "/runs", fmt.Sprintf("the last %d finished runs, newest first (JSON)", recentRuns), http.HandlerFunc(s.runsJSON)},
		{"POST", "/jobs/{name}/run", "start the job now: 202, 409 while it runs, 404 for no such job", http.HandlerFunc(s.runJob)},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Our own values always marshal; a failed write to the client has
	// nobody left to tell once the status is sent.
	_ = enc.Encode(v)
}

// healthz answers 200 while the daemon runs, with the last outcome of each
// job's reports; a failing report is reported, not an unhealthy daemon.
func (s *Status) healthz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.last))
	for k := range s.last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reports := make([]run, 0, len(keys))
	for _, k := range keys {
		reports = append(reports, s.last[k])
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "up_since": s.started.UTC(), "last_runs": reports})
}

func (s *Status) runsJSON(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]run, len(s.recent))
	for i, r := range s.recent {
		out[len(s.recent)-1-i] = r // newest first
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Status) runJob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rn := s.runNow
	s.mu.Unlock()
	if rn == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "not ready"})
		return
	}
	name := r.PathValue("name")
	switch err := rn.RunNow(name); {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"job": name, "status": "started"})
	case errors.Is(err, ErrBusy):
		writeJSON(w, http.StatusConflict, map[string]string{"job": name, "error": "already running"})
	case errors.Is(err, ErrUnknown):
		writeJSON(w, http.StatusNotFound, map[string]string{"job": name, "error": err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"job": name, "error": err.Error()})
	}
}
