package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/closesync/closesync/internal/buildinfo"
	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/load"
)

// TestMain lets a test re-run this binary as closesync itself (Prometheus's
// -test.main pattern), so exit codes and signals are tested on a real
// process. It also runs more parallel tests than go test's default of one
// per CPU (unless -parallel is given): the end-to-end tests spend most of
// their time waiting (DuckDB's commits and checkpoints on disk, the fake's
// latency, daemons and killed processes), not computing.
func TestMain(m *testing.M) {
	if os.Getenv("TEST_CLOSESYNC_AS_MAIN") == "1" {
		main()
		return
	}
	// A -race binary sleeps a second before it exits (the race runtime's
	// atexit_sleep_ms) so that racing goroutines can still be reported;
	// every re-run of this binary as closesync would pay it.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" "+childRace))
	// DuckDB's allocator keeps its own decay in these tests and their
	// re-runs: giving freed pages back at once (closesync's default,
	// covered by pkg/load's TestAllocatorGivesFreedPagesBack) costs madvise
	// calls that made this package's tests 30% slower (217 s against
	// 167 s), and their memory is not what they test.
	if os.Getenv(load.AllocatorEnv) == "" {
		os.Setenv(load.AllocatorEnv, duckdbDecay)
	}
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(4, 2*runtime.GOMAXPROCS(0))))
	}
	os.Exit(m.Run())
}

// duckdbDecay is DuckDB's own setting of its jemalloc's decay (1 second).
const duckdbDecay = "dirty_decay_ms:1000,muzzy_decay_ms:1000"

// childRace is the race runtime's option for the re-runs of this binary
// that build their environment from nothing (see TestMain).
const childRace = "atexit_sleep_ms=0"

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startDaemon(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// readRuns opens the file read-only the way an analyst's DuckDB CLI would;
// while a run holds the file the open fails, and the caller retries.
func readRuns(path string) (map[string]int, error) {
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT status, count(*) FROM sync.runs GROUP BY 1
		UNION ALL SELECT 'success:' || report, count(*) FROM sync.runs WHERE status = 'success' AND trigger <> 'verify' GROUP BY report
		UNION ALL SELECT trigger || ':' || status || ':' || report, count(*) FROM sync.runs WHERE trigger = 'verify' GROUP BY ALL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestDaemonSchedulesReloadsAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real daemon process")
	}
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 9, Scale: 30}, "leads", "users")
	// Runs take a few seconds under the race detector on a loaded machine:
	// schedules of 2 and 3 seconds leave a reader gaps between them.
	cfg := strings.Replace(mustRead(t, h.config), `schedule: "@hourly"`, `schedule: "@every 2s"`, 1)
	cfg = "min_interval: 1s\n" + cfg // below the default minimum of 1m
	cfg = strings.Replace(cfg, "log: {level: warn}", "log: {level: info, format: json}", 1)
	// users runs as an entry of its own, on its own schedule; the job
	// verifies its reports every 3 seconds.
	cfg = strings.Replace(cfg, "reports: [leads, users]", `reports: [leads, {name: users, schedule: "@every 3s"}]`+"\n    verify: \"@every 3s\"", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The status endpoint on a free loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg = strings.Replace(cfg, "log: {level: info, format: json}", fmt.Sprintf("log: {level: info, format: json}\nhttp: {listen: %q}", addr), 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := startDaemon(t, "run", "--config", h.config)

	// Runs happen, and a reader gets the file between them.
	var reads int
	var lastErr error
	defer func() {
		if t.Failed() {
			t.Logf("last read error: %v\ndaemon output:\n%s", lastErr, out.String())
		}
	}()
	waitFor(t, "two successful scheduled runs of each report", 2*time.Minute, func() bool {
		runs, err := readRuns(h.db)
		if err != nil {
			lastErr = err
			return false
		}
		reads++
		return runs["success:leads"] >= 2 && runs["success:users"] >= 2 && runs["verify:success:leads"] >= 1 && runs["verify:success:users"] >= 1
	})
	if reads == 0 {
		t.Fatal("no read-only open succeeded between runs")
	}
	checkStatusEndpoint(t, "http://"+addr)

	// A broken config on SIGHUP is refused and the daemon keeps going.
	if err := os.WriteFile(h.config, []byte("database: [not, a, string\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload to be refused", time.Minute, func() bool {
		return strings.Contains(out.String(), "reload failed: keeping the running config")
	})
	// The log, not the file (which back-to-back runs may hold for long),
	// shows the runs that follow.
	waitFor(t, "a successful run after the refused reload", 2*time.Minute, func() bool {
		log := out.String()
		i := strings.Index(log, "reload failed: keeping the running config")
		if i < 0 {
			return false
		}
		for _, line := range strings.Split(log[i:], "\n") {
			if strings.Contains(line, `"msg":"run finished"`) && strings.Contains(line, `"status":"success"`) {
				return true
			}
		}
		return false
	})

	// SIGTERM stops it cleanly.
	stopDaemon(t, cmd, out)
	runs, err := readRuns(h.db)
	if err != nil {
		t.Fatal(err)
	}
	if runs["running"] != 0 || runs["failed"] != 0 {
		t.Errorf("runs after stop = %v, want none running or failed", runs)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no stop message in the log:\n%s", out.String())
	}
	// No entry ever overlapped itself.
	if n := h.count(`SELECT count(*) FROM sync.runs a JOIN sync.runs b ON a.job = b.job AND a.report = b.report
		AND a.run_id < b.run_id AND b.started_at < a.finished_at`); n != 0 {
		t.Errorf("%d pairs of overlapping runs of one report", n)
	}
}

// TestDaemonStopsMidRunAtABatchBoundary starts a first sync of activities
// at startup (run_on_start) and sends SIGTERM only once that run has
// committed a batch: the fake holds the second page past the runner's
// batch age, so its batch commits, and the third page's request (which the
// walk makes only after that commit) is held until the daemon cancels it.
// The daemon must exit 0 with the run recorded as cancelled, the table
// must hold exactly the rows the run recorded (whole batches, more than
// none), the bookmark must be the committed one, and the next run must
// resume from it to the full table instead of starting over.
func TestDaemonStopsMidRunAtABatchBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real daemon process")
	}
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 19, Scale: 300}, "activities")
	gate := &batchGate{next: h.fake, path: "/api/v1/activity/", age: runnerBatchAge + 300*time.Millisecond,
		held: make(chan struct{}), release: make(chan struct{})}
	h.srv = httptest.NewServer(gate)
	t.Cleanup(h.srv.Close)
	t.Cleanup(gate.open) // before the server's Close, which waits for held requests
	h.config = h.writeConfig(closefake.DefaultAPIKey, []string{"activities"})
	cfg := strings.Replace(mustRead(t, h.config), "    account: main\n", "    account: main\n    run_on_start: true\n", 1)
	cfg = strings.Replace(cfg, "log: {level: warn}", "log: {level: info, format: json}", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := startDaemon(t, "run", "--config", h.config)
	select {
	case <-gate.held: // a batch is flushed and the run is waiting on the API
	case <-time.After(60 * time.Second):
		t.Fatalf("the run never asked for its third page\n%s", out.String())
	}
	// The walk fetches a page ahead while the batch before it is written,
	// so the held request may come before that batch commits: wait until
	// the write-ahead log stops growing. Typing a batch writes nothing to
	// the log for a while, longer on a loaded machine (400 ms was too short
	// once in a full suite): nothing else can happen while the third page
	// is held, so wait long.
	waitSettled(t, h.db+".wal", 2*time.Second, 30*time.Second)
	stopDaemon(t, cmd, out)
	rows := h.query(`SELECT status, trigger, rows_upserted FROM sync.runs`)
	if len(rows) != 1 || rows[0][0] != "cancelled" || rows[0][1] != "startup" {
		t.Fatalf("runs = %v, want one cancelled startup run\n%s", rows, out.String())
	}
	// Whole batches only: the table holds exactly what the run recorded,
	// which is the committed batch, not nothing and not everything.
	committed := rows[0][2].(int64)
	total := int64(h.fake.Count("activity"))
	if committed == 0 || committed >= total {
		t.Fatalf("the cancelled run recorded %d rows of %d: the test did not stop it after a committed batch\n%s", committed, total, out.String())
	}
	if got := h.count(`SELECT count(*) FROM close.activities`); got != committed {
		t.Errorf("close.activities has %d rows, the cancelled run recorded %d", got, committed)
	}
	// The committed bookmark is the newest date_created stored (activities
	// are walked in date_created order).
	if n := h.count(`SELECT count(*) FROM sync.state s WHERE s.report = 'activities'
		AND s.bookmark::TIMESTAMPTZ = (SELECT max(date_created) FROM close.activities)`); n != 1 {
		t.Errorf("sync.state: %v, want the bookmark at the newest stored activity (%v)",
			h.query(`SELECT report, bookmark FROM sync.state`), h.query(`SELECT max(date_created) FROM close.activities`))
	}
	// The next run resumes from that bookmark: it reads what is left (and
	// the overlap), not the whole walk again, and ends with the full table.
	h.sync()
	if got := h.count(`SELECT count(*) FROM close.activities`); got != total {
		t.Errorf("after the next sync close.activities has %d rows, fake has %d", got, total)
	}
	if dup := h.count(`SELECT count(*) - count(DISTINCT id) FROM close.activities`); dup != 0 {
		t.Errorf("close.activities: %d duplicate ids", dup)
	}
	next := h.count(`SELECT rows_extracted FROM sync.runs WHERE status = 'success' ORDER BY run_id DESC LIMIT 1`)
	if next >= total || next < total-committed {
		t.Errorf("the resumed run read %d activities; want the %d not yet stored, plus the overlap, fewer than all %d", next, total-committed, total)
	}
}

// waitSettled waits until the size of file has not changed for quiet,
// failing after limit.
func waitSettled(t *testing.T, file string, quiet, limit time.Duration) {
	t.Helper()
	size := func() int64 {
		st, err := os.Stat(file)
		if err != nil {
			return -1
		}
		return st.Size()
	}
	last, since, deadline := size(), time.Now(), time.Now().Add(limit)
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("%s still changing after %s", file, limit)
		}
		time.Sleep(50 * time.Millisecond)
		if n := size(); n != last {
			last, since = n, time.Now()
		}
	}
}

// runnerBatchAge is load.DefaultBatchAge: a batch younger than this
// and smaller than the batch size is not committed yet.
const runnerBatchAge = 5 * time.Second

// batchGate sits in front of the fake and paces one list path: the second
// page is answered only after age (so the runner, whose batches commit by
// size or by age, commits pages one and two when it receives it), and the
// third is held, with held closed, until the client gives up on it or
// open is called. Other requests pass through.
type batchGate struct {
	next    http.Handler
	path    string
	age     time.Duration
	held    chan struct{}
	release chan struct{}
	mu      sync.Mutex
	pages   int
	once    sync.Once
}

func (g *batchGate) open() { g.once.Do(func() { close(g.release) }) }

func (g *batchGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == g.path {
		g.mu.Lock()
		g.pages++
		n := g.pages
		g.mu.Unlock()
		switch n {
		case 2:
			select {
			case <-time.After(g.age):
			case <-r.Context().Done():
				return
			}
		case 3:
			close(g.held)
			select {
			case <-r.Context().Done():
				return
			case <-g.release:
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// stopDaemon sends SIGTERM and requires a clean exit (0) within 40s.
func stopDaemon(t *testing.T, cmd *exec.Cmd, out *syncBuffer) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("no exit within 40s of SIGTERM\n%s", out.String())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkStatusEndpoint exercises / (the list of endpoints), /healthz,
// /metrics (parsed with the Prometheus text parser), /runs and
// POST /jobs/{name}/run.
func checkStatusEndpoint(t *testing.T, base string) {
	t.Helper()
	get := func(path string) (int, []byte) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := get("/")
	for _, want := range []string{"GET   /metrics ", "GET   /healthz ", "GET   /runs ", "POST  /jobs/{name}/run "} {
		if code != 200 || !bytes.Contains(body, []byte(want)) {
			t.Errorf("/ does not list %q: %d %s", want, code, body)
		}
	}
	code, body = get("/healthz")
	var health struct {
		Status   string
		LastRuns []map[string]any `json:"last_runs"`
	}
	if err := json.Unmarshal(body, &health); code != 200 || err != nil || health.Status != "ok" || len(health.LastRuns) != 2 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body = get("/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if code != 200 || err != nil {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, name := range []string{"closesync_runs_total", "closesync_rows_upserted_total", "closesync_requests_total",
		"closesync_last_run_success_timestamp_seconds", "closesync_run_duration_seconds", "closesync_config_last_reload_successful",
		"closesync_api_responses_total", "closesync_api_rate_limit_remaining", "closesync_bookmark_lag_seconds",
		"closesync_last_success_age_seconds", "closesync_verify_ok", "closesync_verify_difference", "closesync_verify_last_timestamp_seconds"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	bi := buildinfo.Read()
	if fam, ok := families["closesync_build_info"]; !ok || len(fam.GetMetric()) != 1 || fam.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("/metrics lacks closesync_build_info 1: %v", fam)
	} else {
		labels := map[string]string{}
		for _, l := range fam.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		want := map[string]string{"version": bi.Version, "revision": bi.RevisionLabel(), "goversion": runtime.Version(), "duckdb": bi.DuckDB}
		if !maps.Equal(labels, want) || !strings.HasPrefix(labels["duckdb"], "v1.") {
			t.Errorf("closesync_build_info labels %v, want %v", labels, want)
		}
	}
	if code, body = get("/runs"); code != 200 || !bytes.Contains(body, []byte(`"report": "users"`)) {
		t.Errorf("/runs: %d %s", code, body)
	}
	for _, path := range []string{"/healthz", "/runs"} {
		if _, body := get(path); bytes.Contains(body, []byte("0001-01-01")) {
			t.Errorf("%s shows a zero time: %s", path, body)
		}
	}
	post := func(path string) int {
		resp, err := http.Post(base+path, "application/json", nil)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/jobs/nope/run"); c != http.StatusNotFound {
		t.Errorf("run-now of an unknown job: %d", c)
	}
	// The job runs every second: the answer is 202 (started) or 409
	// (already running), never anything else.
	if c := post("/jobs/core/run"); c != http.StatusAccepted && c != http.StatusConflict {
		t.Errorf("run-now: %d", c)
	}
}
