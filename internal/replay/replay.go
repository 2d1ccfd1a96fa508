// Package replay records an http.Handler's responses and answers each
// request it has seen before with the recorded response, byte for byte.
// The benchmarks put it in front of the fake Close: an untimed first sync
// records the pages, and the timed one measures closesync's own cost, not
// the fake's JSON encoding.
package replay

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
)

// Handler records what Next answers, keyed by method and URL, and replays
// it. After Drop it answers only what it recorded.
type Handler struct {
	mu   sync.Mutex
	next http.Handler
	seen map[string]*httptest.ResponseRecorder
}

// New records next's responses.
func New(next http.Handler) *Handler { return &Handler{next: next} }

// ServeHTTP replays the recorded response to r, recording it first when
// it is new; a new request after Drop is a 500.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.String()
	h.mu.Lock()
	rec, ok := h.seen[key]
	next := h.next
	h.mu.Unlock()
	if !ok {
		if next == nil {
			http.Error(w, "not recorded: "+key, http.StatusInternalServerError)
			return
		}
		rec = httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		h.mu.Lock()
		if h.seen == nil {
			h.seen = map[string]*httptest.ResponseRecorder{}
		}
		h.seen[key] = rec
		h.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes()) // the client went away: nothing to do
}

// Drop lets the recorded handler go, so its heap is garbage once the
// pages are recorded.
func (h *Handler) Drop() {
	h.mu.Lock()
	h.next = nil
	h.mu.Unlock()
	runtime.GC()
}
