package closeapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/retry"
)

func TestRetry(t *testing.T) {
	ok := reply{200, nil, `{"id": "lead_1"}`}
	rl429 := func(h map[string]string, body string) reply { return reply{429, h, body} }
	fixedNow := newFakeClock().Now()
	tests := []struct {
		name       string
		cfg        Config
		replies    []reply
		wantStatus int // 0: success
		wantSleeps []time.Duration
		maxJitter  time.Duration // each sleep in [want, want+maxJitter]
		wantStats  [3]int64      // requests, retries, rate limited
	}{
		{name: "503 then success", cfg: Config{BaseBackoff: 100 * time.Millisecond},
			replies:    []reply{{503, nil, `{"error": "down"}`}, ok},
			wantSleeps: []time.Duration{0}, maxJitter: 100 * time.Millisecond, wantStats: [3]int64{2, 1, 0}},
		{name: "500 502 504 then success", cfg: Config{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second},
			replies:    []reply{{500, nil, ""}, {502, nil, "<html><title>Bad Gateway</title></html>"}, {504, nil, ""}, ok},
			wantSleeps: []time.Duration{0, 0, 0}, maxJitter: 400 * time.Millisecond, wantStats: [3]int64{4, 3, 0}},
		{name: "429 RateLimit reset beats Retry-After",
			replies:    []reply{rl429(map[string]string{"RateLimit": "limit=100, remaining=0, reset=3", "Retry-After": "10"}, ""), ok},
			wantSleeps: []time.Duration{3 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 fractional RateLimit reset",
			replies:    []reply{rl429(map[string]string{"RateLimit": "limit=100, remaining=0, reset=0.5"}, ""), ok},
			wantSleeps: []time.Duration{500 * time.Millisecond}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 Retry-After seconds",
			replies:    []reply{rl429(map[string]string{"Retry-After": "7"}, ""), ok},
			wantSleeps: []time.Duration{7 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 Retry-After date",
			replies:    []reply{rl429(map[string]string{"Retry-After": fixedNow.Add(5 * time.Second).Format(http.TimeFormat)}, ""), ok},
			wantSleeps: []time.Duration{5 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 legacy X-Rate-Limit-Reset",
			replies:    []reply{rl429(map[string]string{"X-Rate-Limit-Limit": "320", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1.5"}, ""), ok},
			wantSleeps: []time.Duration{1500 * time.Millisecond}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 body error.rate_reset",
			replies:    []reply{rl429(nil, `{"error": {"message": "API call count exceeded for this period", "rate_reset": 0.870663, "rate_limit": 40, "rate_window": 1, "rate_limit_type": "key"}}`), ok},
			wantSleeps: []time.Duration{870663 * time.Microsecond}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 body top-level rate_reset string",
			replies:    []reply{rl429(nil, `{"message": "API call count exceeded for this period", "rate_limit": 320, "rate_reset": "0.595956", "rate_window": 8}`), ok},
			wantSleeps: []time.Duration{595956 * time.Microsecond}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 body top-level rate_reset number",
			replies:    []reply{rl429(nil, `{"rate_reset": 4}`), ok},
			wantSleeps: []time.Duration{4 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 without a hint waits 2s",
			replies:    []reply{rl429(nil, `{"error": "slow down"}`), ok},
			wantSleeps: []time.Duration{2 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "429 wait capped by MaxRetryWait", cfg: Config{MaxRetryWait: 10 * time.Second},
			replies:    []reply{rl429(map[string]string{"Retry-After": "3600"}, ""), ok},
			wantSleeps: []time.Duration{10 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 1}},
		{name: "503 Retry-After honoured", cfg: Config{BaseBackoff: time.Millisecond},
			replies:    []reply{{503, map[string]string{"Retry-After": "4"}, ""}, ok},
			wantSleeps: []time.Duration{4 * time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 0}},
		{name: "retries exhausted", cfg: Config{MaxAttempts: 3, BaseBackoff: 10 * time.Millisecond},
			replies:    []reply{{503, nil, `{"error": "Service temporarily unavailable"}`}},
			wantStatus: 503, wantSleeps: []time.Duration{0, 0}, maxJitter: 20 * time.Millisecond, wantStats: [3]int64{3, 2, 0}},
		{name: "429 exhausted", cfg: Config{MaxAttempts: 2},
			replies:    []reply{rl429(map[string]string{"Retry-After": "1"}, `{"error": "slow down"}`)},
			wantStatus: 429, wantSleeps: []time.Duration{time.Second}, maxJitter: rateLimitJitter, wantStats: [3]int64{2, 1, 2}},
		{name: "400 not retried", replies: []reply{{400, nil, `{"error": "bad"}`}, ok}, wantStatus: 400, wantStats: [3]int64{1, 0, 0}},
		{name: "400 max_skip not retried (the caller narrows)", replies: []reply{{400, nil,
			`{"error": "The skip you set is larger than the maximum skip for this resource (max_skip = 250000)."}`}, ok},
			wantStatus: 400, wantStats: [3]int64{1, 0, 0}},
		{name: "401 not retried", replies: []reply{{401, nil, `{"error": "Unauthorized"}`}, ok}, wantStatus: 401, wantStats: [3]int64{1, 0, 0}},
		{name: "402 not retried", replies: []reply{{402, nil, `{"error": "plan limit"}`}, ok}, wantStatus: 402, wantStats: [3]int64{1, 0, 0}},
		{name: "403 not retried", replies: []reply{{403, nil, `{"error": "forbidden"}`}, ok}, wantStatus: 403, wantStats: [3]int64{1, 0, 0}},
		{name: "404 not retried", replies: []reply{{404, nil, `{"error": "Empty query: Lead matching query does not exist."}`}, ok},
			wantStatus: 404, wantStats: [3]int64{1, 0, 0}},
		{name: "backoff ceiling doubles and is capped", cfg: Config{MaxAttempts: 5, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond},
			replies: []reply{{500, nil, ""}}, wantStatus: 500, wantSleeps: []time.Duration{0, 0, 0, 0}, maxJitter: 300 * time.Millisecond,
			wantStats: [3]int64{5, 4, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := &sequence{replies: tt.replies}
			c, fc := newTestClient(t, seq, tt.cfg)
			stats := &Stats{}
			var out map[string]any
			err := c.Get(WithStats(context.Background(), stats), "/lead/lead_1", nil, &out)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if out["id"] != "lead_1" {
					t.Errorf("decoded %v", out)
				}
			} else {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != tt.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
				}
				if want := int(tt.wantStats[0]); ae.Attempts != want {
					t.Errorf("Attempts = %d, want %d", ae.Attempts, want)
				}
				if ae.Attempts > 1 && !strings.Contains(err.Error(), "gave up after") {
					t.Errorf("error does not say it gave up: %v", err)
				}
				if ae.Message == "" && strings.Contains(tt.replies[0].body, "error") {
					t.Errorf("message lost from %q", tt.replies[0].body)
				}
			}
			sleeps := fc.Sleeps()
			if len(sleeps) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %d of them", sleeps, len(tt.wantSleeps))
			}
			for i, d := range sleeps {
				if d < tt.wantSleeps[i] || d > tt.wantSleeps[i]+tt.maxJitter {
					t.Errorf("sleep %d = %v, want in [%v, %v]", i, d, tt.wantSleeps[i], tt.wantSleeps[i]+tt.maxJitter)
				}
			}
			got := [3]int64{stats.Requests.Load(), stats.Retries.Load(), stats.RateLimited.Load()}
			if got != tt.wantStats {
				t.Errorf("stats (requests, retries, rate limited) = %v, want %v", got, tt.wantStats)
			}
			if n := seq.n.Load(); n != tt.wantStats[0] {
				t.Errorf("server saw %d requests, want %d", n, tt.wantStats[0])
			}
		})
	}
}

func TestBackoffCeilings(t *testing.T) {
	rt := &retryTransport{base: 100 * time.Millisecond, maxBackoff: 300 * time.Millisecond}
	ms := time.Millisecond
	ceilings := []time.Duration{100 * ms, 200 * ms, 300 * ms, 300 * ms, 300 * ms}
	for i := 0; i < 200; i++ {
		for n, ceil := range ceilings {
			if d := rt.backoff(n + 1); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want in [0, %v]", n+1, d, ceil)
			}
		}
	}
	if d := rt.backoff(200); d < 0 || d > 300*time.Millisecond {
		t.Fatalf("backoff(200) = %v overflowed", d)
	}
}

func TestReadOnlyPostRetriedWithSameBody(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		n++
		if n == 1 {
			w.WriteHeader(502)
			return
		}
		io.WriteString(w, `{"data": [], "cursor": null}`)
	})
	c, _ := newTestClient(t, h, Config{})
	out := pageBody{shape: shapeSearch}
	if err := c.Post(context.Background(), "/data/search/", map[string]any{"_limit": 200, "query": map[string]any{"type": "and"}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"_limit":200`) {
		t.Errorf("bodies sent = %q", bodies)
	}
}

func TestWritePostNotRetried(t *testing.T) {
	seq := &sequence{replies: []reply{{503, nil, `{"error": "down"}`}, {200, nil, `{}`}}}
	c, fc := newTestClient(t, seq, Config{})
	stats := &Stats{}
	// A Client sends only read-only requests; a POST not marked read-only
	// (reqState.readOnly false) is a write, as from another user of the
	// transport.
	st := &reqState{group: "POST lead"}
	ctx := context.WithValue(WithStats(context.Background(), stats), reqStateKey{}, st)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/lead/", strings.NewReader(`{"name": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || st.attempts != 1 {
		t.Fatalf("status %d after %d attempts, want one 503", resp.StatusCode, st.attempts)
	}
	if seq.n.Load() != 1 || stats.Retries.Load() != 0 || len(fc.Sleeps()) != 0 {
		t.Errorf("write POST retried: %d requests, %d retries", seq.n.Load(), stats.Retries.Load())
	}
	if !Temporary(newAPIError("main", http.MethodPost, "/lead/", resp, st.body, fc.Now(), c.redact)) {
		t.Error("a 503 is temporary even when not retried here")
	}
}

func TestCancelDuringWait(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
	}{
		{"backoff", reply{503, nil, ""}},
		{"rate-limit wait", reply{429, map[string]string{"Retry-After": "3600"}, ""}},
		{"budget wait", reply{200, map[string]string{"RateLimit": "limit=10, remaining=0, reset=3600"}, `{}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := &sequence{replies: []reply{tt.reply}}
			c, _ := newTestClient(t, seq, Config{BaseBackoff: time.Hour, MaxBackoff: time.Hour, MaxRetryWait: time.Hour})
			c.rt.clock = retry.RealClock{} // really wait, so that only cancellation ends it
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var err error
			if tt.reply.status == 200 {
				if err := c.Get(ctx, "/lead/", nil, nil); err != nil { // spends the group's budget
					t.Fatal(err)
				}
			}
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			err = c.Get(ctx, "/lead/", nil, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if Temporary(err) {
				t.Error("the caller's cancellation is not temporary")
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v to notice cancellation", el)
			}
			if seq.n.Load() != 1 {
				t.Errorf("server saw %d requests, want 1", seq.n.Load())
			}
		})
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang until the client gives up on the attempt
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		io.WriteString(w, `{"ok": true}`)
	})
	c, _ := newTestClient(t, h, Config{Timeout: 100 * time.Millisecond})
	stats := &Stats{}
	var out map[string]bool
	if err := c.Get(WithStats(context.Background(), stats), "/me/", nil, &out); err != nil || !out["ok"] {
		t.Fatalf("Get = %v, %v", out, err)
	}
	if stats.Requests.Load() != 2 {
		t.Errorf("requests = %d, want 2", stats.Requests.Load())
	}
}

func TestAttemptTimeoutExhausted(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, h, Config{Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	err := c.Get(context.Background(), "/me/", nil, nil)
	if err == nil || !Temporary(err) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v: want a temporary attempt timeout, not the caller's deadline", err)
	}
	if !strings.Contains(err.Error(), "no response within 50ms") || !strings.Contains(err.Error(), "gave up after 2 attempts") {
		t.Errorf("err = %v", err)
	}
}

// hijack takes over the connection to misbehave at the TCP level.
func hijack(t *testing.T, w http.ResponseWriter, raw string) {
	t.Helper()
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	buf.WriteString(raw)
	buf.Flush()
	conn.Close()
}

func TestDroppedConnectionsRetried(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"closed before response", ""},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\": ["},
		{"truncated headers", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					hijack(t, w, tt.raw)
					return
				}
				io.WriteString(w, `{"data": [{"id": "lead_1"}], "has_more": false}`)
			})
			c, fc := newTestClient(t, h, Config{})
			var out pageBody
			if err := c.Get(context.Background(), "/lead/", nil, &out); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if len(out.Data) != 1 || n.Load() != 2 || len(fc.Sleeps()) != 1 {
				t.Errorf("data %d, requests %d, sleeps %v", len(out.Data), n.Load(), fc.Sleeps())
			}
		})
	}
}

func TestNetworkErrorExhausted(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more: connection refused
	c, err := New(Config{Account: "main", BaseURL: url + "/api/v1", APIKey: testKey, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	fc := newFakeClock()
	c.rt.clock = fc
	stats := &Stats{}
	err = c.Get(WithStats(context.Background(), stats), "/lead/", url2Values("query", "x"), nil)
	if err == nil || !Temporary(err) {
		t.Fatalf("err = %v, want a temporary network error", err)
	}
	if !strings.HasPrefix(err.Error(), "GET /lead/: ") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("err = %q", err)
	}
	if stats.Requests.Load() != 3 || len(fc.Sleeps()) != 2 {
		t.Errorf("requests %d sleeps %v", stats.Requests.Load(), fc.Sleeps())
	}
}

func TestStatsConcurrent(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, `{}`)
	})
	c, _ := newTestClient(t, h, Config{MaxConcurrency: 4, MaxRetryWait: time.Millisecond})
	stats := &Stats{}
	ctx := WithStats(context.Background(), stats)
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Go(func() {
			if err := c.Get(ctx, "/user/", nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	req, ret, rl := stats.Requests.Load(), stats.Retries.Load(), stats.RateLimited.Load()
	if req != n.Load() || req != 30+ret || rl != ret || rl == 0 {
		t.Errorf("requests %d (server %d), retries %d, rate limited %d", req, n.Load(), ret, rl)
	}
}

// rawTransport checks the transport alone: no Client, so no read-only mark.
func TestTransportWithoutClient(t *testing.T) {
	seq := &sequence{replies: []reply{{503, nil, ""}, {200, nil, "{}"}}}
	srv := httptest.NewServer(seq)
	defer srv.Close()
	rt := &retryTransport{next: http.DefaultTransport, budget: NewBudget(2), maxAttempts: 3, base: time.Millisecond,
		maxBackoff: time.Millisecond, maxWait: time.Second, timeout: time.Second, log: zapNop(), clock: newFakeClock()}
	hc := &http.Client{Transport: rt}

	resp, err := hc.Post(srv.URL+"/api/v1/lead/", "application/json", strings.NewReader(`{"name": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || seq.n.Load() != 1 {
		t.Fatalf("unmarked POST: status %d after %d requests, want 503 after 1", resp.StatusCode, seq.n.Load())
	}
	seq.n.Store(0)
	resp, err = hc.Get(srv.URL + "/api/v1/lead/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || seq.n.Load() != 2 {
		t.Fatalf("GET: status %d after %d requests, want 200 after 2", resp.StatusCode, seq.n.Load())
	}
	// A body that cannot be replayed is never retried, even for a read.
	seq.n.Store(0)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/lead/", bufio.NewReader(strings.NewReader("x")))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || seq.n.Load() != 1 {
		t.Fatalf("unreplayable body: status %d after %d requests", resp.StatusCode, seq.n.Load())
	}
}

// A write's response streams (it is not retried, so not buffered) and
// holds its concurrency slot until the body is closed.
func TestStreamedResponseReleasesSlot(t *testing.T) {
	seq := &sequence{replies: []reply{{200, nil, `{"id": "lead_1"}`}}}
	c, _ := newTestClient(t, seq, Config{Budget: NewBudget(1)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		var out map[string]string
		if err := postWrite(ctx, c, "/lead/", `{"name": "x"}`, &out); err != nil || out["id"] != "lead_1" {
			t.Fatalf("write %d: %v %v (slot not released?)", i, out, err)
		}
	}
}

// postWrite sends a write (a POST not marked read-only) through c's
// transport and decodes the response into out.
func postWrite(ctx context.Context, c *Client, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// TestZeroWaitBacksOff: a 429 (or 503) that asks for a wait of zero must
// not make the retries run back to back (dlt-hub/dlt#4036 burned every
// attempt in under a second): a 429 backs off exponentially, at least half
// of each ceiling, so the default 8 attempts span more than 30 s; a 503
// gets the usual full-jitter backoff.
func TestZeroWaitBacksOff(t *testing.T) {
	past := newFakeClock().Now().Add(-time.Minute).Format(http.TimeFormat)
	ceilings := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second}
	tests := []struct {
		name    string
		reply   reply
		atLeast float64 // fraction of each ceiling every sleep waits at least
		minSum  time.Duration
	}{
		{"429 Retry-After: 0", reply{429, map[string]string{"Retry-After": "0"}, ""}, 0.5, 30 * time.Second},
		{"429 RateLimit reset=0", reply{429, map[string]string{"RateLimit": "limit=100, remaining=0, reset=0"}, ""}, 0.5, 30 * time.Second},
		{"429 Retry-After date in the past", reply{429, map[string]string{"Retry-After": past}, ""}, 0.5, 30 * time.Second},
		{"429 zero everywhere", reply{429, map[string]string{"Retry-After": "0", "X-Rate-Limit-Reset": "0"}, `{"rate_reset": 0}`}, 0.5, 30 * time.Second},
		{"503 Retry-After: 0", reply{503, map[string]string{"Retry-After": "0"}, ""}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := &sequence{replies: []reply{tt.reply}}
			c, fc := newTestClient(t, seq, Config{})
			err := c.Get(context.Background(), "/lead/", nil, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.reply.status || ae.Attempts != DefaultMaxAttempts {
				t.Fatalf("err = %v, want %d after %d attempts", err, tt.reply.status, DefaultMaxAttempts)
			}
			sleeps := fc.Sleeps()
			if len(sleeps) != len(ceilings) {
				t.Fatalf("sleeps = %v, want %d", sleeps, len(ceilings))
			}
			var sum time.Duration
			for i, d := range sleeps {
				sum += d
				lo := time.Duration(tt.atLeast * float64(ceilings[i]))
				if d < lo || d > ceilings[i]+rateLimitJitter {
					t.Errorf("sleep %d = %v, want in [%v, %v]", i, d, lo, ceilings[i]+rateLimitJitter)
				}
			}
			if sum < tt.minSum {
				t.Errorf("the %d attempts spanned %v, want at least %v", DefaultMaxAttempts, sum, tt.minSum)
			}
		})
	}
}
