package closeapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/closesync/closesync/internal/retry"
)

// rateLimitedServer reports remaining=0 (reset 5s) on the first /lead/
// response and plenty afterwards; it logs the order of requests.
type rateLimitedServer struct {
	mu    sync.Mutex
	leads int
	order []string
}

func (s *rateLimitedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.order = append(s.order, r.URL.Path)
	if r.URL.Path == "/api/v1/lead/" {
		s.leads++
		if s.leads == 1 {
			w.Header().Set("RateLimit", "limit=10, remaining=0, reset=5")
		} else {
			w.Header().Set("RateLimit", "limit=10, remaining=9, reset=8")
		}
	}
	s.mu.Unlock()
	io.WriteString(w, `{"data": [], "has_more": false}`)
}

func TestBudgetWaitsWhenRemainingZero(t *testing.T) {
	srv := &rateLimitedServer{}
	c, fc := newTestClient(t, srv, Config{})
	windowed(c.Budget(), "GET lead", fc.Now())
	ctx := context.Background()
	if err := c.Get(ctx, "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n, ok := c.Budget().Remaining("GET lead"); !ok || n != 0 {
		t.Fatalf("Remaining(GET lead) = %d, %v", n, ok)
	}
	if err := c.Get(ctx, "/contact/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := fc.Sleeps(); len(s) != 0 {
		t.Fatalf("another group waited: %v", s)
	}
	if err := c.Get(ctx, "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := fc.Sleeps(); len(s) != 1 || s[0] != 5*time.Second {
		t.Fatalf("second /lead/ sleeps %v, want [5s]", s)
	}
	if n, ok := c.Budget().Remaining("GET lead"); !ok || n != 9 {
		t.Errorf("Remaining after reset = %d, %v; want 9", n, ok)
	}
}

func TestBudgetSharedAcrossClients(t *testing.T) {
	b := NewBudget(4)
	windowed(b, "GET lead", time.Time{})
	srv := &rateLimitedServer{}
	a, _ := newTestClient(t, srv, Config{Account: "a", Budget: b})
	other, fc := newTestClient(t, srv, Config{Account: "b", Budget: b})
	if err := a.Get(context.Background(), "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Get(context.Background(), "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := fc.Sleeps(); len(s) != 1 || s[0] != 5*time.Second {
		t.Errorf("client b sleeps %v, want [5s] (a spent the shared group)", s)
	}
}

// TestBudgetLimitsConcurrency: a budget of 2 shared by two clients lets
// exactly 2 requests be in flight, never more and not fewer. Each request
// waits (up to a second, in case the budget serializes them) until two are
// in flight, so reaching 2 does not depend on the scheduler.
func TestBudgetLimitsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int64
	both := make(chan struct{})
	var open sync.Once
	openGate := func() { open.Do(func() { close(both) }) }
	gate := time.AfterFunc(time.Second, openGate)
	defer gate.Stop()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= 2 {
			openGate()
		}
		<-both
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		io.WriteString(w, `{}`)
	})
	b := NewBudget(2)
	c1, _ := newTestClient(t, h, Config{Budget: b})
	c2, _ := newTestClient(t, h, Config{Budget: b, MaxConcurrency: 50}) // the shared budget's bound wins
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Go(func() {
			if err := c.Get(context.Background(), "/user/", nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak of %d requests in flight, want the budget's 2", p)
	}
}

// TestBudgetWaitRealClock runs the real timer path in a synctest bubble:
// the group opens exactly at its reset, and cancellation ends the wait.
func TestBudgetWaitRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(1)
		windowed(b, "GET lead", time.Now())
		b.observe("GET lead", RateLimit{Limit: 10, Remaining: 0, Reset: 5 * time.Second}, time.Now())
		start := time.Now()
		var done atomic.Bool
		go func() {
			release, waited, err := b.acquire(context.Background(), "GET lead", retry.RealClock{}, time.Minute)
			if err != nil || waited != 5*time.Second {
				t.Errorf("acquire: waited %v, %v", waited, err)
				return
			}
			release()
			done.Store(true)
		}()
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if done.Load() {
			t.Fatal("group opened before its reset")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !done.Load() || time.Since(start) != 5*time.Second {
			t.Fatalf("group not open at its reset (after %v)", time.Since(start))
		}

		b.observe("GET lead", RateLimit{Remaining: 0, Reset: time.Hour}, time.Now())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := b.acquire(ctx, "GET lead", retry.RealClock{}, time.Hour)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("acquire = %v, want the caller's deadline", err)
		}
	})
}

// TestBackoffRealClock drives a Client over an in-memory transport in a
// synctest bubble, so the real timers run on the fake clock.
func TestBackoffRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seq := &sequence{replies: []reply{{503, nil, ""}, {503, nil, ""}, {200, nil, `{}`}}}
		c, err := New(Config{APIKey: testKey, BaseURL: "http://close.test/api/v1", Transport: handlerTransport{seq},
			BaseBackoff: time.Second, MaxBackoff: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.Get(context.Background(), "/lead/", nil, nil); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 3*time.Second || seq.n.Load() != 3 {
			t.Errorf("took %v and %d requests; backoff ceilings are 1s then 2s", el, seq.n.Load())
		}

		// The caller's deadline ends a long backoff and is not temporary.
		seq = &sequence{replies: []reply{{503, nil, ""}}}
		c, _ = New(Config{APIKey: testKey, BaseURL: "http://close.test/api/v1", Transport: handlerTransport{seq},
			BaseBackoff: time.Hour, MaxBackoff: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start = time.Now()
		err = c.Get(ctx, "/lead/", nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) || Temporary(err) {
			t.Fatalf("err = %v, want the caller's deadline, not temporary", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("returned after %v", el)
		}
	})
}

// TestBudgetsShareOneBudgetPerKey: two clients built from the registry for
// one key (as two generations of clients are, across a reload) share one
// budget, so the second sees what the first spent.
func TestBudgetsShareOneBudgetPerKey(t *testing.T) {
	r := NewBudgets()
	windowed(r.For(testKey, 2), "GET lead", time.Time{})
	srv := &rateLimitedServer{}
	first, _ := newTestClient(t, srv, Config{Account: "a", Budget: r.For(testKey, 2)})
	second, fc := newTestClient(t, srv, Config{Account: "a", Budget: r.For(" "+testKey+"\n", 2)})
	if first.Budget() != second.Budget() {
		t.Fatal("one key, two budgets")
	}
	if r.For("api_anotherKey", 2) == first.Budget() {
		t.Error("another key shares the budget")
	}
	if err := first.Get(context.Background(), "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := second.Get(context.Background(), "/lead/", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := fc.Sleeps(); len(s) != 1 || s[0] != 5*time.Second {
		t.Errorf("second client sleeps %v, want [5s] (the first spent the shared group)", s)
	}
}

// TestBudgetsNewConcurrencyKeepsState: a reload that changes a key's
// concurrency gets a budget with the new bound and the old group state.
func TestBudgetsNewConcurrencyKeepsState(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := NewBudgets()
	old := r.For(testKey, 2)
	old.observe("GET lead", RateLimit{Limit: 10, Remaining: 3, Reset: 10 * time.Second}, now)
	old.block("GET contact", 4*time.Second, now)
	b := r.For(testKey, 5)
	if b == old || cap(b.sem) != 5 {
		t.Fatalf("concurrency %d, want a new budget of 5", cap(b.sem))
	}
	if n, ok := b.Remaining("GET lead"); !ok || n != 3 {
		t.Errorf("Remaining = %d, %v; want 3, true (kept)", n, ok)
	}
	if d := b.reserve("GET contact", now); d != 4*time.Second {
		t.Errorf("blocked group waits %v, want 4s (kept)", d)
	}
	if r.For(testKey, 5) != b {
		t.Error("the registry did not keep the new budget")
	}
	if d := NewBudgets().For(testKey, 0); cap(d.sem) != DefaultMaxConcurrency {
		t.Errorf("concurrency 0 gives %d slots, want the default", cap(d.sem))
	}
}

// TestBudgetsConcurrentUse runs For from many goroutines (under -race).
func TestBudgetsConcurrentUse(t *testing.T) {
	r := NewBudgets()
	var wg sync.WaitGroup
	got := make([]*Budget, 16)
	for i := range got {
		wg.Go(func() { got[i] = r.For(testKey, 3) })
	}
	wg.Wait()
	for i, b := range got {
		if b != got[0] {
			t.Fatalf("call %d got another budget", i)
		}
	}
}
