package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/retry"
)

// userAgent identifies closesync to receivers.
const userAgent = "closesync"

// maxDrain is how much of a response body is read, so that the connection
// can be reused, before it is closed.
const maxDrain = 64 << 10

// outcome is what one attempt got: a status (0 when no response came) or
// a transport error, and the Retry-After wait the receiver asked for.
type outcome struct {
	status     int
	err        error // transport error, without the URL
	retryAfter time.Duration
	hasAfter   bool
}

func (o outcome) ok() bool { return o.err == nil && o.status >= 200 && o.status < 300 }

// retryable: transport errors (timeouts included), 408, 429 and 5xx. Any
// other answer (other 4xx, a 3xx the client did not follow) will not change.
func (o outcome) retryable() bool {
	return o.err != nil || o.status == http.StatusRequestTimeout || o.status == http.StatusTooManyRequests || o.status >= 500
}

// deliver tries one message up to Config.Attempts times, then counts it
// as sent, failed or (when Close gave up meanwhile) dropped. A failure is
// logged once, at Warn.
func (n *Notifier) deliver(p pending) {
	log := n.log.With(zap.String("event", p.event), zap.Int64("run_id", p.runID), zap.String("idempotency_key", p.key))
	for attempt := 1; ; attempt++ {
		o := n.attempt(p)
		if o.ok() {
			n.sent.Add(1)
			log.Debug("webhook delivered", zap.Int("status", o.status), zap.Int("attempts", attempt))
			return
		}
		if n.ctx.Err() != nil {
			n.abandon()
			return
		}
		fields := []zap.Field{zap.Int("attempts", attempt)}
		if o.status != 0 {
			fields = append(fields, zap.Int("status", o.status))
		}
		if o.err != nil {
			fields = append(fields, zap.Error(o.err))
		}
		if !o.retryable() {
			n.failed.Add(1)
			log.Warn("webhook delivery failed, not retried", fields...)
			return
		}
		if attempt >= n.cfg.Attempts {
			n.failed.Add(1)
			log.Warn("webhook delivery failed, attempts exhausted", fields...)
			return
		}
		wait := n.backoff(attempt)
		if o.hasAfter {
			wait = o.retryAfter
		}
		log.Debug("webhook delivery will be retried", append(fields, zap.Duration("wait", wait))...)
		if err := n.hooks.sleep(n.ctx, wait); err != nil {
			n.abandon()
			return
		}
	}
}

// abandon counts the message in flight as dropped when Close gave up.
func (n *Notifier) abandon() {
	n.dropped.Add(1)
	n.abandoned.Add(1)
}

// attempt POSTs the message once, bounded by Config.Timeout.
func (n *Notifier) attempt(p pending) outcome {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.String(), bytes.NewReader(p.body))
	if err != nil {
		return outcome{err: redact(err)}
	}
	for k, v := range n.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Idempotency-Key", p.key)
	resp, err := n.client.Do(req)
	if err != nil {
		return outcome{err: redact(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	o := outcome{status: resp.StatusCode}
	o.retryAfter, o.hasAfter = retryAfter(resp.Header.Get("Retry-After"), n.hooks.now())
	return o
}

// backoff is the wait after the given failed attempt (from 1): Delay
// doubled per attempt and capped at maxDelay, then "equal jitter", uniform
// in [d/2, d], so that waits grow yet retries of many senders spread out.
func (n *Notifier) backoff(attempt int) time.Duration {
	return retry.Backoff{Base: n.cfg.Delay, Max: maxDelay, Rand: n.hooks.jitter}.Equal(attempt)
}

// retryAfter parses a Retry-After value, delay-seconds or an HTTP date,
// capped at maxDelay so that a receiver cannot stall the queue.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	return retry.ParseRetryAfter(v, now, maxDelay)
}

// redact drops the URL from net/http's errors ("Post \"https://...?token=
// ...\": ..."), keeping the cause: the URL's query may hold a token.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
