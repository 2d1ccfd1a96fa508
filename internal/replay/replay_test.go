package replay

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestReplay: a request seen before is answered from the recording (the
// handler is not called again), with its status, headers and body; after
// Drop a new request is refused.
func TestReplay(t *testing.T) {
	var calls atomic.Int32
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Page", r.URL.Query().Get("p"))
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "page "+r.URL.Query().Get("p"))
	}))
	get := func(url string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		return rec
	}
	for range 2 {
		rec := get("/x?p=1")
		if rec.Code != http.StatusTeapot || rec.Header().Get("X-Page") != "1" || rec.Body.String() != "page 1" {
			t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("X-Page"), rec.Body.String())
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	h.Drop()
	if rec := get("/x?p=1"); rec.Body.String() != "page 1" {
		t.Errorf("after Drop, a recorded page: %q", rec.Body.String())
	}
	if rec := get("/x?p=2"); rec.Code != http.StatusInternalServerError {
		t.Errorf("after Drop, a new page: %d, want 500", rec.Code)
	}
}
