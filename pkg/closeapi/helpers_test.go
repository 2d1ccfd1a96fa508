package closeapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

const testKey = "api_7kS3cr3tKeyForTestsOnly"

// fakeClock never sleeps: Sleep records the duration and moves Now on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// newTestClient serves h on loopback under /api/v1 and returns a client
// for it whose sleeps go to a fake clock. Zero cfg fields get test values.
func newTestClient(t *testing.T, h http.Handler, cfg Config) (*Client, *fakeClock) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/api/v1"
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Account == "" {
		cfg.Account = "main"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fc := newFakeClock()
	c.rt.clock = fc
	return c, fc
}

// reply is one canned response.
type reply struct {
	status int
	header map[string]string
	body   string
}

// sequence answers the n-th request with replies[n], repeating the last.
type sequence struct {
	replies []reply
	n       atomic.Int64
}

func (s *sequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	rep := s.replies[min(i, len(s.replies)-1)]
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	fmt.Fprint(w, rep.body)
}

// handlerTransport serves requests in memory (no sockets), for tests in
// a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func url2Values(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}

func zapNop() *zap.Logger { return zap.NewNop() }

// windowed makes group a windowed one, as a 429 does: a group whose count
// ran out then waits for its window's reset, not the next token of a
// bucket.
func windowed(b *Budget, group string, now time.Time) {
	b.block(group, 0, now)
}
