package closeapi

import (
	"context"
	"net/http"
	"time"
)

// Watch is told, for a progress display, what the requests of a context
// wait for and which pages they read. Attach it with WithWatch. Each func
// may be nil; they are called from the requesting goroutines, so several
// at once when requests run concurrently, and must not block.
type Watch struct {
	// RateLimited: a request waits d for its endpoint group's rate-limit
	// budget before it is sent.
	RateLimited func(group string, d time.Duration)
	// Retrying: attempt failed and attempt+1 is sent after d. status is
	// the failed attempt's HTTP status (429 when Close refused it for the
	// rate limit), 0 for a transport error.
	Retrying func(attempt int, d time.Duration, status int)
	// Page: a page of a listing of path arrived (ListOffset, ListCursor,
	// Search), before the listing's callback sees it.
	Page func(path string, p Page)
}

type watchKey struct{}

// WithWatch returns a context whose requests and listings tell w.
func WithWatch(ctx context.Context, w *Watch) context.Context {
	if w == nil {
		return ctx
	}
	return context.WithValue(ctx, watchKey{}, w)
}

func watchFrom(ctx context.Context) *Watch {
	w, _ := ctx.Value(watchKey{}).(*Watch)
	return w
}

func (w *Watch) rateLimited(group string, d time.Duration) {
	if w != nil && w.RateLimited != nil {
		w.RateLimited(group, d)
	}
}

func (w *Watch) retrying(attempt int, d time.Duration, status int) {
	if w != nil && w.Retrying != nil {
		w.Retrying(attempt, d, status)
	}
}

// watchPages wraps a listing's callback so that the context's Watch sees
// each page first.
func watchPages(ctx context.Context, path string, fn func(Page) error) func(Page) error {
	w := watchFrom(ctx)
	if w == nil || w.Page == nil {
		return fn
	}
	return func(p Page) error {
		w.Page(path, p)
		return fn(p)
	}
}

// statusOf is resp's status, 0 without a response.
func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
