package closeapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/retry"
)

// Defaults for Config.
const (
	DefaultBaseURL        = "https://api.close.com/api/v1"
	DefaultMaxConcurrency = 8
	DefaultTimeout        = 60 * time.Second
	DefaultMaxAttempts    = 8
	DefaultBaseBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxRetryWait   = 2 * time.Minute
	DefaultUserAgent      = "closesync"
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	Account string // account name, used in error messages ("account main")
	// BaseURL is the API root, e.g. https://api.close.com/api/v1 (the
	// default when empty); a trailing slash is optional.
	BaseURL string
	// APIKey is sent as the HTTP Basic username with an empty password. It
	// never appears in an error, a log line, a URL or String().
	APIKey string
	// MaxConcurrency bounds requests in flight when the client makes its
	// own Budget; a shared Budget brings its own bound.
	MaxConcurrency int
	Timeout        time.Duration // per attempt, including reading the body
	MaxAttempts    int           // attempts per request, first one included
	BaseBackoff    time.Duration // first backoff ceiling; full-jitter exponential
	MaxBackoff     time.Duration // cap on one backoff sleep
	MaxRetryWait   time.Duration // cap on a server-requested wait (RateLimit reset, Retry-After)
	// Budget is shared by every client and job using the same API key;
	// nil gives the client a private one.
	Budget *Budget
	// Transport is the base transport (default: a clone of
	// http.DefaultTransport). Retries wrap it.
	Transport http.RoundTripper
	UserAgent string
	Logger    *zap.Logger // debug logs of retries and waits; nil: none
	// OnResponse, when set, is called after every attempt with the
	// endpoint group ("GET lead"), the status code (0: no response) and
	// the rate-limit state the response carried, if any. For metrics; it
	// must be quick and safe for concurrent use.
	OnResponse func(group string, status int, rl RateLimit, hasRL bool)
}

// String describes cfg without its API key.
func (cfg Config) String() string {
	key := "unset"
	if cfg.APIKey != "" {
		key = "[redacted]"
	}
	base := cfg.BaseURL
	if u, err := url.Parse(base); err == nil {
		base = u.Redacted()
	} else {
		base = "[invalid]"
	}
	return fmt.Sprintf("closeapi.Config{Account: %q, BaseURL: %q, APIKey: %s, MaxConcurrency: %d, Timeout: %s, MaxAttempts: %d}",
		cfg.Account, base, key, cfg.MaxConcurrency, cfg.Timeout, cfg.MaxAttempts)
}

// GoString is String, so %#v does not print the key either.
func (cfg Config) GoString() string { return cfg.String() }

// withDefaults fills in the zero fields: the defaults above, a private
// Budget, a clone of http.DefaultTransport, a no-op logger.
func (cfg Config) withDefaults() Config {
	setDefault(&cfg.BaseURL, DefaultBaseURL)
	setDefault(&cfg.MaxConcurrency, DefaultMaxConcurrency)
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.BaseBackoff, DefaultBaseBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.MaxRetryWait, DefaultMaxRetryWait)
	setDefault(&cfg.UserAgent, DefaultUserAgent)
	if cfg.Budget == nil {
		cfg.Budget = NewBudget(cfg.MaxConcurrency)
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg
}

// setDefault sets *v to def when it is zero or negative (for a string:
// empty).
func setDefault[T cmp.Ordered](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}

// Client calls the Close API for one account. It is safe for concurrent
// use; its requests share the Budget of its API key.
type Client struct {
	base    *url.URL
	account string
	key     string // for auth and for scrubbing echoes; never printed
	auth    string
	ua      string
	budget  *Budget
	rt      *retryTransport
	http    *http.Client
}

// New validates cfg and returns a client. BaseURL must be an absolute
// http or https URL without credentials; APIKey must be non-empty
// (surrounding whitespace, as from a key file, is trimmed).
func New(cfg Config) (*Client, error) {
	name := "account " + cfg.Account
	if cfg.Account == "" {
		name = "close client"
	}
	key := strings.TrimSpace(cfg.APIKey)
	if key == "" {
		return nil, fmt.Errorf("%s: API key is empty", name)
	}
	if strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return nil, fmt.Errorf("%s: API key contains whitespace or control characters", name)
	}
	cfg = cfg.withDefaults()
	if len(key) >= 8 && strings.Contains(cfg.BaseURL, key) {
		return nil, fmt.Errorf("%s: base URL must not contain the API key", name)
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("%s: base URL: %w", name, errors.Unwrap(err)) // *url.Error would repeat the URL
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("%s: base URL %q must be an absolute http(s) URL", name, u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("%s: base URL %q must not carry credentials; the API key is sent in a header", name, u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%s: base URL %q must not have a query or fragment", name, u.Redacted())
	}
	rt := &retryTransport{next: cfg.Transport, budget: cfg.Budget, maxAttempts: cfg.MaxAttempts, base: cfg.BaseBackoff,
		maxBackoff: cfg.MaxBackoff, maxWait: cfg.MaxRetryWait, timeout: cfg.Timeout, log: cfg.Logger, clock: retry.RealClock{},
		onResponse: cfg.OnResponse}
	return &Client{
		base:    u,
		account: cfg.Account,
		key:     key,
		auth:    "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":")),
		ua:      cfg.UserAgent,
		budget:  cfg.Budget,
		rt:      rt,
		http:    &http.Client{Transport: rt},
	}, nil
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("closeapi.Client{account: %q, base: %q}", c.account, c.base.Redacted())
}

// Budget returns the budget the client's requests share.
func (c *Client) Budget() *Budget { return c.budget }

// Get GETs path (e.g. "/lead/" or "lead"; a trailing slash is always
// ensured) with query q and decodes the JSON response into out (nil:
// discard). Retried as described in the package documentation.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

// Post POSTs body as JSON to a read-only endpoint (/data/search/,
// /report/...) and decodes the response into out. Such POSTs are retried
// like GETs; do not use Post for anything that changes data.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, body, out)
}

// Change sends a request that changes data in Close (method POST or
// DELETE: a webhook subscription made or removed) and decodes the
// response into out (nil: discard). It is sent once: a change is never
// retried, since a retry could apply it twice.
func (c *Client) Change(ctx context.Context, method, path string, body, out any) error {
	return c.send(ctx, method, path, nil, body, out, false)
}

// Me returns GET /me/, the credential probe: an error matching
// ErrUnauthorized means the key was rejected.
func (c *Client) Me(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.Get(ctx, "/me/", nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// apiPath normalises a path to "/seg/.../" form.
func apiPath(path string) string {
	p := strings.Trim(path, "/")
	if p == "" {
		return "/"
	}
	return "/" + p + "/"
}

// do sends one request through the retrying transport. Every request a
// Client makes but Change's is read-only (GETs and the search/report
// POSTs), so the transport may retry it and hands back its body read into memory: a
// failure's as reqState.body, a success's as resp.Body.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	return c.send(ctx, method, path, q, body, out, true)
}

// send is do, readOnly saying whether the transport may retry it.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body, out any, readOnly bool) error {
	rel := apiPath(path)
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, rel, err)
		}
	}
	st := &reqState{readOnly: readOnly, group: endpointGroup(method, rel)}
	ctx = context.WithValue(ctx, reqStateKey{}, st)

	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + rel
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	var rdr io.Reader
	if payload != nil {
		rdr = bytes.NewReader(payload) // NewRequest sets GetBody, so retries can rewind
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rdr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, rel, scrubURLError(err))
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, rel, scrubURLError(err))
	}
	defer resp.Body.Close()
	if !success(resp.StatusCode) {
		e := newAPIError(c.account, method, rel, resp, st.body, c.rt.clock.Now(), c.redact)
		e.Attempts = st.attempts
		return e
	}
	return c.decode(method, rel, resp, out)
}

// decode reads a successful response into out from the memory the
// transport read it into (refusing it past maxBodyBytes): page types token
// by token with their shape checked (ErrNotAPage), anything else with one
// json.Decoder. An empty body is an error whenever out wants a value,
// unless the status is 204.
func (c *Client) decode(method, rel string, resp *http.Response, out any) error {
	h := &headRecorder{r: resp.Body}
	var err error
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, err = io.Copy(io.Discard, h)
	} else {
		dec := json.NewDecoder(h)
		if sd, ok := out.(streamDecoder); ok {
			err = sd.decodeStream(dec)
		} else if err = dec.Decode(out); err == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				err = fmt.Errorf("data after the JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the body is empty")
	}
	if errors.Is(err, ErrNotAPage) {
		return fmt.Errorf("%s %s: %w (%s)", method, rel, err, c.quoteHead(h.head))
	}
	return fmt.Errorf("%s %s: response is not the JSON expected: %w (%s)", method, rel, err, c.quoteHead(h.head))
}

// redact removes the key (and its Basic form) should a server echo it.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.key, "[redacted]")
	return strings.ReplaceAll(s, strings.TrimPrefix(c.auth, "Basic "), "[redacted]")
}

// scrubURLError drops the URL from a *url.Error: the caller names the
// method and API path, and the URL adds only host and query noise.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
