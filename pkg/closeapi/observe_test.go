package closeapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestOnResponseSeesEveryAttempt(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("RateLimit", "limit=100, remaining=57, reset=3")
		fmt.Fprint(w, `{"id": "user_1"}`)
	}))
	defer srv.Close()
	var mu sync.Mutex
	var seen []string
	c, err := New(Config{BaseURL: srv.URL, APIKey: "api_x", BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		OnResponse: func(group string, status int, rl RateLimit, hasRL bool) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprint(group, " ", status, " ", rl.Remaining, " ", hasRL))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[GET me 503 0 false GET me 200 57 true]" {
		t.Errorf("observed %v", seen)
	}
}
