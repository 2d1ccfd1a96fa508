package closeapi

import (
	"net/http"
	"testing"
	"time"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		want   RateLimit
		wantOK bool
	}{
		{"current header (closeio-api test)", hdr("RateLimit", "limit=100, remaining=0, reset=1"), RateLimit{100, 0, time.Second}, true},
		{"current header with budget left", hdr("RateLimit", "limit=600, remaining=599, reset=8"), RateLimit{600, 599, 8 * time.Second}, true},
		{"fractional reset", hdr("RateLimit", "limit=40, remaining=3, reset=0.870663"), RateLimit{40, 3, 870663 * time.Microsecond}, true},
		{"no spaces, odd case", hdr("RateLimit", "Limit=10,Remaining=2,Reset=5"), RateLimit{10, 2, 5 * time.Second}, true},
		{"draft-RFC keys", hdr("RateLimit", `"default";r=7;t=30`), RateLimit{0, 7, 30 * time.Second}, true},
		{"legacy headers (2017 recordings)", hdr("X-Rate-Limit-Limit", "600", "X-Rate-Limit-Remaining", "599", "X-Rate-Limit-Reset", "14.510896"),
			RateLimit{600, 599, 14510896 * time.Microsecond}, true},
		{"legacy exhausted", hdr("X-Rate-Limit-Limit", "320", "X-Rate-Limit-Remaining", "0", "X-Rate-Limit-Reset", "0.595956"),
			RateLimit{320, 0, 595956 * time.Microsecond}, true},
		{"split RateLimit-* headers", hdr("RateLimit-Limit", "100", "RateLimit-Remaining", "50", "RateLimit-Reset", "20"),
			RateLimit{100, 50, 20 * time.Second}, true},
		{"current header wins over legacy", hdr("RateLimit", "limit=100, remaining=5, reset=2", "X-Rate-Limit-Remaining", "0"),
			RateLimit{100, 5, 2 * time.Second}, true},
		{"garbage current header falls back to legacy", hdr("RateLimit", "nonsense", "X-Rate-Limit-Remaining", "4"), RateLimit{0, 4, 0}, true},
		{"no remaining", hdr("RateLimit", "limit=100, reset=1"), RateLimit{}, false},
		{"negative remaining", hdr("X-Rate-Limit-Remaining", "-1"), RateLimit{}, false},
		{"none", http.Header{}, RateLimit{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRateLimit(tt.h)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("ParseRateLimit = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseRateReset(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   time.Duration
		wantOK bool
	}{
		{"nested number (documented until 2024)",
			`{"error": {"message": "API call count exceeded for this period", "rate_reset": 0.870663, "rate_limit": 40, "rate_window": 1, "rate_limit_type": "key", "rate_endpoint_group": "99ad0b85407fbfce6882152c4cd0b86d"}}`,
			870663 * time.Microsecond, true},
		{"top-level string (closex cassette)",
			`{"message": "API call count exceeded for this period", "rate_endpoint_group": "99ad", "rate_limit": 320, "rate_limit_type": "key", "rate_reset": "0.595956", "rate_window": 8}`,
			595956 * time.Microsecond, true},
		{"top-level number", `{"rate_reset": 3}`, 3 * time.Second, true},
		{"nested string", `{"error": {"rate_reset": "2.5"}}`, 2500 * time.Millisecond, true},
		{"error string, top-level reset", `{"error": "API call count exceeded", "rate_reset": 1.5}`, 1500 * time.Millisecond, true},
		{"nested wins", `{"error": {"rate_reset": 1}, "rate_reset": 9}`, time.Second, true},
		{"no reset", `{"error": "API call count exceeded"}`, 0, false},
		{"bad string", `{"rate_reset": "soon"}`, 0, false},
		{"negative", `{"rate_reset": -1}`, 0, false},
		{"not json", `Too Many Requests`, 0, false},
		{"empty", ``, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRateReset([]byte(tt.body))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ParseRateReset = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRateLimitWaitOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"error": {"rate_reset": 0.5}, "rate_reset": 0.25}`)
	tests := []struct {
		name   string
		h      http.Header
		body   []byte
		want   time.Duration
		wantOK bool
	}{
		{"RateLimit reset first", hdr("RateLimit", "limit=100, remaining=0, reset=1", "Retry-After", "9", "X-Rate-Limit-Reset", "7"), body, time.Second, true},
		{"RateLimit reset zero yields to Retry-After", hdr("RateLimit", "limit=100, remaining=0, reset=0", "Retry-After", "9"), body, 9 * time.Second, true},
		{"only zero waits", hdr("RateLimit", "limit=100, remaining=0, reset=0", "Retry-After", "0"), nil, 0, true},
		{"zero header, body names one", hdr("Retry-After", "0"), body, 500 * time.Millisecond, true},
		{"Retry-After seconds", hdr("RateLimit", "limit=100, remaining=0", "Retry-After", "9", "RateLimit-Reset", "8"), body, 9 * time.Second, true},
		{"Retry-After date", hdr("Retry-After", now.Add(5*time.Second).Format(http.TimeFormat)), body, 5 * time.Second, true},
		{"Retry-After date in the past", hdr("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), nil, 0, true},
		{"RateLimit-Reset", hdr("RateLimit-Reset", "8", "X-Rate-Limit-Reset", "7"), body, 8 * time.Second, true},
		{"X-Rate-Limit-Reset fractional", hdr("X-Rate-Limit-Reset", "14.510896"), body, 14510896 * time.Microsecond, true},
		{"body nested", http.Header{}, body, 500 * time.Millisecond, true},
		{"body top-level", http.Header{}, []byte(`{"rate_reset": "0.25"}`), 250 * time.Millisecond, true},
		{"nothing", http.Header{}, []byte(`{"error": "slow down"}`), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rateLimitWait(tt.h, tt.body, now)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("rateLimitWait = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEndpointGroups(t *testing.T) {
	tests := []struct{ method, path, client, url string }{
		{"GET", "lead", "GET lead", "GET lead"},
		{"GET", "/activity/call/", "GET activity", "GET activity"},
		{"POST", "/data/search/", "POST data", "POST data"},
		{"GET", "/me/", "GET me", "GET me"},
	}
	for _, tt := range tests {
		rel := apiPath(tt.path)
		if got := endpointGroup(tt.method, rel); got != tt.client {
			t.Errorf("endpointGroup(%s %s) = %q, want %q", tt.method, rel, got, tt.client)
		}
		if got := endpointGroup(tt.method, "/api/v1"+rel); got != tt.url {
			t.Errorf("endpointGroup(%s /api/v1%s) = %q, want %q", tt.method, rel, got, tt.url)
		}
	}
}

func TestBudgetReserve(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := NewBudget(1)
	if _, ok := b.Remaining("GET lead"); ok {
		t.Fatal("unknown group reported")
	}
	if d := b.reserve("GET lead", now); d != 0 {
		t.Fatalf("unknown group waits %v", d)
	}
	b.landed("GET lead")
	windowed(b, "GET lead", now)
	b.observe("GET lead", RateLimit{Limit: 10, Remaining: 2, Reset: 10 * time.Second}, now)
	for i, want := range []time.Duration{0, 0, 10 * time.Second, 10 * time.Second} {
		if d := b.reserve("GET lead", now); d != want {
			t.Errorf("reserve #%d = %v, want %v", i+1, d, want)
		} else if d == 0 {
			b.landed("GET lead")
		}
	}
	if n, ok := b.Remaining("GET lead"); !ok || n != 0 {
		t.Errorf("Remaining = %d, %v; want 0, true", n, ok)
	}
	if d := b.reserve("GET contact", now); d != 0 {
		t.Errorf("other group waits %v", d)
	}
	// After the reset the group is open again, its count the limit less
	// the request just let go.
	if d := b.reserve("GET lead", now.Add(10*time.Second)); d != 0 {
		t.Errorf("after reset waits %v", d)
	}
	if n, ok := b.Remaining("GET lead"); !ok || n != 9 {
		t.Errorf("Remaining after reset = %d, %v; want 9, true", n, ok)
	}
	// A 429 blocks the group even when a later header says there is room.
	b.block("GET lead", 3*time.Second, now)
	b.observe("GET lead", RateLimit{Remaining: 50, Reset: time.Second}, now)
	if d := b.reserve("GET lead", now.Add(time.Second)); d != 2*time.Second {
		t.Errorf("blocked group waits %v, want 2s", d)
	}
}

// TestBudgetProbesAnUnknownGroup: until a group's first request comes
// back, nothing is known of its limit, so a second request waits for it
// (a burst of max_concurrency could exceed a small limit: 6.6% answered
// 429 at eight in flight in BenchmarkRateLimitedSync before); once one has
// come back, with or without a RateLimit header, requests go as before.
func TestBudgetProbesAnUnknownGroup(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := NewBudget(8)
	if d := b.reserve("GET lead", now); d != 0 {
		t.Fatalf("the first request of an unknown group waits %v", d)
	}
	if d := b.reserve("GET lead", now); d <= 0 {
		t.Fatal("a second request went before the first came back")
	}
	if d := b.reserve("GET contact", now); d != 0 {
		t.Errorf("another group's first request waits %v", d)
	}
	b.landed("GET lead") // answered without a RateLimit header
	for i := range 3 {
		if d := b.reserve("GET lead", now); d != 0 {
			t.Errorf("request %d after the first answer waits %v", i+2, d)
		}
	}
}
