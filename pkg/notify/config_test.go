package notify

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	const secret = "s3cret-header-value"
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{name: "minimal", cfg: Config{URL: "https://hooks.example.com/x"}},
		{name: "full", cfg: Config{URL: "http://127.0.0.1:8080/hook?token=abc", On: []string{"failure", "success", "changes"},
			Headers: map[string]string{"Authorization": "Bearer x", "X-Api-Key": "y\tz"}, Attempts: 3, Delay: time.Second,
			Timeout: time.Second, QueueSize: 10, ChangesBatch: 50}},
		{name: "no url", cfg: Config{}, want: []string{"url: required"}},
		{name: "relative url", cfg: Config{URL: "/hook"}, want: []string{"url: must be an absolute http or https URL"}},
		{name: "ftp url", cfg: Config{URL: "ftp://example.com/x"}, want: []string{"url: must be an absolute http or https URL"}},
		{name: "no host", cfg: Config{URL: "https:///path"}, want: []string{"url: has no host"}},
		{name: "bad url", cfg: Config{URL: "https://example.com/%zz?token=tok-in-url"}, want: []string{"url: not a valid URL"}},
		{name: "unknown on", cfg: Config{URL: "https://h/x", On: []string{"failure", "failures"}},
			want: []string{`on[1]: unknown value "failures"`}},
		{name: "bad header name", cfg: Config{URL: "https://h/x", Headers: map[string]string{"Bad Name": "v"}},
			want: []string{`headers["Bad Name"]: not a valid header name`}},
		{name: "empty header name", cfg: Config{URL: "https://h/x", Headers: map[string]string{"": "v"}},
			want: []string{`headers[""]: not a valid header name`}},
		{name: "reserved header", cfg: Config{URL: "https://h/x", Headers: map[string]string{"content-type": "text/plain"}},
			want: []string{`headers["content-type"]: is set by closesync`}},
		{name: "header value with newline", cfg: Config{URL: "https://h/x", Headers: map[string]string{"X-Token": secret + "\r\nX-Evil: 1"}},
			want: []string{`headers["X-Token"]: value holds a control character`}},
		{name: "negative attempts", cfg: Config{URL: "https://h/x", Attempts: -1}, want: []string{"attempts: must not be negative"}},
		{name: "negative delay", cfg: Config{URL: "https://h/x", Delay: -time.Second}, want: []string{"delay: must not be negative"}},
		{name: "delay above cap", cfg: Config{URL: "https://h/x", Delay: 2 * time.Minute}, want: []string{"delay: 2m0s is above"}},
		{name: "negative timeout", cfg: Config{URL: "https://h/x", Timeout: -1}, want: []string{"timeout: must not be negative"}},
		{name: "negative queue", cfg: Config{URL: "https://h/x", QueueSize: -1}, want: []string{"queue_size: must not be negative"}},
		{name: "negative batch", cfg: Config{URL: "https://h/x", ChangesBatch: -1}, want: []string{"changes_batch: must not be negative"}},
		{name: "every problem at once", cfg: Config{URL: "mailto:x", On: []string{"nope"}, Attempts: -1, QueueSize: -2},
			want: []string{"url:", "on[0]:", "attempts:", "queue_size:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			for _, leak := range []string{secret, "tok-in-url"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("Validate() = %q, leaks %q", err, leak)
				}
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	n, err := New(Config{URL: "https://h/x", Headers: map[string]string{"X-Token": "tok\n"}}, nil, nil)
	if err == nil {
		_ = n.Close(t.Context())
		t.Fatal("New() = nil error, want one")
	}
	if !strings.Contains(err.Error(), `headers["X-Token"]`) || strings.Contains(err.Error(), "tok\n") {
		t.Errorf("New() error = %q", err)
	}
}

func TestWithDefaults(t *testing.T) {
	got := Config{URL: "https://h/x"}.withDefaults()
	if len(got.On) != 1 || got.On[0] != OnFailure || got.Attempts != DefaultAttempts || got.Delay != DefaultDelay ||
		got.Timeout != DefaultTimeout || got.QueueSize != DefaultQueueSize || got.ChangesBatch != DefaultChangesBatch {
		t.Errorf("withDefaults() = %+v", got)
	}
	set := Config{URL: "https://h/x", On: []string{OnChanges}, Attempts: 1, Delay: 1, Timeout: 1, QueueSize: 1, ChangesBatch: 1}
	if got := set.withDefaults(); got.On[0] != OnChanges || got.Attempts != 1 || got.Delay != 1 || got.Timeout != 1 ||
		got.QueueSize != 1 || got.ChangesBatch != 1 {
		t.Errorf("withDefaults() changed set fields: %+v", got)
	}
}
