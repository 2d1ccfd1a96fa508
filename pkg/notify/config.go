package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Values of Config.On.
const (
	OnFailure = "failure" // a run ended failed or cancelled: event run.failed
	OnSuccess = "success" // a run ended success: event run.succeeded
	OnChanges = "changes" // a run changed ids: events run.changes
)

// Defaults for the zero values of Config's tuning fields.
const (
	DefaultAttempts     = 5
	DefaultDelay        = 2 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultQueueSize    = 256
	DefaultChangesBatch = 1000
)

// maxDelay caps every wait between attempts: the doubled backoff and a
// receiver's Retry-After alike, so that no receiver can stall the queue.
const maxDelay = time.Minute

// knownOn lists the accepted Config.On values.
var knownOn = []string{OnFailure, OnSuccess, OnChanges}

// reservedHeaders are set by the notifier or by net/http itself; a
// configured value would be ignored or would corrupt the request.
var reservedHeaders = []string{"Connection", "Content-Length", "Content-Type", "Host", "Idempotency-Key",
	"Transfer-Encoding", "User-Agent"}

// Config configures webhook delivery. The zero value of each tuning field
// selects its default.
type Config struct {
	// URL is the absolute http or https endpoint receiving the POSTs. It
	// may carry a token in its query: only its host is ever logged.
	URL string `koanf:"url"`
	// On selects the messages sent: any of "failure", "success" and
	// "changes". Empty means ["failure"].
	On []string `koanf:"on"`
	// Headers are extra request headers. Their values may hold secrets and
	// are never logged nor put in an error.
	Headers map[string]string `koanf:"headers"`

	// Attempts is how many times one message is tried (default 5).
	Attempts int `koanf:"attempts"`
	// Delay is the wait before the first retry, doubled at each further
	// one with jitter, capped at one minute (default 2s).
	Delay time.Duration `koanf:"delay"`
	// Timeout bounds one request, response included (default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// QueueSize is how many messages wait for delivery; when it is full the
	// oldest is dropped and counted (default 256).
	QueueSize int `koanf:"queue_size"`
	// ChangesBatch is the most ids one run.changes message carries
	// (default 1000).
	ChangesBatch int `koanf:"changes_batch"`
}

// Validate reports every problem at once, errors.Join'ed, each prefixed with
// the field it is about ("url: ...", "on[1]: ...", "headers[\"X\"]: ...").
// No message holds a header value or the URL's query.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, err := parseURL(c.URL); err != nil {
		add("url", "%v", err)
	}
	for i, on := range c.On {
		if !slices.Contains(knownOn, on) {
			add(fmt.Sprintf("on[%d]", i), "unknown value %q (want one of %s)", on, strings.Join(knownOn, ", "))
		}
	}
	for _, name := range sortedKeys(c.Headers) {
		field := fmt.Sprintf("headers[%q]", name)
		switch {
		case !validHeaderName(name):
			add(field, "not a valid header name (letters, digits and !#$%%&'*+-.^_`|~ only)")
		case slices.Contains(reservedHeaders, http.CanonicalHeaderKey(name)):
			add(field, "is set by closesync and cannot be configured")
		case !validHeaderValue(c.Headers[name]):
			// Never echo the value: it may be a token.
			add(field, "value holds a control character (such as a newline)")
		}
	}
	if c.Attempts < 0 {
		add("attempts", "must not be negative (0 means %d)", DefaultAttempts)
	}
	if c.Delay < 0 {
		add("delay", "must not be negative (0 means %s)", DefaultDelay)
	} else if c.Delay > maxDelay {
		add("delay", "%s is above the %s cap on retry waits", c.Delay, maxDelay)
	}
	if c.Timeout < 0 {
		add("timeout", "must not be negative (0 means %s)", DefaultTimeout)
	}
	if c.QueueSize < 0 {
		add("queue_size", "must not be negative (0 means %d)", DefaultQueueSize)
	}
	if c.ChangesBatch < 0 {
		add("changes_batch", "must not be negative (0 means %d)", DefaultChangesBatch)
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero tuning field set to its default.
func (c Config) withDefaults() Config {
	if len(c.On) == 0 {
		c.On = []string{OnFailure}
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.Delay == 0 {
		c.Delay = DefaultDelay
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.ChangesBatch == 0 {
		c.ChangesBatch = DefaultChangesBatch
	}
	return c
}

// parseURL checks that raw is an absolute http or https URL with a host.
// Its errors never quote raw, whose query may hold a token.
func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required (the webhook endpoint, e.g. https://hooks.example.com/closesync)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL itself
		}
		return nil, fmt.Errorf("not a valid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must be an absolute http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	return u, nil
}

// validHeaderName reports whether name is an RFC 9110 token, the rule
// net/http/httpguts.ValidHeaderFieldName applies.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// validHeaderValue reports whether v holds no control character other than
// horizontal tab, as net/http/httpguts.ValidHeaderFieldValue.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
