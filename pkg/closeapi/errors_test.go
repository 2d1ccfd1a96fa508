package closeapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"error string", `{"error": "Empty query: Lead matching query does not exist."}`, "Empty query: Lead matching query does not exist."},
		{"error object", `{"error": {"message": "API call count exceeded for this period", "rate_reset": 0.870663, "rate_limit": 40}}`,
			"API call count exceeded for this period"},
		{"field errors", `{"errors": [], "field-errors": {"status": "Not a valid choice."}}`, "status: Not a valid choice."},
		{"field errors sorted", `{"errors": [], "field-errors": {"lead": "Object does not exist.", "contact": "Required."}}`,
			"contact: Required.; lead: Object does not exist."},
		{"nested field errors",
			`{"errors": [], "field-errors": {"contacts": {"errors": {"0": {"errors": [], "field-errors": {"phones": {"errors": {"0": {"errors": [], "field-errors": {"phone": "Invalid phone number."}}}}}}}}}}`,
			"contacts.0.phones.0.phone: Invalid phone number."},
		{"errors list", `{"errors": ["Source lead does not exist."]}`, "Source lead does not exist."},
		{"errors and field errors", `{"errors": ["Bad request."], "field-errors": {"_limit": "Too large."}}`, "Bad request.; _limit: Too large."},
		{"field error list", `{"field-errors": {"email": ["Invalid.", "Taken."]}}`, "email: Invalid.; email: Taken."},
		{"top-level message", `{"message": "API call count exceeded", "rate_reset": "0.595956"}`, "API call count exceeded"},
		{"plain text", "Forbidden\n", "Forbidden"},
		{"html page", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "502 Bad Gateway"},
		{"empty", "", ""},
		{"unknown json", `{"detail": "x"}`, `{"detail": "x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("errorMessage(%s)\n got %q\nwant %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	sentinels := []error{ErrUnauthorized, ErrPaymentRequired, ErrForbidden, ErrNotFound, ErrRateLimited, ErrMaxSkip, ErrCursorExpired}
	tests := []struct {
		status int
		msg    string
		want   error // nil: none
	}{
		{401, "", ErrUnauthorized},
		{402, "", ErrPaymentRequired},
		{403, "Forbidden", ErrForbidden},
		{404, "", ErrNotFound},
		{429, "", ErrRateLimited},
		{400, "The skip you set is larger than the maximum skip for this resource (max_skip = 250000). Please refine your search query.", ErrMaxSkip},
		{400, "_skip: Ensure this value is less than or equal to 250000.", ErrMaxSkip},
		{400, "_limit: Ensure this value is less than or equal to 200.", nil},
		{400, "The cursor has expired.", ErrCursorExpired},
		{400, "status: Not a valid choice.", nil},
		{500, "", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.msg), func(t *testing.T) {
			e := &APIError{Status: tt.status, Message: tt.msg}
			wrapped := fmt.Errorf("page 3: %w", e)
			for _, s := range sentinels {
				if got := errors.Is(wrapped, s); got != errors.Is(s, tt.want) {
					t.Errorf("errors.Is(%v) = %v", s, got)
				}
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *APIError
		want string
	}{
		{"bad request", &APIError{Account: "main", Method: "GET", Path: "/lead/", Status: 400, Message: "status: Not a valid choice."},
			"GET /lead/: 400 Bad Request: status: Not a valid choice."},
		{"no message", &APIError{Method: "GET", Path: "/lead/", Status: 404}, "GET /lead/: 404 Not Found"},
		{"unauthorized", &APIError{Account: "main", Method: "GET", Path: "/me/", Status: 401, Message: "The server could not verify"},
			"API key rejected by Close for account main (401 Unauthorized)"},
		{"unauthorized no account", &APIError{Method: "GET", Path: "/me/", Status: 401}, "API key rejected by Close (401 Unauthorized)"},
		{"gave up", &APIError{Method: "GET", Path: "/lead/", Status: 503, Attempts: 8},
			"GET /lead/: 503 Service Unavailable (gave up after 8 attempts)"},
		{"unknown status", &APIError{Method: "POST", Path: "/data/search/", Status: 599}, "POST /data/search/: 599"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMaxSkipError(t *testing.T) {
	ae := &APIError{Method: "GET", Path: "/activity/email/", Status: 400, Message: "max_skip = 250000"}
	e := &MaxSkipError{Skip: 250100, Max: 250000, Err: ae}
	err := fmt.Errorf("list: %w", e)
	if !errors.Is(err, ErrMaxSkip) {
		t.Error("not ErrMaxSkip")
	}
	var got *APIError
	if !errors.As(err, &got) || got != ae {
		t.Error("does not unwrap to the *APIError")
	}
	if want := "GET /activity/email/: _skip 250100 is past the resource's maximum (max_skip = 250000)"; e.Error() != want {
		t.Errorf("got %q want %q", e.Error(), want)
	}
	if Temporary(err) {
		t.Error("max skip is not temporary")
	}
}

type netTimeoutError struct{}

func (netTimeoutError) Error() string   { return "i/o timeout" }
func (netTimeoutError) Timeout() bool   { return true }
func (netTimeoutError) Temporary() bool { return true }

func TestTemporary(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"429", &APIError{Status: 429}, true},
		{"500", &APIError{Status: 500}, true},
		{"502", &APIError{Status: 502}, true},
		{"503 wrapped", fmt.Errorf("page 2: %w", &APIError{Status: 503, Attempts: 8}), true},
		{"504", &APIError{Status: 504}, true},
		{"400", &APIError{Status: 400}, false},
		{"401", &APIError{Status: 401}, false},
		{"404", &APIError{Status: 404}, false},
		{"caller canceled", fmt.Errorf("GET /lead/: %w", context.Canceled), false},
		{"caller deadline", fmt.Errorf("GET /lead/: %w", context.DeadlineExceeded), false},
		{"attempt timeout", &attemptsError{attempts: 8, err: &timeoutError{after: time.Minute, err: context.DeadlineExceeded}}, true},
		{"net timeout", &net.OpError{Op: "dial", Err: netTimeoutError{}}, true},
		{"unexpected EOF", fmt.Errorf("read response: %w", io.ErrUnexpectedEOF), true},
		{"EOF", fmt.Errorf("GET /lead/: %w", io.EOF), true},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"connection refused", &attemptsError{attempts: 3, err: opErr(syscall.ECONNREFUSED)}, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "api.close.invalid", IsNotFound: true}, false},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "api.close.com", IsTemporary: true}, true},
		{"tls", x509.UnknownAuthorityError{}, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Temporary(tt.err); got != tt.want {
				t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestNewAPIErrorTruncatesBody(t *testing.T) {
	body := strings.Repeat("é", 3000) // 6000 bytes, 2-byte runes
	resp := &http.Response{StatusCode: 500, Header: http.Header{}}
	e := newAPIError("main", "GET", "/lead/", resp, []byte(body), time.Now(), func(s string) string { return s })
	if len(e.Body) > maxErrorBody+len("…") {
		t.Errorf("body not truncated: %d bytes", len(e.Body))
	}
	if !strings.HasSuffix(e.Body, "…") || strings.ContainsRune(e.Body, '\uFFFD') {
		t.Errorf("body badly truncated: %q", e.Body[len(e.Body)-10:])
	}
}
