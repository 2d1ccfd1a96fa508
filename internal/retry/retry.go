// Package retry is the arithmetic of waiting between attempts, shared by
// the Close client (pkg/closeapi) and webhook delivery (pkg/notify): the
// Retry-After header, a sleep that ends when its context does, and capped
// exponential backoff with full or equal jitter.
//
// It decides nothing about what is worth retrying; each caller keeps its
// own rules and caps and asks this package only how long to wait.
package retry

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3):
// delay-seconds, or an HTTP-date taken relative to now. The wait is
// clamped to [0, limit] (a date in the past is a wait of zero). Seconds
// may be fractional and double-quoted, as some servers send them. It
// reports false for an empty value, a negative or non-numeric one that is
// no date either, and a number of seconds beyond time.Duration's range.
func ParseRetryAfter(v string, now time.Time, limit time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(strings.Trim(v, `"`), 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > maxDurationSeconds {
			return 0, false
		}
		return Seconds(f, limit), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), limit), true
	}
	return 0, false
}

// maxDurationSeconds is the longest time.Duration, in whole seconds.
const maxDurationSeconds = float64(math.MaxInt64 / int64(time.Second))

// Seconds converts a number of seconds to a duration clamped to
// [0, limit]; NaN is zero.
func Seconds(f float64, limit time.Duration) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= limit.Seconds() {
		return limit
	}
	return time.Duration(f * float64(time.Second))
}

// Sleep waits d or until ctx is done, whichever comes first, and returns
// ctx.Err() in the second case. A d of zero or less returns ctx.Err() at
// once. It is a timer in a select, so it runs on synctest's fake clock.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Clock is time as a retry loop sees it; tests substitute one that never
// really sleeps.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock, sleeping with Sleep.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep is the package's Sleep.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// Backoff is capped exponential backoff: the ceiling of attempt n
// (counted from 1) is Base doubled n-1 times, never more than Max.
type Backoff struct {
	Base time.Duration // ceiling of the first attempt; <= 0 means Max
	Max  time.Duration // cap on every ceiling
	// Rand returns a uniform value in [0, n) for n > 0; nil is
	// math/rand/v2's Int64N. Tests substitute a fixed one.
	Rand func(n int64) int64
}

// Ceiling is the backoff bound of the given attempt (from 1); doubling
// stops at Max, so no attempt number overflows.
func (b Backoff) Ceiling(attempt int) time.Duration {
	d := b.Base
	if d <= 0 || d > b.Max {
		return b.Max
	}
	for i := 1; i < attempt && d < b.Max; i++ {
		if d > b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return d
}

// Full is "full jitter": uniform in [0, c] for the attempt's ceiling c.
// Retries of many clients spread over the whole window.
func (b Backoff) Full(attempt int) time.Duration {
	return b.jitter(b.Ceiling(attempt) + 1)
}

// Equal is "equal jitter": uniform in [c/2, c] for the attempt's ceiling
// c, so that waits always grow while retries of many senders spread out.
func (b Backoff) Equal(attempt int) time.Duration {
	c := b.Ceiling(attempt)
	half := c / 2
	return half + b.jitter(c-half+1)
}

// jitter is uniform in [0, n).
func (b Backoff) jitter(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	r := b.Rand
	if r == nil {
		r = rand.Int64N
	}
	return time.Duration(r(int64(n)))
}
