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
// slots), sends one request of a group it knows nothing of yet and waits
// for its answer before the others (a burst could exceed a small limit),
// and tracks per endpoint group (method and first path segment,
// e.g. "GET lead") the remaining count and reset time last reported,
// counted down by the requests sent since. Once a group has no requests
// left, requests to it wait (context-aware) instead of running into 429s:
// a group is first taken for a token bucket (as the fake's limiter is),
// so it waits for the next token (limit per window, the window being the
// longest reset seen); after a 429 it is taken for fixed windows and waits
// until the window really resets, which it learns from the responses (a
// remaining count that jumps back up shows a boundary between two
// requests; intersected over windows they give the phase), at the latest
// until the header's whole-second reset. A 429 blocks its group for the
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
	resetAt   time.Time // when the window resets at the latest (now + the header's reset)
	blocked   time.Time // no requests before this (after a 429)

	// What the responses taught of the window, so that a group whose
	// count ran out waits until its window really resets instead of the
	// header's whole-second reset (Close sends reset=1 when the window
	// ends in 0.1 s).
	limit    int           // the header's limit
	window   time.Duration // the window's length: the longest reset seen
	sent     int64         // requests sent (a ticket's seq)
	inflight int           // requests sent and not yet answered
	answered bool          // a request of the group has come back (with or without a header)
	// A token bucket (as the fake's is) rather than windows: a group is
	// taken for one until a 429 says otherwise (windowed, for good), and a
	// window boundary that fits no learnt phase makes it one again. A
	// bucket's count grows by limit per window from base on.
	bucket   bool
	windowed bool
	base     time.Time
	epoch    time.Time // remaining was last refilled (a new window assumed) at this time
	emptyAt  time.Time // remaining last ran out (counted or reported) at this time
	hasLast  bool      // lastRem/lastSend hold the last response's
	lastRem  int       // the last response's remaining
	lastSend time.Time // when the last response's request was sent
	phase    bool      // a window boundary lies in (phaseLo, phaseHi], modulo window
	phaseLo  time.Time
	phaseHi  time.Time
}

// ticket is what reserve knew when it let a request go: its sequence
// number in the group, when it was sent, and the last response seen
// before (the request was processed after that one).
type ticket struct {
	seq      int64
	send     time.Time
	hasPrev  bool
	prevRem  int
	prevSend time.Time
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
	release, waited, _, err = b.acquireTicket(ctx, group, clk, maxWait)
	return release, waited, err
}

// acquireTicket is acquire, also returning the request's ticket for
// observeTicket. The group's budget is taken before the slot, so that a
// request waiting for its group's window holds no slot from other groups.
func (b *Budget) acquireTicket(ctx context.Context, group string, clk retry.Clock, maxWait time.Duration) (release func(), waited time.Duration, tk ticket, err error) {
	for {
		var wait time.Duration
		wait, tk = b.reserveTicket(group, clk.Now())
		if wait <= 0 {
			break
		}
		wait = min(wait, maxWait)
		watchFrom(ctx).rateLimited(group, wait)
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil, waited, tk, err
		}
		waited += wait
	}
	select {
	case b.sem <- struct{}{}:
		return func() { <-b.sem }, waited, tk, nil
	case <-ctx.Done():
		return nil, waited, tk, ctx.Err()
	}
}

// reserve takes one request from the group's budget, or returns how long
// to wait before asking again.
func (b *Budget) reserve(group string, now time.Time) time.Duration {
	d, _ := b.reserveTicket(group, now)
	return d
}

func (b *Budget) reserveTicket(group string, now time.Time) (time.Duration, ticket) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	if now.Before(g.blocked) {
		return g.blocked.Sub(now), ticket{}
	}
	if g.known && g.bucket {
		g.accrue(now)
	}
	switch {
	case !g.known:
		if !g.answered && g.inflight > 0 {
			// Nothing is known of the group's limit until its first
			// answer: one request finds out, rather than a burst of
			// max_concurrency that a small limit answers with 429s.
			return g.poll(), ticket{}
		}
	case !now.Before(g.resetAt):
		// The window has reset. The requests still in flight may count
		// in the new one; the next response says more.
		g.epoch = now
		if g.limit <= 0 {
			g.known = false
			break
		}
		if g.remaining = g.limit - g.inflight - 1; g.remaining < 0 {
			g.remaining = 0
			return g.poll(), ticket{}
		}
		g.resetAt = now.Add(g.window)
	case g.remaining > 0:
		g.remaining--
		if g.remaining == 0 {
			g.emptyAt = later(g.emptyAt, now)
		}
	default:
		wake := g.nextWindow()
		if g.bucket {
			wake = g.base.Add(g.tokenTime())
		}
		if now.Before(wake) {
			d := wake.Sub(now)
			if g.inflight > 0 {
				// Their responses may say the window has reset: look again soon.
				d = min(d, g.poll())
			}
			return d, ticket{}
		}
		// The window has (by its learnt phase) reset: assume as many
		// requests as a steady rate would have earned since the count ran
		// out, at least one, until a response says how many.
		n := 1
		switch {
		case g.limit <= 0 || g.window <= 0:
		case !g.bucket:
			n = g.limit - g.inflight // a new window, less what may count in it
		default:
			n = min(g.limit, int(int64(g.limit)*int64(now.Sub(g.emptyAt))/int64(g.window))) - g.inflight
		}
		if n <= 0 {
			return g.poll(), ticket{}
		}
		g.remaining, g.epoch = n-1, now
		if g.remaining == 0 {
			g.emptyAt = now
		}
	}
	g.sent++
	g.inflight++
	return 0, ticket{seq: g.sent, send: now, hasPrev: g.hasLast, prevRem: g.lastRem, prevSend: g.lastSend}
}

// nextWindow is when the group's window resets, at the latest the header's
// reset: the first learnt boundary that surely lies after the count ran
// out (its lower bound is later), and no sooner than one request's share
// of a window after it (a token bucket's next token).
func (g *groupState) nextWindow() time.Time {
	if !g.phase || g.window <= 0 {
		return g.resetAt
	}
	var k int64
	if d := g.emptyAt.Sub(g.phaseLo); d > 0 {
		k = (int64(d) + int64(g.window) - 1) / int64(g.window)
	} else {
		k = -(int64(-d) / int64(g.window))
	}
	wake := g.phaseHi.Add(time.Duration(k) * g.window)
	if g.limit > 0 {
		wake = later(wake, g.emptyAt.Add(g.window/time.Duration(g.limit)))
	}
	if wake.Before(g.resetAt) {
		return wake
	}
	return g.resetAt
}

// tokenTime is one request's share of the window (a token bucket's
// refill of one).
func (g *groupState) tokenTime() time.Duration {
	if g.limit <= 0 {
		return g.window
	}
	return g.window / time.Duration(g.limit)
}

// accrue adds the tokens a bucket has earned since base.
func (g *groupState) accrue(now time.Time) {
	t := g.tokenTime()
	if t <= 0 || !now.After(g.base) {
		return
	}
	n := int(now.Sub(g.base) / t)
	if n > 0 {
		g.remaining = min(max(g.limit, 1), g.remaining+n)
		g.base = g.base.Add(time.Duration(n) * t)
	}
}

// poll is how soon a group waiting on requests in flight looks again:
// one request's share of the window, within [10ms, 100ms].
func (g *groupState) poll() time.Duration {
	d := 100 * time.Millisecond
	if g.limit > 0 && g.window > 0 {
		d = g.window / time.Duration(g.limit)
	}
	return min(max(d, 10*time.Millisecond), 100*time.Millisecond)
}

// landed records that a request of the group came back (answered or not).
func (b *Budget) landed(group string) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	g.answered = true
	if g.inflight > 0 {
		g.inflight--
	}
}

// learnBoundary narrows the window's phase with a boundary seen in (lo, hi].
// A boundary that fits no phase learnt makes the group a token bucket
// again, unless a 429 showed it windowed.
func (g *groupState) learnBoundary(lo, hi time.Time) {
	if g.window <= 0 || !lo.Before(hi) {
		return
	}
	if g.phase {
		// Shift the new interval by whole windows next to the known one.
		k := int64(math.Round(float64(g.phaseLo.Sub(lo)) / float64(g.window)))
		for _, k := range []int64{k, k - 1, k + 1} {
			shift := time.Duration(k) * g.window
			nlo, nhi := later(g.phaseLo, lo.Add(shift)), hi.Add(shift)
			if g.phaseHi.Before(nhi) {
				nhi = g.phaseHi
			}
			if nlo.Before(nhi) {
				g.phaseLo, g.phaseHi = nlo, nhi
				return
			}
		}
		if !g.windowed {
			g.bucket = true
		}
	}
	g.phase, g.phaseLo, g.phaseHi = true, lo, hi
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (b *Budget) group(name string) *groupState {
	g := b.state.groups[name]
	if g == nil {
		g = &groupState{bucket: true}
		b.state.groups[name] = g
	}
	return g
}

// observe records a response's rate-limit state for the group.
func (b *Budget) observe(group string, rl RateLimit, now time.Time) {
	b.observeTicket(group, rl, ticket{seq: -1, send: now}, now)
}

// observeTicket records the rate-limit state of the response to the
// request of tk. Its remaining count is lowered by the requests sent
// after it (they may not be counted yet), and raises the count only when
// it is no lower than the last response's before tk was sent (responses
// come back out of order). A response to a request sent before the
// window was last assumed reset only teaches the phase, unless it shows
// a boundary: a remaining count higher than the last response's before
// the request went, which lies between that response's request and now.
func (b *Budget) observeTicket(group string, rl RateLimit, tk ticket, now time.Time) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	if rl.Limit > 0 {
		g.limit = rl.Limit
	}
	if rl.Reset > g.window {
		g.window, g.phase = rl.Reset, false
	}
	jump := tk.hasPrev && rl.Remaining > tk.prevRem
	if jump {
		g.learnBoundary(tk.prevSend, now)
	}
	g.hasLast, g.lastRem, g.lastSend = true, rl.Remaining, tk.send
	if tk.send.Before(g.epoch) && !jump {
		return
	}
	after := 0
	if tk.seq >= 0 {
		after = int(g.sent - tk.seq)
	}
	rem := rl.Remaining - after
	if g.known && !(tk.hasPrev && rl.Remaining >= tk.prevRem) && rem > g.remaining {
		// Responses come back out of order: one processed before others
		// counted here reports more than is left.
		rem = g.remaining
	}
	g.known, g.remaining, g.resetAt, g.base = true, rem, now.Add(rl.Reset), now
	if g.remaining <= 0 {
		g.remaining = 0
		g.emptyAt = later(g.emptyAt, now)
	}
}

// block keeps the group from sending for d (after a 429), and forgets
// the learnt phase, which let a request go too early.
func (b *Budget) block(group string, d time.Duration, now time.Time) {
	b.state.mu.Lock()
	defer b.state.mu.Unlock()
	g := b.group(group)
	if until := now.Add(d); until.After(g.blocked) {
		g.blocked = until
	}
	g.phase, g.bucket, g.windowed = false, false, true
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
