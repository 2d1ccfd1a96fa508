package closeapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/closesync/closesync/internal/retry"
)

// RateLimit is what a response says of the rate limit closest to being hit.
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Duration // until the window resets
}

// ParseRateLimit reads a response's rate-limit state, first found of:
// the `RateLimit: limit=N, remaining=M, reset=S` header Close sends since
// 2023 (S may be fractional; the draft-RFC keys r= and t= are accepted too),
// the split RateLimit-Limit/-Remaining/-Reset headers, and the legacy
// X-Rate-Limit-Limit/-Remaining/-Reset headers (reset fractional, e.g.
// 14.510896). It reports false when no header names the remaining count.
func ParseRateLimit(h http.Header) (RateLimit, bool) {
	if f := parseRateLimitField(h.Get("RateLimit")); f.hasRemaining {
		return f.RateLimit, true
	}
	if rl, ok := parseSplitHeaders(h, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"); ok {
		return rl, true
	}
	return parseSplitHeaders(h, "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
}

// rateLimitField is a parsed RateLimit header, saying which of its keys
// it had.
type rateLimitField struct {
	RateLimit
	hasRemaining, hasReset bool
}

// parseRateLimitField parses "limit=100, remaining=0, reset=1" (or the
// draft-RFC r= and t= keys); the last of a repeated key wins.
func parseRateLimitField(v string) rateLimitField {
	var f rateLimitField
	for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		n, ok := parseNumber(val)
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "limit":
			f.Limit = int(n)
		case "remaining", "r":
			f.Remaining, f.hasRemaining = int(n), true
		case "reset", "t":
			f.Reset, f.hasReset = seconds(n), true
		}
	}
	return f
}

func parseSplitHeaders(h http.Header, limit, remaining, reset string) (RateLimit, bool) {
	rem, ok := parseNumber(h.Get(remaining))
	if !ok {
		return RateLimit{}, false
	}
	rl := RateLimit{Remaining: int(rem)}
	if f, ok := parseNumber(h.Get(limit)); ok {
		rl.Limit = int(f)
	}
	if f, ok := parseNumber(h.Get(reset)); ok {
		rl.Reset = seconds(f)
	}
	return rl, true
}

// parseNumber parses a non-negative decimal, possibly quoted.
func parseNumber(s string) (float64, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// ParseRateReset reads the wait from a 429 body (deprecated by Close in
// 2024 but still understood): the nested error.rate_reset, else a
// top-level rate_reset; either may be a number or a numeric string.
func ParseRateReset(body []byte) (time.Duration, bool) {
	var v struct {
		Error     json.RawMessage `json:"error"`
		RateReset json.RawMessage `json:"rate_reset"`
	}
	if json.Unmarshal(body, &v) != nil {
		return 0, false
	}
	if len(v.Error) > 0 {
		var nested struct {
			RateReset json.RawMessage `json:"rate_reset"`
		}
		if json.Unmarshal(v.Error, &nested) == nil {
			if d, ok := jsonSeconds(nested.RateReset); ok {
				return d, true
			}
		}
	}
	return jsonSeconds(v.RateReset)
}

func jsonSeconds(raw json.RawMessage) (time.Duration, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		if f < 0 {
			return 0, false
		}
		return seconds(f), true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, ok := parseNumber(s); ok {
			return seconds(f), true
		}
	}
	return 0, false
}

// maxWait bounds parsed waits so a silly value cannot overflow.
const maxWait = 24 * time.Hour

func seconds(f float64) time.Duration { return retry.Seconds(f, maxWait) }

// rateLimitWait is how long a 429 asks to wait, first positive of: the
// RateLimit header's reset, Retry-After (seconds or HTTP date),
// RateLimit-Reset, X-Rate-Limit-Reset, the body's error.rate_reset, the
// body's top-level rate_reset. When the only waits named are zero it
// returns 0, true: the server named a wait, but not one worth keeping (the
// transport then backs off on its own).
func rateLimitWait(h http.Header, body []byte, now time.Time) (time.Duration, bool) {
	named := false
	if f := parseRateLimitField(h.Get("RateLimit")); f.hasReset {
		if f.Reset > 0 {
			return f.Reset, true
		}
		named = true
	}
	if d, ok := retryAfter(h, now); ok {
		if d > 0 {
			return d, true
		}
		named = true
	}
	for _, name := range []string{"RateLimit-Reset", "X-Rate-Limit-Reset"} {
		if f, ok := parseNumber(h.Get(name)); ok {
			if d := seconds(f); d > 0 {
				return d, true
			}
			named = true
		}
	}
	d, ok := ParseRateReset(body)
	return d, ok || named
}

// retryAfter parses Retry-After: delay-seconds or an HTTP date, at most
// maxWait.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return retry.ParseRetryAfter(h.Get("Retry-After"), now, maxWait)
}

// Budget is the shared request budget of one API key. Close limits each
// key per endpoint group and reports the state in a RateLimit header on
// (nearly) every response; every Client and job using the key should share
// one Budget so they all see that state.
//
// A Budget limits the requests in flight (a semaphore of maxConcurrency
// slots), and tracks per endpoint group (method and first path segment,
// e.g. "GET lead") the remaining count and reset time last reported. Once
// a group has no requests left, requests to it wait (context-aware) until
// its reset instead of running into 429s; a 429 blocks its group for the
// wait the server asked for. It is safe for concurrent use.
type Budget struct {
	sem   chan struct{}
	state *budgetState // shared by a key's budgets in a Budgets registry
}

// budgetState is what Close said of each endpoint group.
type budgetState struct {
	mu     sync.Mutex
	groups map[string]*groupState
}

type groupState struct {
	known     bool      // remaining/resetAt came from a header and are current
	remaining int       // requests left in the window (decremented as we send)
	resetAt   time.Time // when the window resets
	blocked   time.Time // no requests before this (after a 429)
}

// NewBudget returns a budget allowing maxConcurrency requests in flight
// (DefaultMaxConcurrency when <= 0).
func NewBudget(maxConcurrency int) *Budget {
	return newBudget(maxConcurrency, &budgetState{groups: map[string]*groupState{}})
}

func newBudget(maxConcurrency int, state *budgetState) *Budget {
	if maxConcurrency <= 0 {
		maxConcurrency = DefaultMaxConcurrency
	}
	return &Budget{sem: make(chan struct{}, maxConcurrency), state: state}
}

// Budgets is a process's registry of Budgets, one per API key, so that
// every generation of clients (a reload builds new ones) shares what Close
// said of the key's limits. Create one per process and pass it to every
// build of the clients. It is safe for concurrent use.
type Budgets struct {
	mu   sync.Mutex
	keys map[[sha256.Size]byte]*Budget // by a hash of the key: the registry holds no key
}

// NewBudgets returns an empty registry.
func NewBudgets() *Budgets {
	return &Budgets{keys: map[[sha256.Size]byte]*Budget{}}
}

// For returns the budget of apiKey (surrounding whitespace trimmed, as
// New does) allowing maxConcurrency requests in flight
// (DefaultMaxConcurrency when <= 0). Calls for one key with one
// concurrency return the same Budget. A call naming another concurrency
// (a reload changed it) returns a new Budget with that many slots, which
// shares the key's endpoint-group state (remaining counts, resets, 429
// blocks) with the old one and replaces it in the registry.
func (r *Budgets) For(apiKey string, maxConcurrency int) *Budget {
	if maxConcurrency <= 0 {
		maxConcurrency = DefaultMaxConcurrency
	}
	id := sha256.Sum256([]byte(strings.TrimSpace(apiKey)))
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.keys[id]
	switch {
	case b == nil:
		b = NewBudget(maxConcurrency)
	case cap(b.sem) != maxConcurrency:
		b = newBudget(maxConcurrency, b.state)
	default:
		return b
	}
	r.keys[id] = b
	return b
}

// Remaining reports the requests the endpoint group (e.g. "GET lead") has
// left, as last reported by Close and counted down since; false when no
// response has reported it or its window has reset.
func (b *Budget) Remaining(group string) (int, bool) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g, ok := b.state.groups[group]
	if !ok || !g.known {
		return 0, false
	}
	return g.remaining, true
}

// acquire waits until the group may send and a concurrency slot is free,
// and returns the function releasing the slot and how long it waited for
// the group. Each single wait is at most maxWait.
func (b *Budget) acquire(ctx context.Context, group string, clk retry.Clock, maxWait time.Duration) (release func(), waited time.Duration, err error) {
	for {
		wait := b.reserve(group, clk.Now())
		if wait <= 0 {
			break
		}
		wait = min(wait, maxWait)
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil, waited, err
		}
		waited += wait
	}
	select {
	case b.sem <- struct{}{}:
		return func() { <-b.sem }, waited, nil
	case <-ctx.Done():
		return nil, waited, ctx.Err()
	}
}

// reserve takes one request from the group's budget, or returns how long
// to wait before asking again.
func (b *Budget) reserve(group string, now time.Time) time.Duration {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.state.groups[group]
	if g == nil {
		return 0
	}
	if now.Before(g.blocked) {
		return g.blocked.Sub(now)
	}
	if !g.known {
		return 0
	}
	if !now.Before(g.resetAt) {
		g.known = false // the window has reset; the next response says more
		return 0
	}
	if g.remaining <= 0 {
		return g.resetAt.Sub(now)
	}
	g.remaining--
	return 0
}

func (b *Budget) group(name string) *groupState {
	g := b.state.groups[name]
	if g == nil {
		g = &groupState{}
		b.state.groups[name] = g
	}
	return g
}

// observe records a response's rate-limit state for the group.
func (b *Budget) observe(group string, rl RateLimit, now time.Time) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	g.known, g.remaining, g.resetAt = true, rl.Remaining, now.Add(rl.Reset)
}

// block keeps the group from sending for d (after a 429).
func (b *Budget) block(group string, d time.Duration, now time.Time) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	if until := now.Add(d); until.After(g.blocked) {
		g.blocked = until
	}
}

// endpointGroup names the rate-limit bucket of a request: the method and
// the first segment of its path, which is relative to the base URL (a
// Client's "/lead/") or a URL path (everything up to "/api/v1/" dropped).
func endpointGroup(method, path string) string {
	p := strings.Trim(path, "/")
	if i := strings.Index(p, "api/v1/"); i >= 0 {
		p = p[i+len("api/v1/"):]
	} else if p == "api/v1" {
		p = ""
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	return method + " " + p
}
