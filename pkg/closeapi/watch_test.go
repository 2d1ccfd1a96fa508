package closeapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestWatchSeesRetriesRateLimitWaitsAndPages: a context's Watch is told of
// a retry (with the failed status), of a wait on the rate-limit budget
// (with its length) and of each page of a listing with its total_results,
// in the order they happen; a context without one is not.
func TestWatchSeesRetriesRateLimitWaitsAndPages(t *testing.T) {
	srv := &sequence{replies: []reply{
		{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": "0"}},
		{status: http.StatusOK, header: map[string]string{"RateLimit": "limit=10, remaining=0, reset=5"},
			body: `{"data": [{"id": "lead_1"}, {"id": "lead_2"}], "has_more": true, "total_results": 3}`},
		{status: http.StatusOK, header: map[string]string{"RateLimit": "limit=10, remaining=9, reset=5"},
			body: `{"data": [{"id": "lead_3"}], "has_more": false, "total_results": 3}`},
	}}
	c, fc := newTestClient(t, srv, Config{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	windowed(c.Budget(), "GET lead", fc.Now())
	var mu sync.Mutex
	var seen []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf(format, args...))
	}
	w := &Watch{
		RateLimited: func(group string, d time.Duration) { note("wait %s %v", group, d) },
		Retrying:    func(attempt int, _ time.Duration, status int) { note("retry %d after %d", attempt, status) },
		Page: func(path string, p Page) {
			total := int64(-1)
			if p.TotalResults != nil {
				total = *p.TotalResults
			}
			note("page %s %d: %d of %d", path, p.Number, len(p.Data), total)
		},
	}
	var got int
	err := c.ListOffset(WithWatch(context.Background(), w), "/lead/", nil, 2, func(p Page) error {
		got += len(p.Data)
		return nil
	})
	if err != nil || got != 3 {
		t.Fatalf("ListOffset: %d records, %v", got, err)
	}
	want := []string{"retry 1 after 503", "page /lead/ 1: 2 of 3", "wait GET lead 5s", "page /lead/ 2: 1 of 3"}
	if !slices.Equal(seen, want) {
		t.Errorf("the watch saw %q, want %q", seen, want)
	}

	seen = nil
	srv.n.Store(0)
	if err := c.ListOffset(context.Background(), "/lead/", nil, 2, func(Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Errorf("a context without the watch told it %q", seen)
	}
}
