package closeapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name, baseURL, key string
		wantErr            string // "" = valid
	}{
		{"default base URL", "", testKey, ""},
		{"trailing slash", "https://api.close.com/api/v1/", testKey, ""},
		{"http loopback", "http://127.0.0.1:8080/api/v1", testKey, ""},
		{"key file newline trimmed", "", testKey + "\n", ""},
		{"empty key", "", "", "account main: API key is empty"},
		{"blank key", "", "  \n", "account main: API key is empty"},
		{"key with space", "", "api_abc def", "whitespace"},
		{"relative URL", "api.close.com/api/v1", testKey, "must be an absolute http(s) URL"},
		{"other scheme", "ftp://api.close.com/api/v1", testKey, "must be an absolute http(s) URL"},
		{"credentials in URL", "https://user:hunter2@api.close.com/api/v1", testKey, "must not carry credentials"},
		{"key in URL", "https://api.close.com/api/v1?key=" + testKey, testKey, "must not contain the API key"},
		{"query", "https://api.close.com/api/v1?x=1", testKey, "must not have a query"},
		{"unparseable", "https://api.close.com:port/%zz", testKey, "account main: base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Account: "main", BaseURL: tt.baseURL, APIKey: tt.key})
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{testKey, "hunter2", "%zz"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks %q", err, secret)
				}
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	type seen struct{ method, path, query, auth, accept, ua, ctype string }
	var mu sync.Mutex
	var got []seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Accept"),
			r.Header.Get("User-Agent"), r.Header.Get("Content-Type")})
		mu.Unlock()
		io.WriteString(w, `{"data": []}`)
	})
	c, _ := newTestClient(t, h, Config{UserAgent: "closesync/test"})
	ctx := context.Background()
	for _, p := range []string{"lead", "/lead", "lead/", "/activity/call/"} {
		if err := c.Get(ctx, p, url2Values("_fields", "id,name", "query", "a b"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Post(ctx, "data/search", map[string]any{"_limit": 1}, nil); err != nil {
		t.Fatal(err)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"))
	wantPaths := []string{"/api/v1/lead/", "/api/v1/lead/", "/api/v1/lead/", "/api/v1/activity/call/", "/api/v1/data/search/"}
	if len(got) != len(wantPaths) {
		t.Fatalf("got %d requests", len(got))
	}
	for i, s := range got {
		if s.path != wantPaths[i] {
			t.Errorf("request %d path %q, want %q", i, s.path, wantPaths[i])
		}
		if s.auth != wantAuth || s.accept != "application/json" || s.ua != "closesync/test" {
			t.Errorf("request %d headers: %+v", i, s)
		}
		if strings.Contains(s.query, testKey) {
			t.Errorf("key in query %q", s.query)
		}
		if wantCT := map[bool]string{true: "application/json", false: ""}[s.method == "POST"]; s.ctype != wantCT {
			t.Errorf("request %d %s Content-Type %q, want %q", i, s.method, s.ctype, wantCT)
		}
	}
	if got[0].query != "_fields=id%2Cname&query=a+b" {
		t.Errorf("query %q", got[0].query)
	}
	// The documented example: key yourapikey → Basic eW91cmFwaWtleTo=.
	c2, _ := New(Config{APIKey: "yourapikey"})
	if c2.auth != "Basic eW91cmFwaWtleTo=" {
		t.Errorf("auth header %q", c2.auth)
	}
}

func TestGetDecoding(t *testing.T) {
	tests := []struct {
		name    string
		reply   reply
		wantErr string
	}{
		{"object", reply{200, nil, `{"id": "user_1", "email": "a@b"}`}, ""},
		{"no content", reply{204, nil, ""}, ""},
		{"not json", reply{200, map[string]string{"Content-Type": "text/html"}, "<html>login</html>"}, "response is not the JSON expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, &sequence{replies: []reply{tt.reply}}, Config{})
			var out map[string]any
			err := c.Get(context.Background(), "/user/user_1/", nil, &out)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMe(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/me/" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"id": "user_1", "organizations": [{"id": "orga_1"}]}`)
	})
	c, _ := newTestClient(t, h, Config{})
	raw, err := c.Me(context.Background())
	if err != nil || string(raw) != `{"id": "user_1", "organizations": [{"id": "orga_1"}]}` {
		t.Fatalf("Me = %s, %v", raw, err)
	}
}

// secrets are the forms of the key that must never be printed.
func secrets() []string {
	return []string{testKey, base64.StdEncoding.EncodeToString([]byte(testKey + ":"))}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secrets() {
		if strings.Contains(s, sec) {
			t.Errorf("%s leaks the API key: %q", what, s)
		}
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)

	t.Run("401 names the account, not the key", func(t *testing.T) {
		body := `{"error": "The server could not verify that you are authorized to access the URL requested.  You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required."}`
		c, _ := newTestClient(t, &sequence{replies: []reply{{401, nil, body}}}, Config{Logger: log})
		_, err := c.Me(context.Background())
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if want := "API key rejected by Close for account main (401 Unauthorized)"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		assertNoSecret(t, "401 error", fmt.Sprintf("%v %+v %#v", err, err, err))
	})

	t.Run("echoed key is redacted", func(t *testing.T) {
		echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error": "bad header %s for key %s"}`, r.Header.Get("Authorization"), testKey)
		})
		c, _ := newTestClient(t, echo, Config{Logger: log})
		err := c.Get(context.Background(), "/lead/", nil, nil)
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v", err)
		}
		assertNoSecret(t, "echoed 400", err.Error()+ae.Body+ae.Message)
	})

	t.Run("network failure", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := New(Config{Account: "main", BaseURL: srv.URL, APIKey: testKey, MaxAttempts: 2, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		c.rt.clock = newFakeClock()
		err = c.Get(context.Background(), "/lead/", url2Values("query", "x"), nil)
		if err == nil {
			t.Fatal("no error from a closed server")
		}
		assertNoSecret(t, "network error", fmt.Sprintf("%v %+v", err, err))
	})

	t.Run("retries under 429", func(t *testing.T) {
		c, _ := newTestClient(t, &sequence{replies: []reply{{429, map[string]string{"Retry-After": "1"}, ""}, {200, nil, "{}"}}}, Config{Logger: log})
		if err := c.Get(context.Background(), "/lead/", nil, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("String and fmt", func(t *testing.T) {
		cfg := Config{Account: "main", APIKey: testKey, BaseURL: "https://api.close.com/api/v1"}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%v|%+v|%#v|%s|%v|%+v", cfg, cfg, cfg, &cfg, c, c)
		assertNoSecret(t, "fmt of Config/Client", s)
		if !strings.Contains(s, "[redacted]") || !strings.Contains(s, `"main"`) {
			t.Errorf("String = %s", s)
		}
	})

	if logs.Len() == 0 {
		t.Fatal("no debug logs recorded")
	}
	for _, e := range logs.All() {
		assertNoSecret(t, "log entry", fmt.Sprintf("%s %v", e.Message, e.ContextMap()))
	}
}

func TestAPIErrorFields(t *testing.T) {
	big := strings.Repeat("x", 5000)
	seq := &sequence{replies: []reply{{429, map[string]string{"RateLimit": "limit=10, remaining=0, reset=3"}, `{"error": {"message": "API call count exceeded for this period", "rate_reset": 3, "pad": "` + big + `"}}`}}}
	c, _ := newTestClient(t, seq, Config{MaxAttempts: 1})
	err := c.Get(context.Background(), "lead", nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	if ae.Account != "main" || ae.Method != "GET" || ae.Path != "/lead/" || ae.Status != 429 || ae.Attempts != 1 ||
		ae.Message != "API call count exceeded for this period" || ae.RetryAfter != 3*time.Second {
		t.Errorf("APIError = %+v", ae)
	}
	if len(ae.Body) > maxErrorBody+len("…") {
		t.Errorf("body not truncated: %d", len(ae.Body))
	}
	if !errors.Is(err, ErrRateLimited) || !Temporary(err) {
		t.Errorf("429 not classified: %v", err)
	}
	if want := "GET /lead/: 429 Too Many Requests: API call count exceeded for this period"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
