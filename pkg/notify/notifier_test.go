package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/closesync/closesync/internal/retry"
	"github.com/closesync/closesync/pkg/runlog"
)

// hook is a test webhook on loopback. It records every request, then
// answers with respond (200 when nil); n counts requests from 1.
type hook struct {
	srv     *httptest.Server
	arrived chan int // request numbers as they arrive

	mu   sync.Mutex
	reqs []request
}

type request struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
	msg    Message
}

type responder func(n int, w http.ResponseWriter, r *http.Request)

func newHook(t *testing.T, respond responder) *hook {
	t.Helper()
	h := &hook{arrived: make(chan int, 1<<14)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m Message
		_ = json.Unmarshal(body, &m)
		h.mu.Lock()
		h.reqs = append(h.reqs, request{method: r.Method, url: r.URL, header: r.Header.Clone(), body: body, msg: m})
		n := len(h.reqs)
		h.mu.Unlock()
		h.arrived <- n
		if respond != nil {
			respond(n, w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// hangingHook never answers until the test ends or the client gives up.
func hangingHook(t *testing.T) *hook {
	t.Helper()
	release := make(chan struct{})
	h := newHook(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before h.srv.Close
	return h
}

func (h *hook) requests() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]request(nil), h.reqs...)
}

// wait blocks until request number n has arrived.
func (h *hook) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-h.arrived:
			if got >= n {
				return
			}
		case <-timeout:
			t.Fatalf("request %d never arrived", n)
		}
	}
}

func statusResponder(statuses ...int) responder {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= len(statuses) {
			w.WriteHeader(statuses[n-1])
		}
	}
}

// sleeps records the backoff waits and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func maxJitter(n int64) int64 { return n - 1 }

func newTestNotifier(t *testing.T, cfg Config, h hooks) (*Notifier, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	n, err := newNotifier(cfg, zap.New(core), nil, h)
	if err != nil {
		t.Fatalf("newNotifier: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n, logs
}

func closeOK(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close() = %v", err)
	}
}

func checkStats(t *testing.T, n *Notifier, sent, failed, dropped int64) {
	t.Helper()
	if s, f, d := n.Stats(); s != sent || f != failed || d != dropped {
		t.Errorf("Stats() = sent %d, failed %d, dropped %d; want %d, %d, %d", s, f, d, sent, failed, dropped)
	}
}

func failedRun(id int64) runlog.Run {
	finished := time.Date(2026, 8, 1, 12, 1, 0, 0, time.UTC)
	return runlog.Run{ID: id, Job: "hourly", Report: "leads", Account: "main", Trigger: "schedule", Status: runlog.Failed,
		StartedAt: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC), FinishedAt: &finished,
		Error: "boom"}
}

func warnings(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterLevelExact(zapcore.WarnLevel).AllUntimed()
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name   string
		jitter func(int64) int64
		want   []time.Duration
	}{
		{name: "longest waits", jitter: maxJitter, want: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "shortest waits", jitter: func(int64) int64 { return 0 }, want: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t, statusResponder(http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK))
			rec := &sleeps{}
			n, logs := newTestNotifier(t, Config{URL: h.srv.URL, Delay: 100 * time.Millisecond}, hooks{sleep: rec.sleep, jitter: tt.jitter})
			n.Notify(failedRun(1), Changes{})
			closeOK(t, n)

			reqs := h.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			for _, r := range reqs[1:] {
				if r.header.Get("Idempotency-Key") != reqs[0].header.Get("Idempotency-Key") || string(r.body) != string(reqs[0].body) {
					t.Error("a retry changed the Idempotency-Key or the body")
				}
			}
			if got := rec.got(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("waits = %v, want %v", got, tt.want)
			}
			checkStats(t, n, 1, 0, 0)
			if w := warnings(logs); len(w) != 0 {
				t.Errorf("warnings logged for a delivered message: %v", w)
			}
		})
	}
}

func TestBackoffCapped(t *testing.T) {
	n := &Notifier{cfg: Config{Delay: 10 * time.Second}, hooks: hooks{jitter: maxJitter}}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := n.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := n.backoff(200); got != time.Minute {
		t.Errorf("backoff(200) = %v, want the cap", got)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		after  string
		want   time.Duration
	}{
		{name: "429 seconds", status: http.StatusTooManyRequests, after: "7", want: 7 * time.Second},
		{name: "429 capped", status: http.StatusTooManyRequests, after: "3600", want: time.Minute},
		{name: "503 seconds", status: http.StatusServiceUnavailable, after: "2", want: 2 * time.Second},
		{name: "429 date", status: http.StatusTooManyRequests, after: now.Add(30 * time.Second).Format(http.TimeFormat), want: 30 * time.Second},
		{name: "429 without header backs off", status: http.StatusTooManyRequests, want: time.Second},
		{name: "408 garbage backs off", status: http.StatusRequestTimeout, after: "soon", want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					if tt.after != "" {
						w.Header().Set("Retry-After", tt.after)
					}
					w.WriteHeader(tt.status)
				}
			})
			rec := &sleeps{}
			n, _ := newTestNotifier(t, Config{URL: h.srv.URL, Delay: time.Second},
				hooks{sleep: rec.sleep, jitter: maxJitter, now: func() time.Time { return now }})
			n.Notify(failedRun(1), Changes{})
			closeOK(t, n)
			if got := rec.got(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("waits = %v, want [%v]", got, tt.want)
			}
			if len(h.requests()) != 2 {
				t.Errorf("%d requests, want 2", len(h.requests()))
			}
			checkStats(t, n, 1, 0, 0)
		})
	}
}

func TestPermanentFailureNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone,
		http.StatusUnprocessableEntity, http.StatusMovedPermanently, http.StatusTemporaryRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			h := newHook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Location", "/elsewhere") // not followed by the default client
					w.WriteHeader(status)
				}
			})
			rec := &sleeps{}
			n, logs := newTestNotifier(t, Config{URL: h.srv.URL + "/hook?token=abc"}, hooks{sleep: rec.sleep})
			n.Notify(failedRun(1), Changes{})
			closeOK(t, n)
			if got := len(h.requests()); got != 1 {
				t.Errorf("%d requests, want 1", got)
			}
			if got := rec.got(); len(got) != 0 {
				t.Errorf("waits = %v, want none", got)
			}
			checkStats(t, n, 0, 1, 0)
			w := warnings(logs)
			if len(w) != 1 {
				t.Fatalf("%d warnings, want 1: %v", len(w), w)
			}
			fields := w[0].ContextMap()
			if fields["status"] != int64(status) || fields["host"] != h.srv.Listener.Addr().String() || fields["attempts"] != int64(1) {
				t.Errorf("warning fields = %v", fields)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	for _, status := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			h := newHook(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) })
			rec := &sleeps{}
			n, logs := newTestNotifier(t, Config{URL: h.srv.URL, Attempts: 3}, hooks{sleep: rec.sleep})
			n.Notify(failedRun(1), Changes{})
			closeOK(t, n)
			if got := len(h.requests()); got != 3 {
				t.Errorf("%d requests, want 3", got)
			}
			if got := rec.got(); len(got) != 2 {
				t.Errorf("waits = %v, want 2", got)
			}
			checkStats(t, n, 0, 1, 0)
			if w := warnings(logs); len(w) != 1 || w[0].ContextMap()["status"] != int64(status) {
				t.Errorf("warnings = %v, want one with status %d", w, status)
			}
		})
	}
}

func TestRequestTimeoutRetried(t *testing.T) {
	h := hangingHook(t)
	rec := &sleeps{}
	n, logs := newTestNotifier(t, Config{URL: h.srv.URL, Attempts: 2, Timeout: 50 * time.Millisecond}, hooks{sleep: rec.sleep})
	n.Notify(failedRun(1), Changes{})
	closeOK(t, n)
	if got := len(h.requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	checkStats(t, n, 0, 1, 0)
	w := warnings(logs)
	if len(w) != 1 || !strings.Contains(fmt.Sprint(w[0].ContextMap()["error"]), "deadline exceeded") {
		t.Errorf("warnings = %v, want one timeout", w)
	}
}

func TestRequestShape(t *testing.T) {
	h := newHook(t, nil)
	cfg := Config{URL: h.srv.URL + "/hooks/closesync?token=abc", On: []string{OnSuccess, OnChanges},
		Headers: map[string]string{"Authorization": "Bearer t0k", "x-custom": "1"}}
	n, _ := newTestNotifier(t, cfg, hooks{})
	s := failedRun(9)
	s.Status = runlog.Success
	s.Error = ""
	n.Notify(s, Changes{Updated: []string{"lead_1", "lead_2"}})
	closeOK(t, n)

	reqs := h.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, want := range []string{EventSucceeded, EventChanges} {
		r := reqs[i]
		if r.method != http.MethodPost || r.url.Path != "/hooks/closesync" || r.url.Query().Get("token") != "abc" {
			t.Errorf("request %d: %s %s", i, r.method, r.url)
		}
		for k, v := range map[string]string{"Content-Type": "application/json", "User-Agent": "closesync",
			"Authorization": "Bearer t0k", "X-Custom": "1", "Idempotency-Key": r.msg.ID} {
			if got := r.header.Get(k); got != v {
				t.Errorf("request %d header %s = %q, want %q", i, k, got, v)
			}
		}
		if r.msg.Event != want || r.msg.Run.RunID != 9 || r.msg.Run.Status != string(runlog.Success) || r.msg.ID == "" {
			t.Errorf("request %d message = %+v", i, r.msg)
		}
	}
	if reqs[0].msg.ID == reqs[1].msg.ID {
		t.Error("two messages share an Idempotency-Key")
	}
	if c := reqs[1].msg.Changes; c == nil || len(c.Updated) != 2 || reqs[1].msg.Batch == nil || *reqs[1].msg.Batch != (Batch{1, 1}) {
		t.Errorf("changes message = %+v", reqs[1].msg)
	}
}

func TestChangesBatchesDelivered(t *testing.T) {
	h := newHook(t, nil)
	n, _ := newTestNotifier(t, Config{URL: h.srv.URL, On: []string{OnChanges}}, hooks{})
	n.Notify(failedRun(3), Changes{Created: ids("c", 1200), Updated: ids("u", 1000), Deleted: ids("d", 300)})
	closeOK(t, n)
	reqs := h.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if b := r.msg.Batch; b == nil || b.Index != i+1 || b.Count != 3 {
			t.Errorf("request %d batch = %+v", i, b)
		}
	}
	checkStats(t, n, 3, 0, 0)
}

func TestQueueOverflowDropsOldest(t *testing.T) {
	release := make(chan struct{})
	h := newHook(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	n, logs := newTestNotifier(t, Config{URL: h.srv.URL, QueueSize: 3}, hooks{})
	n.Notify(failedRun(1), Changes{})
	h.wait(t, 1) // run 1 is in flight, the queue is empty
	for id := int64(2); id <= 6; id++ {
		n.Notify(failedRun(id), Changes{})
	}
	checkStats(t, n, 0, 0, 2)
	w := warnings(logs)
	if len(w) != 2 || w[0].Message != "webhook queue full, oldest messages dropped" || w[0].ContextMap()["oldest_run_id"] != int64(2) {
		t.Errorf("warnings = %v", w)
	}
	close(release)
	closeOK(t, n)

	var got []int64
	for _, r := range h.requests() {
		got = append(got, r.msg.Run.RunID)
	}
	if fmt.Sprint(got) != "[1 4 5 6]" {
		t.Errorf("delivered runs %v, want [1 4 5 6]", got)
	}
	checkStats(t, n, 4, 0, 2)
}

func TestNotifyNeverBlocks(t *testing.T) {
	h := hangingHook(t)
	n, _ := newTestNotifier(t, Config{URL: h.srv.URL, On: []string{OnFailure, OnChanges}, QueueSize: 4, ChangesBatch: 10,
		Timeout: time.Minute}, hooks{})
	const calls = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := range int64(calls) {
			n.Notify(failedRun(id+1), Changes{Created: ids("c", 100)}) // 1 + 10 messages
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked on a hanging endpoint")
	}
	h.wait(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.Close(ctx)
	var de *DroppedError
	if !errors.As(err, &de) || de.Count != 5 { // 4 queued + 1 in flight
		t.Errorf("Close() = %v, want 5 dropped", err)
	}
	checkStats(t, n, 0, 0, calls*11)
}

func TestCloseDeliversPending(t *testing.T) {
	h := newHook(t, nil)
	n, logs := newTestNotifier(t, Config{URL: h.srv.URL}, hooks{})
	for id := int64(1); id <= 20; id++ {
		n.Notify(failedRun(id), Changes{})
	}
	closeOK(t, n)
	reqs := h.requests()
	if len(reqs) != 20 {
		t.Fatalf("%d requests, want 20", len(reqs))
	}
	for i, r := range reqs {
		if r.msg.Run.RunID != int64(i+1) {
			t.Fatalf("request %d is run %d: out of order", i, r.msg.Run.RunID)
		}
	}
	checkStats(t, n, 20, 0, 0)

	n.Notify(failedRun(21), Changes{})
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if len(h.requests()) != 20 {
		t.Error("a message queued after Close was sent")
	}
	checkStats(t, n, 20, 0, 1)
	if w := warnings(logs); len(w) != 1 || w[0].Message != "webhook notifier closed, messages dropped" {
		t.Errorf("warnings = %v", w)
	}
}

func TestCloseExpiredContext(t *testing.T) {
	h := hangingHook(t)
	n, _ := newTestNotifier(t, Config{URL: h.srv.URL, Timeout: time.Minute}, hooks{})
	for id := int64(1); id <= 3; id++ {
		n.Notify(failedRun(id), Changes{})
	}
	h.wait(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := n.Close(ctx)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	var de *DroppedError
	if !errors.As(err, &de) || de.Count != 3 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Close() = %v, want 3 dropped and context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "3 webhook messages dropped") {
		t.Errorf("Close() = %q", err)
	}
	checkStats(t, n, 0, 0, 3)
}

func TestCloseInterruptsBackoff(t *testing.T) {
	h := newHook(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	sleeping := make(chan time.Duration, 1)
	realSleep := func(ctx context.Context, d time.Duration) error {
		sleeping <- d
		return retry.Sleep(ctx, d)
	}
	n, _ := newTestNotifier(t, Config{URL: h.srv.URL, Delay: 50 * time.Second}, hooks{sleep: realSleep})
	n.Notify(failedRun(1), Changes{})
	select {
	case d := <-sleeping:
		if d < 25*time.Second {
			t.Errorf("backoff %v, want at least 25s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never backed off")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := n.Close(ctx)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	var de *DroppedError
	if !errors.As(err, &de) || de.Count != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close() = %v, want 1 dropped and a deadline", err)
	}
	checkStats(t, n, 0, 0, 1)
}

func TestSecretsNeverLogged(t *testing.T) {
	secrets := []string{"hdr-secret-1", "hdr-secret-2", "url-secret-3"}
	headers := map[string]string{"Authorization": "Bearer " + secrets[0], "X-Api-Key": secrets[1]}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	rec := &sleeps{}
	run := func(url string, cfg Config, work func(n *Notifier)) {
		cfg.URL, cfg.Headers = url+"/hook?token="+secrets[2], headers
		n, err := newNotifier(cfg, log, nil, hooks{sleep: rec.sleep})
		if err != nil {
			t.Fatal(err)
		}
		work(n)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Close(ctx); err != nil && strings.Contains(err.Error(), secrets[2]) {
			t.Errorf("Close() = %q leaks the URL", err)
		}
	}

	// A retry, then a permanent failure.
	h := newHook(t, statusResponder(http.StatusServiceUnavailable, http.StatusBadRequest))
	run(h.srv.URL, Config{}, func(n *Notifier) { n.Notify(failedRun(1), Changes{}) })

	// Transport errors: nothing listens any more.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	run(gone.URL, Config{Attempts: 2}, func(n *Notifier) { n.Notify(failedRun(2), Changes{}) })

	// Overflow, then messages abandoned at close.
	hang := hangingHook(t)
	run(hang.srv.URL, Config{QueueSize: 1}, func(n *Notifier) {
		n.Notify(failedRun(3), Changes{})
		hang.wait(t, 1)
		n.Notify(failedRun(4), Changes{})
		n.Notify(failedRun(5), Changes{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = n.Close(ctx)
		n.Notify(failedRun(6), Changes{})
	})

	if logs.Len() < 6 {
		t.Fatalf("only %d log entries: the scenarios did not run", logs.Len())
	}
	var sawRefused bool
	for _, e := range logs.AllUntimed() {
		text := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("log entry leaks %q: %s", s, text)
			}
		}
		if strings.Contains(text, "/hook") {
			t.Errorf("log entry holds the URL path: %s", text)
		}
		sawRefused = sawRefused || strings.Contains(text, "refused")
	}
	if !sawRefused {
		t.Error("no transport error was logged")
	}
}

func TestConcurrentNotify(t *testing.T) {
	h := newHook(t, nil)
	n, _ := newTestNotifier(t, Config{URL: h.srv.URL, QueueSize: 1000}, hooks{})
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				n.Notify(failedRun(int64(g*1000+i)), Changes{})
			}
		})
	}
	wg.Wait()
	closeOK(t, n)
	checkStats(t, n, senders*each, 0, 0)
	last := map[int64]int64{}
	for _, r := range h.requests() {
		g, i := r.msg.Run.RunID/1000, r.msg.Run.RunID%1000
		if prev, ok := last[g]; ok && i <= prev {
			t.Fatalf("sender %d: run %d delivered after %d", g, i, prev)
		}
		last[g] = i
	}
}

func TestNilNotifier(t *testing.T) {
	var n *Notifier
	n.Notify(failedRun(1), Changes{})
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if s, f, d := n.Stats(); s+f+d != 0 {
		t.Errorf("Stats() = %d, %d, %d", s, f, d)
	}
}

func TestNewDefaults(t *testing.T) {
	n, err := New(Config{URL: "https://hooks.example.com/x"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Close(context.Background()) }()
	if n.cfg.Attempts != DefaultAttempts || n.client.CheckRedirect == nil || !n.own {
		t.Errorf("defaults not applied: %+v", n.cfg)
	}
	// Success alone is not wanted by default: nothing is queued.
	n.Notify(runlog.Run{ID: 1, Status: runlog.Success}, Changes{Created: []string{"a"}})
	n.mu.Lock()
	queued := len(n.queue)
	n.mu.Unlock()
	if queued != 0 {
		t.Errorf("%d messages queued for a success under the default On", queued)
	}
}
