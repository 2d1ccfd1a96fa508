package closefake

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// unlimitedHeader is sent when Options.RateLimit is 0: Close puts a
// RateLimit header on most responses, and clients read it.
const unlimitedHeader = "limit=10000, remaining=9999, reset=1"

// limiter is a token bucket per endpoint group: RateLimit tokens, refilled
// at RateLimit per second on the real clock.
type limiter struct {
	rate    float64
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perSecond int) *limiter {
	return &limiter{rate: float64(perSecond), buckets: map[string]*bucket{}, now: time.Now}
}

// take spends a token of group. It returns the tokens left, and either
// the time until the bucket is full again (ok) or until a token is back.
func (l *limiter) take(group string) (remaining float64, wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[group]
	if b == nil {
		b = &bucket{tokens: l.rate, last: now}
		l.buckets[group] = b
	}
	b.tokens = math.Min(l.rate, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return 0, time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return b.tokens, time.Duration((l.rate - b.tokens) / l.rate * float64(time.Second)), true
}

// admit applies the rate limit of group: it sets the RateLimit header
// (RFC draft form, as Close sends since 2023) and answers 429 when the
// bucket is empty.
func (l *limiter) admit(w http.ResponseWriter, group string) bool {
	if l.rate <= 0 {
		w.Header().Set("RateLimit", unlimitedHeader)
		return true
	}
	remaining, wait, ok := l.take(group)
	if !ok {
		l.tooMany(w, group, wait.Seconds())
		return false
	}
	w.Header().Set("RateLimit", fmt.Sprintf("limit=%d, remaining=%d, reset=%d", int(l.rate), int(remaining), ceilSeconds(wait.Seconds())))
	return true
}

// tooMany answers 429 as Close does: the RateLimit header with
// remaining=0, Retry-After, and the (deprecated but still parsed) JSON
// body naming the limit and the endpoint group's hash.
func (l *limiter) tooMany(w http.ResponseWriter, group string, reset float64) {
	limit := max(int(l.rate), 1)
	sum := md5.Sum([]byte(group))
	w.Header().Set("RateLimit", fmt.Sprintf("limit=%d, remaining=0, reset=%d", limit, ceilSeconds(reset)))
	w.Header().Set("Retry-After", strconv.Itoa(ceilSeconds(reset)))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"message": "API call count exceeded for this period", "rate_reset": math.Round(reset*1e6) / 1e6, "rate_limit": limit,
		"rate_window": 1, "rate_limit_type": "key", "rate_endpoint_group": hex.EncodeToString(sum[:])}})
}

// ceilSeconds rounds up to whole seconds, at least 1.
func ceilSeconds(s float64) int { return max(1, int(math.Ceil(s))) }
