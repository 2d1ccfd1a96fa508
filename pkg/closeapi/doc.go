// Package closeapi is the client closesync uses to read a Close CRM
// organisation through the Close REST API v1 (see close-api.md).
//
// # Requests
//
// A Client sends the API key as the HTTP Basic username with an empty
// password, asks for JSON, and always ends paths with a slash (Close
// redirects otherwise). Get, Post (read-only POSTs such as /data/search/
// and /report/...) and Me are the single calls; ListOffset (_skip/_limit/
// has_more), ListCursor (/event/ _cursor/cursor_next) and Search (POST
// /data/search/ cursor) walk a listing page by page, handing each Page to a
// callback with the objects as raw JSON.
//
// # Retries and rate limits
//
// Retries live in one http.RoundTripper. Reads (GET, and the read-only
// POSTs a Client sends) are retried on 429, 500, 502, 503, 504, attempt
// timeouts, dropped or refused connections and truncated bodies, up to
// Config.MaxAttempts attempts. After a 429 the client waits what Close
// asked for (the RateLimit header's reset, Retry-After, RateLimit-Reset,
// X-Rate-Limit-Reset, then the body's rate_reset; 2s if none), capped by
// Config.MaxRetryWait; otherwise it backs off exponentially with full
// jitter, capped by Config.MaxBackoff. Every sleep ends early when the
// context is done.
//
// A Budget, one per API key and shared by every client and job using it,
// bounds the requests in flight and remembers, per endpoint group ("GET
// lead", "POST data", ...), what the last RateLimit header said: when a
// group has nothing left, its requests wait for the reset rather than
// provoking 429s. A Budgets registry, created once per process, hands out
// each key's Budget, so that clients rebuilt by a reload keep it.
//
// Attach a Stats to a context with WithStats to count a run's attempts,
// retries and 429s.
//
// # Errors
//
// A non-2xx answer is an *APIError carrying Close's message, extracted
// from any of its error shapes; errors.Is maps it to ErrUnauthorized,
// ErrPaymentRequired, ErrForbidden, ErrNotFound, ErrRateLimited,
// ErrMaxSkip and ErrCursorExpired. ListOffset reports a refused deep skip
// as a *MaxSkipError. Temporary tells a caller whether an error is worth
// another try later. After retries run out, the last *APIError (with
// Attempts) or network error is returned.
//
// The API key never appears in an error, a log line, a URL or a String().
package closeapi
