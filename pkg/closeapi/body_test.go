package closeapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNotAPageIsAnError: a 200 whose body is not a page of the endpoint's
// paging style fails naming the endpoint and quoting the body (short, the
// key removed); none is read as an empty last page.
func TestNotAPageIsAnError(t *testing.T) {
	styles := []struct {
		name, path string
		call       func(c *Client) error
	}{
		{"offset", "/user/", func(c *Client) error {
			return c.ListOffset(context.Background(), "/user/", nil, 100, func(Page) error { return nil })
		}},
		{"cursor", "/event/", func(c *Client) error {
			return c.ListCursor(context.Background(), "/event/", nil, 50, func(Page) error { return nil })
		}},
		{"search", "/data/search/", func(c *Client) error {
			return c.Search(context.Background(), map[string]any{"query": map[string]any{}}, func(Page) error { return nil })
		}},
		{"single", "/status/lead/", func(c *Client) error {
			var p SinglePage
			return c.Get(context.Background(), "/status/lead/", nil, &p)
		}},
		{"object", "/me/", func(c *Client) error {
			var o Object
			return c.Get(context.Background(), "/me/", nil, &o)
		}},
	}
	bodies := []struct {
		name, body string
		okFor      string // the style this body is a valid answer of
	}{
		{"error object", `{"error": "Service temporarily unavailable"}`, ""},
		{"empty", ``, ""},
		{"blank", "  \n", ""},
		{"null", `null`, ""},
		{"html", `<html><head><title>Maintenance</title></head><body>Back soon</body></html>`, ""},
		{"object without data", `{"status": "ok", "items": [{"id": "user_1"}]}`, ""},
		{"data an object", `{"data": {"id": "user_1"}, "has_more": false, "cursor": null, "cursor_next": null}`, ""},
		{"data null", `{"data": null, "has_more": false, "cursor": null, "cursor_next": null}`, ""},
		{"data a string", `{"data": "none", "has_more": false, "cursor": null, "cursor_next": null}`, ""},
		{"data of numbers", `{"data": [1, 2], "has_more": false, "cursor": null, "cursor_next": null}`, ""},
		{"top-level array", `[{"id": "user_1"}]`, ""},
		{"truncated", `{"data": [{"id": "user_1", "name": "A`, ""},
		{"trailing garbage", `{"data": [], "has_more": false, "cursor": null, "cursor_next": null} <html>`, ""},
		{"key echoed", `{"error": "invalid key ` + testKey + `"}`, ""},
		{"data without paging field", `{"data": []}`, "single"},
		{"has_more null", `{"data": [], "has_more": null}`, "single"},
		{"has_more a string", `{"data": [], "has_more": "no"}`, ""},
	}
	for _, st := range styles {
		for _, b := range bodies {
			t.Run(st.name+"/"+b.name, func(t *testing.T) {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, b.body)
				})
				c, _ := newTestClient(t, h, Config{MaxAttempts: 1})
				err := st.call(c)
				if b.okFor == st.name {
					if err != nil {
						t.Fatalf("a valid %s answer failed: %v", st.name, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("%s answered %q: no error", st.path, b.body)
				}
				msg := err.Error()
				if !errors.Is(err, ErrNotAPage) && !strings.Contains(msg, "not the JSON expected") {
					t.Errorf("error does not say the response is not a page: %v", err)
				}
				if !strings.Contains(msg, st.path) {
					t.Errorf("error does not name %s: %v", st.path, err)
				}
				if strings.Contains(msg, testKey) || strings.Contains(msg, testKey[:12]) {
					t.Errorf("error shows the key: %v", err)
				}
				if len(msg) > 600 {
					t.Errorf("error quotes too much (%d bytes): %v", len(msg), err)
				}
			})
		}
	}
}

// TestNoContentIsNotAPageError: a 204 stays an empty answer.
func TestNoContentIsNotAPageError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c, _ := newTestClient(t, h, Config{MaxAttempts: 1})
	var out map[string]any
	if err := c.Get(context.Background(), "/pipeline/pipe_1/", nil, &out); err != nil {
		t.Fatal(err)
	}
}

// hugePage streams a page of 1 KiB objects, size bytes in all, reusing one
// buffer so the server side allocates next to nothing.
type hugePage struct {
	size    int64
	written atomic.Int64
	length  bool // send Content-Length
}

func (h *hugePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	item := `{"id": "lead_0000", "pad": "` + strings.Repeat("x", 1000) + `"},`
	chunk := []byte(strings.Repeat(item, 32))
	if h.length {
		w.Header().Set("Content-Length", "104857600")
	}
	w.Write([]byte(`{"has_more": false, "data": [`))
	for n := int64(0); n < h.size; n += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		h.written.Add(int64(len(chunk)))
	}
}

// TestHugeResponseRefusedAtTheCapWhileStreaming: a 100 MB answer fails at
// the 64 MiB cap, naming the endpoint and the cap, without the process
// allocating much more than the cap to find out (TotalAlloc is every byte
// allocated during the call, so it bounds the peak heap too).
func TestHugeResponseRefusedAtTheCapWhileStreaming(t *testing.T) {
	for _, tt := range []struct {
		name   string
		length bool
		call   func(c *Client) error
	}{
		{"offset page", false, func(c *Client) error {
			return c.ListOffset(context.Background(), "/lead/", nil, 100, func(Page) error { return nil })
		}},
		{"search page", false, func(c *Client) error {
			return c.Search(context.Background(), map[string]any{}, func(Page) error { return nil })
		}},
		{"any JSON", false, func(c *Client) error {
			var out map[string]any
			return c.Get(context.Background(), "/lead/", nil, &out)
		}},
		{"Content-Length past the cap", true, func(c *Client) error {
			return c.ListOffset(context.Background(), "/lead/", nil, 100, func(Page) error { return nil })
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := &hugePage{size: 100 << 20, length: tt.length}
			c, _ := newTestClient(t, srv, Config{MaxAttempts: 3, Timeout: time.Minute})
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			peak := samplePeak(func() {
				err := tt.call(c)
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				for _, want := range []string{"/lead/", "64 MiB cap"} {
					if tt.name == "search page" && want == "/lead/" {
						want = "/data/search/"
					}
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
			})
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: allocated %d MiB during the call, peak heap %d MiB (cap %d MiB), server wrote %d MiB",
				tt.name, alloc>>20, peak>>20, maxBodyBytes>>20, srv.written.Load()>>20)
			if alloc > 2*maxBodyBytes {
				t.Errorf("allocated %d MiB to refuse a response at the %d MiB cap", alloc>>20, maxBodyBytes>>20)
			}
			if srv.written.Load() > 100<<20-(8<<20) {
				t.Errorf("the client read %d MiB of 100: it did not stop at the cap", srv.written.Load()>>20)
			}
		})
	}
}

// samplePeak runs fn and returns the largest HeapAlloc seen meanwhile.
func samplePeak(fn func()) uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}
