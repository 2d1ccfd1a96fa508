package closeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/retry"
)

// Stats counts a run's traffic. Attach it to a context with WithStats;
// every attempt sent counts in Requests, every retry in Retries, every 429
// in RateLimited. Safe for concurrent use.
type Stats struct {
	Requests, Retries, RateLimited atomic.Int64
}

type statsKey struct{}

// WithStats returns a context whose requests are counted in s.
func WithStats(ctx context.Context, s *Stats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

func statsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

// reqState travels with a Client's request through the context: what the
// client knows (read-only, endpoint group) and what the transport did
// (attempts). One request at a time uses it, from one goroutine.
type reqState struct {
	readOnly bool
	group    string
	attempts int
	body     []byte // the last attempt's body, when it failed (non-2xx) and was read
}

type reqStateKey struct{}

const (
	// maxDrain is how much of a failed response is read (and kept for
	// the error) before the connection is given back and the request retried.
	maxDrain = 1 << 20
	// maxBodyBytes bounds a successful response held in memory.
	maxBodyBytes = 64 << 20
	// defaultRateLimitWait is the wait after a 429 that names none.
	defaultRateLimitWait = 2 * time.Second
	// rateLimitJitter spreads clients released by the same reset.
	rateLimitJitter = 250 * time.Millisecond
)

// retryTransport is the one place requests are retried (the redpanda
// connect transport_retry pattern). Each attempt first waits on the shared
// Budget (group reset, concurrency slot) and runs under its own timeout.
// Reads (GET, HEAD, and POSTs a Client marks read-only) are retried on 429,
// 500, 502, 503, 504, timeouts, dropped connections and truncated bodies,
// at most maxAttempts times: after a 429 it waits what the server asked
// (capped by maxWait) plus a little jitter (a 429 that asks for a wait of
// zero gets the exponential backoff, at least half its ceiling), otherwise
// exponential backoff with full jitter capped by maxBackoff. A body that cannot be replayed
// (no GetBody) is never retried.
//
// The body of a retried request's final response is read inside the
// attempt, so a connection dropped mid-body is retried too; the caller gets
// it from memory.
type retryTransport struct {
	next        http.RoundTripper
	budget      *Budget
	maxAttempts int
	base        time.Duration
	maxBackoff  time.Duration
	maxWait     time.Duration
	timeout     time.Duration
	log         *zap.Logger
	clock       retry.Clock
	onResponse  func(group string, status int, rl RateLimit, hasRL bool)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	st, _ := ctx.Value(reqStateKey{}).(*reqState)
	if st == nil {
		st = &reqState{}
	}
	group := st.group
	if group == "" {
		group = endpointGroup(req.Method, req.URL.Path)
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	retryable := (req.Method == http.MethodGet || req.Method == http.MethodHead || st.readOnly) &&
		(!hasBody || req.GetBody != nil)
	stats := statsFrom(ctx)

	for attempt := 1; ; attempt++ {
		st.attempts = attempt
		r := req
		if attempt > 1 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewind request body: %w", err)
			}
			r = req.WithContext(ctx) // shallow copy: never modify the caller's request
			r.Body = body
		}
		resp, body, err := t.attempt(r, group, stats, retryable)
		st.body = body

		var wait time.Duration
		serverWait := false
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !retryable || !Temporary(err) {
				if attempt > 1 {
					err = &attemptsError{attempts: attempt, err: err}
				}
				return nil, err
			}
		case resp.StatusCode == http.StatusTooManyRequests:
			wait, serverWait = rateLimitWait(resp.Header, body, t.clock.Now())
			switch {
			case !serverWait:
				wait, serverWait = defaultRateLimitWait, true
			case wait <= 0:
				// "Retry-After: 0" or "reset=0" on a 429: waiting nothing
				// would burn every attempt in a second (dlt-hub/dlt#4036),
				// so back off exponentially, never less than half the
				// ceiling.
				wait = t.rateLimitBackoff(attempt)
			}
			wait = min(wait, t.maxWait)
			t.budget.block(group, wait, t.clock.Now())
			if !retryable {
				return resp, nil
			}
		case retryableStatus(resp.StatusCode):
			wait, serverWait = retryAfter(resp.Header, t.clock.Now())
			// A zero Retry-After is no advice: the backoff applies.
			serverWait = serverWait && wait > 0
			wait = min(wait, t.maxWait)
			if !retryable {
				return resp, nil
			}
		default:
			return resp, nil
		}

		if attempt >= t.maxAttempts {
			if resp != nil {
				t.log.Debug("close request failed, giving up", zap.String("method", req.Method), zap.String("group", group),
					zap.Int("attempts", attempt), zap.Int("status", resp.StatusCode))
				return resp, nil // the Client turns it into an *APIError with Attempts
			}
			return nil, &attemptsError{attempts: attempt, err: err}
		}

		d := t.backoff(attempt)
		if serverWait {
			d = wait + time.Duration(rand.Int64N(int64(rateLimitJitter)))
		}
		fields := []zap.Field{zap.String("method", req.Method), zap.String("group", group),
			zap.Int("attempt", attempt), zap.Duration("wait", d)}
		if err != nil {
			fields = append(fields, zap.NamedError("cause", err))
		} else {
			fields = append(fields, zap.Int("status", resp.StatusCode))
		}
		t.log.Debug("retrying close request", fields...)
		if stats != nil {
			stats.Retries.Add(1)
		}
		watchFrom(ctx).retrying(attempt, d, statusOf(resp))
		if err := t.clock.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// attempt sends req once: it waits on the budget, applies the per-attempt
// timeout, records the response's rate-limit state and counts the attempt.
// A response to a retryable request, and any 429/5xx response, comes back
// with its body already read into memory, a failure's (at most maxDrain
// bytes of it) also returned as body; any other response streams, holding
// its concurrency slot until closed.
func (t *retryTransport) attempt(req *http.Request, group string, stats *Stats, buffer bool) (*http.Response, []byte, error) {
	ctx := req.Context()
	release, waited, tk, err := t.budget.acquireTicket(ctx, group, t.clock, t.maxWait)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip closes the body even when it never sends it
		}
		return nil, nil, err
	}
	if waited > 0 {
		t.log.Debug("waited for close rate-limit reset", zap.String("group", group), zap.Duration("wait", waited))
	}
	if stats != nil {
		stats.Requests.Add(1)
	}
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	var once sync.Once
	done := func() { once.Do(func() { cancel(); release() }) }

	resp, err := t.next.RoundTrip(req.WithContext(actx))
	if err != nil {
		err = t.classify(ctx, actx, err)
		done()
		t.budget.landed(group)
		if t.onResponse != nil {
			t.onResponse(group, 0, RateLimit{}, false)
		}
		return nil, nil, err
	}
	rl, hasRL := ParseRateLimit(resp.Header)
	if hasRL {
		rl.Reset = min(rl.Reset, t.maxWait)
		t.budget.observeTicket(group, rl, tk, t.clock.Now())
	}
	t.budget.landed(group)
	if t.onResponse != nil {
		t.onResponse(group, resp.StatusCode, rl, hasRL)
	}
	if resp.StatusCode == http.StatusTooManyRequests && stats != nil {
		stats.RateLimited.Add(1)
	}
	switch {
	case retryableStatus(resp.StatusCode), buffer && !success(resp.StatusCode):
		// read below: the retry needs it, or the caller's error
	case buffer:
		return t.bufferSuccess(ctx, actx, resp, done)
	default:
		resp.Body = &doneBody{ReadCloser: resp.Body, done: done}
		return resp, nil, nil
	}
	limit := int64(maxDrain) // enough for any error message; the rest is dropped
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		err = t.classify(ctx, actx, err)
	}
	resp.Body.Close()
	done()
	if err != nil {
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > limit {
		body = body[:limit]
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, body, nil
}

// classify maps an attempt's error: the caller's cancellation or deadline
// as is, the attempt's own timeout to a *timeoutError. It must run before
// the attempt's context is cancelled.
func (t *retryTransport) classify(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &timeoutError{after: t.timeout, err: err}
	}
	return err
}

// backoff is full jitter: uniform in [0, min(maxBackoff, base*2^(n-1))].
func (t *retryTransport) backoff(attempt int) time.Duration {
	return retry.Backoff{Base: t.base, Max: t.maxBackoff}.Full(attempt)
}

// rateLimitBackoff is the wait after a 429 that asked for none: "equal
// jitter", uniform in [c/2, c] for the backoff ceiling c, so that retries
// of a rate-limited request always back off.
func (t *retryTransport) rateLimitBackoff(attempt int) time.Duration {
	return retry.Backoff{Base: t.base, Max: t.maxBackoff}.Equal(attempt)
}

// doneBody ends the attempt (timeout context, concurrency slot) when the
// streamed body is closed.
type doneBody struct {
	io.ReadCloser
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}
