package closefake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var rateLimitRE = regexp.MustCompile(`^limit=(\d+), remaining=(\d+), reset=(\d+)$`)

func TestRateLimit(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 5, RateLimit: 3})
	fake := time.Unix(1_800_000_000, 0)
	s.limiter.now = func() time.Time { return fake }
	for i, want := range []int{2, 1, 0} {
		r := ok(t, "within the limit", c.get("/user/", nil))
		m := rateLimitRE.FindStringSubmatch(r.header.Get("RateLimit"))
		if m == nil || m[1] != "3" || m[2] != strconv.Itoa(want) || m[3] == "0" {
			t.Errorf("request %d: RateLimit %q", i, r.header.Get("RateLimit"))
		}
	}
	r := c.get("/user/"+s.IDs(KindUser)[0]+"/", nil) // same endpoint group
	if r.code != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d", r.code)
	}
	if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit") != "limit=3, remaining=0, reset=1" {
		t.Errorf("429 headers: %v", r.header)
	}
	e, _ := r.body["error"].(map[string]any)
	if e["message"] != "API call count exceeded for this period" || e["rate_limit"] != 3.0 || e["rate_window"] != 1.0 ||
		e["rate_limit_type"] != "key" || len(e["rate_endpoint_group"].(string)) != 32 || e["rate_reset"].(float64) <= 0 {
		t.Errorf("429 body %s", r.raw)
	}
	// Other groups have their own bucket.
	ok(t, "another group", c.get("/lead/", nil))
	// Tokens come back at 3 per second.
	fake = fake.Add(400 * time.Millisecond)
	ok(t, "a token later", c.get("/user/", nil))
	if r := c.get("/user/", nil); r.code != 429 {
		t.Errorf("only one token was back: %d", r.code)
	}
	// Unlimited fakes still send the header.
	_, c = newTest(t, Options{Seed: 1, Scale: 5})
	if h := ok(t, "unlimited", c.get("/lead/", nil)).header.Get("RateLimit"); !rateLimitRE.MatchString(h) {
		t.Errorf("RateLimit %q", h)
	}
}

func TestInjectedFailures(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 5})
	s.FailNext(2, http.StatusServiceUnavailable)
	for i := range 2 {
		if r := c.get("/lead/", nil); r.code != 503 {
			t.Errorf("request %d: %d", i, r.code)
		}
	}
	ok(t, "after FailNext", c.get("/lead/", nil))
	s.FailNext(1, http.StatusTooManyRequests)
	r := c.get("/event/", nil)
	if r.code != 429 || r.header.Get("Retry-After") == "" || !rateLimitRE.MatchString(r.header.Get("RateLimit")) || r.body["error"] == nil {
		t.Errorf("injected 429: %d %v %s", r.code, r.header, r.raw)
	}
	if got := s.Requests(); got != 4 {
		t.Errorf("Requests() = %d, want 4", got)
	}
	// A 400 or 500 of the API itself stays JSON.
	s.FailNext(1, http.StatusInternalServerError)
	if r := c.get("/lead/", nil); r.code != 500 || r.header.Get("Content-Type") != "application/json" || r.body["error"] == nil {
		t.Errorf("injected 500: %d %q %s", r.code, r.header.Get("Content-Type"), r.raw)
	}
	// FailureRate: a deterministic sequence of 502/503/504 per seed,
	// independent of the data's random numbers.
	sequence := func() []int {
		_, c := newTest(t, Options{Seed: 7, Scale: 5, FailureRate: 0.5})
		var codes []int
		for range 40 {
			codes = append(codes, c.get("/user/", url.Values{}).code)
		}
		return codes
	}
	a, b := sequence(), sequence()
	failures := 0
	seen := map[int]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("failure sequences differ at %d: %v vs %v", i, a, b)
		}
		switch a[i] {
		case 200:
		case 502, 503, 504:
			failures++
			seen[a[i]] = true
		default:
			t.Fatalf("status %d", a[i])
		}
	}
	if failures < 8 || failures > 32 || len(seen) != 3 {
		t.Errorf("%d failures of 40 at rate 0.5, statuses %v", failures, seen)
	}
}

// TestGatewayErrorsAreNginxPages: Close's 502, 503 and 504 come from the
// nginx in front of the API, as its built-in HTML page (text/html), not
// as the API's JSON; FailNext and FailureRate answer them so.
func TestGatewayErrorsAreNginxPages(t *testing.T) {
	for _, tt := range []struct {
		status int
		title  string
	}{
		{502, "502 Bad Gateway"},
		{503, "503 Service Temporarily Unavailable"},
		{504, "504 Gateway Time-out"},
	} {
		t.Run(tt.title, func(t *testing.T) {
			s, c := newTest(t, Options{Seed: 1, Scale: 3})
			s.FailNext(1, tt.status)
			r := c.get("/lead/", nil)
			want := "<html>\r\n<head><title>" + tt.title + "</title></head>\r\n<body>\r\n<center><h1>" + tt.title +
				"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
			if r.code != tt.status || r.header.Get("Content-Type") != "text/html" || string(r.raw) != want {
				t.Errorf("%d %q %q, want %d text/html %q", r.code, r.header.Get("Content-Type"), r.raw, tt.status, want)
			}
			if json.Valid(r.raw) {
				t.Error("a gateway error page is JSON")
			}
		})
	}
	// FailureRate's failures are the same pages.
	_, c := newTest(t, Options{Seed: 7, Scale: 5, FailureRate: 1})
	r := c.get("/user/", nil)
	if r.code < 502 || r.code > 504 || r.header.Get("Content-Type") != "text/html" || !strings.Contains(string(r.raw), "<center>nginx</center>") {
		t.Errorf("FailureRate: %d %q %s", r.code, r.header.Get("Content-Type"), r.raw)
	}
}

func TestLatency(t *testing.T) {
	_, c := newTest(t, Options{Seed: 1, Scale: 3, Latency: 30 * time.Millisecond})
	start := time.Now()
	ok(t, "slow", c.get("/me/", nil))
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered in %v", d)
	}
}
