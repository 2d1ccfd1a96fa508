package closeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Sentinels, matched with errors.Is against the errors this package returns.
var (
	ErrUnauthorized    = errors.New("unauthorized")              // 401: the API key was rejected
	ErrPaymentRequired = errors.New("plan limit reached")        // 402
	ErrForbidden       = errors.New("forbidden")                 // 403: the key may not do this
	ErrNotFound        = errors.New("not found")                 // 404
	ErrRateLimited     = errors.New("rate limited")              // 429
	ErrMaxSkip         = errors.New("_skip past resource's cap") // 400 max_skip: see MaxSkipError
	ErrCursorExpired   = errors.New("search cursor expired")     // 400 on a /data/search/ cursor
)

// APIError is a non-2xx answer from Close. It never holds the API key.
type APIError struct {
	Account string // the account name from Config
	Method  string
	Path    string // API path relative to the base URL, e.g. "/lead/"
	Status  int
	// Message is the readable error text extracted from Close's body (any of
	// its error shapes), or the plain-text body.
	Message string
	// Body is the response body, truncated to 2 KiB.
	Body string
	// RetryAfter is the wait the server asked for (rate-limit reset or
	// Retry-After), zero when it named none.
	RetryAfter time.Duration
	// Attempts is how many attempts were made before giving up (1 when
	// the status was not retried).
	Attempts int
}

func (e *APIError) Error() string {
	status := strconv.Itoa(e.Status)
	if t := http.StatusText(e.Status); t != "" {
		status += " " + t
	}
	var msg string
	switch {
	case e.Status == http.StatusUnauthorized && e.Account != "":
		msg = fmt.Sprintf("API key rejected by Close for account %s (%s)", e.Account, status)
	case e.Status == http.StatusUnauthorized:
		msg = fmt.Sprintf("API key rejected by Close (%s)", status)
	default:
		msg = fmt.Sprintf("%s %s: %s", e.Method, e.Path, status)
		if e.Message != "" {
			msg += ": " + e.Message
		}
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (gave up after %d attempts)", e.Attempts)
	}
	return msg
}

// Is maps the status (and, for 400s, Close's message) to the sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrPaymentRequired:
		return e.Status == http.StatusPaymentRequired
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrMaxSkip:
		return e.Status == http.StatusBadRequest && isSkipCap(e.Message)
	case ErrCursorExpired:
		return e.badCursor(false)
	}
	return false
}

// badCursor reports whether e is a 400 complaining about a cursor: that it
// expired or, with invalid, that it is invalid (which a search walk that
// sent a cursor takes for expiry too).
func (e *APIError) badCursor(invalid bool) bool {
	m := strings.ToLower(e.Message)
	return e.Status == http.StatusBadRequest && strings.Contains(m, "cursor") &&
		(strings.Contains(m, "expire") || invalid && strings.Contains(m, "invalid"))
}

// MaxSkipError is returned by ListOffset when Close refuses a _skip past
// the resource's cap (close-api.md §3.1). The caller should narrow the
// query (a date window with a stable sort) and start again from _skip 0.
// It matches ErrMaxSkip and unwraps to the *APIError.
type MaxSkipError struct {
	Skip int // the _skip Close refused
	Max  int // the cap Close named (max_skip = N); 0 when its message had no number
	Err  *APIError
}

func (e *MaxSkipError) Error() string {
	where := ""
	if e.Err != nil {
		where = e.Err.Method + " " + e.Err.Path + ": "
	}
	if e.Max > 0 {
		return fmt.Sprintf("%s_skip %d is past the resource's maximum (max_skip = %d)", where, e.Skip, e.Max)
	}
	return fmt.Sprintf("%s_skip %d is past the resource's maximum skip", where, e.Skip)
}

// Is reports whether target is ErrMaxSkip.
func (e *MaxSkipError) Is(target error) bool { return target == ErrMaxSkip }

// Unwrap returns the *APIError.
func (e *MaxSkipError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

var (
	// "The skip you set is larger than the maximum skip for this resource (max_skip = 250000)."
	maxSkipRE = regexp.MustCompile(`max_skip\s*=\s*(\d+)`)
	// The newer wording (exact text unconfirmed), e.g. "Ensure this value is
	// less than or equal to 250000."
	lteRE = regexp.MustCompile(`(?i)less than or equal to\s*(\d+)?`)
)

// isSkipCap recognises a skip-cap message on its own: the max_skip wording,
// or "less than or equal to" together with a mention of skip (so that a
// _limit error with the same wording is not taken for one).
func isSkipCap(msg string) bool {
	return maxSkipRE.MatchString(msg) || (lteRE.MatchString(msg) && strings.Contains(strings.ToLower(msg), "skip"))
}

// skipCapMax returns the number in a skip-cap message, 0 when there is none.
func skipCapMax(msg string) int {
	m := maxSkipRE.FindStringSubmatch(msg)
	if m == nil {
		m = lteRE.FindStringSubmatch(msg)
	}
	if m == nil || m[1] == "" {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

const maxErrorBody = 2 << 10

// newAPIError builds the error for a non-2xx response; redact removes
// anything secret a server might have echoed.
func newAPIError(account, method, path string, resp *http.Response, body []byte, now time.Time, redact func(string) string) *APIError {
	e := &APIError{Account: account, Method: method, Path: path, Status: resp.StatusCode,
		Message: redact(errorMessage(body)), Body: redact(truncate(string(body), maxErrorBody))}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		e.RetryAfter, _ = rateLimitWait(resp.Header, body, now)
	case http.StatusServiceUnavailable:
		e.RetryAfter, _ = retryAfter(resp.Header, now)
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

const maxMessage = 500

// errorMessage extracts a readable message from Close's error bodies
// (close-api.md §12): {"error": "..."}, {"error": {"message": ...}},
// {"errors": [...], "field-errors": {...}} with nested field errors
// flattened to dotted paths, or a plain-text body.
func errorMessage(body []byte) string {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return ""
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		if strings.HasPrefix(trimmed, "<") {
			return htmlTitle(trimmed) // an HTML error page from a proxy
		}
		return truncate(strings.Join(strings.Fields(trimmed), " "), maxMessage)
	}
	var parts []string
	switch e := v["error"].(type) {
	case string:
		parts = append(parts, e)
	case map[string]any:
		if m, ok := e["message"].(string); ok {
			parts = append(parts, m)
		}
	}
	if m, ok := v["message"].(string); ok && len(parts) == 0 {
		parts = append(parts, m)
	}
	if errs, ok := v["errors"]; ok {
		flattenErrors("", errs, &parts)
	}
	if fe, ok := v["field-errors"].(map[string]any); ok {
		flattenFields("", fe, &parts)
	}
	if len(parts) == 0 {
		return truncate(trimmed, maxMessage)
	}
	return truncate(strings.Join(parts, "; "), maxMessage)
}

// flattenErrors adds the messages of an "errors" value: a list of
// messages, a string, or an object keyed by index or field holding nested
// {errors, field-errors} values.
func flattenErrors(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case string:
		if prefix == "" {
			*out = append(*out, x)
		} else {
			*out = append(*out, prefix+": "+x)
		}
	case []any:
		for _, item := range x {
			flattenErrors(prefix, item, out)
		}
	case map[string]any:
		_, hasErrs := x["errors"]
		fe, hasFields := x["field-errors"].(map[string]any)
		if hasErrs || hasFields {
			if hasErrs {
				flattenErrors(prefix, x["errors"], out)
			}
			if hasFields {
				flattenFields(prefix, fe, out)
			}
			return
		}
		flattenFields(prefix, x, out)
	case nil:
	default:
		flattenErrors(prefix, fmt.Sprint(x), out)
	}
}

func flattenFields(prefix string, m map[string]any, out *[]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flattenErrors(p, m[k], out)
	}
}

var titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

func htmlTitle(s string) string {
	if m := titleRE.FindStringSubmatch(s); m != nil {
		return truncate(strings.Join(strings.Fields(m[1]), " "), maxMessage)
	}
	return ""
}

// timeoutError is an attempt that got no (complete) response within the
// per-attempt timeout. It deliberately does not unwrap to
// context.DeadlineExceeded, which is reserved for the caller's own deadline.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no response within %s", e.after)
}
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// attemptsError is a network failure that persisted through every attempt.
type attemptsError struct {
	attempts int
	err      error
}

func (e *attemptsError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts)", e.err, e.attempts)
}
func (e *attemptsError) Unwrap() error { return e.err }

// Temporary reports whether err is worth retrying later: a 429, 500, 502,
// 503 or 504 from Close, an attempt timeout, a network timeout, a dropped
// or refused connection, or a truncated response. The caller's own
// cancellation or deadline (context.Canceled, context.DeadlineExceeded) is
// not temporary.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableStatus(ae.Status)
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Unreachable reports whether err is a failure to reach the API at all:
// connection refused, no route to the host or network, a DNS lookup that
// failed, a dial that timed out. A request that was sent and then failed
// (a timeout, a dropped connection, an HTTP status) is not.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// success reports whether s is a 2xx status.
func success(s int) bool { return s >= 200 && s <= 299 }

func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
