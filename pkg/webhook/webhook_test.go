package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"event":{"object_type":"lead"}}`)
	good, err := Sign(key, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, key, ts, hash string
		body                []byte
		at                  time.Time
		want                string // "" or a part of the error
	}{
		{"good", key, ts, good, body, now, ""},
		{"upper-case hex", key, ts, strings.ToUpper(good), body, now, ""},
		{"four minutes late", key, ts, good, body, now.Add(4 * time.Minute), ""},
		{"body changed", key, ts, good, []byte(`{"event":{"object_type":"contact"}}`), now, "does not match"},
		{"timestamp changed", key, strconv.FormatInt(now.Unix()+1, 10), good, body, now, "does not match"},
		{"another key", strings.Repeat("ab", 32), ts, good, body, now, "does not match"},
		{"stale", key, ts, good, body, now.Add(6 * time.Minute), "from now"},
		{"from the future", key, ts, good, body, now.Add(-6 * time.Minute), "from now"},
		{"no headers", key, "", "", body, now, "no close-sig-hash"},
		{"timestamp not a number", key, "yesterday", good, body, now, "not unix seconds"},
		{"hash not hex", key, ts, "zz", body, now, "not hex"},
		{"key not hex", "not hex", ts, good, body, now, "not hex"},
	} {
		err := Verify(tt.key, tt.ts, tt.hash, tt.body, tt.at)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: Verify = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestReceiverDebounces: deliveries for a job within the debounce start
// one run after the last; a busy job is tried again; a refused delivery
// starts nothing; an unknown account or path is 404.
func TestReceiverDebounces(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var started []string
	busy := 1
	done := make(chan struct{}, 10)
	rc := &Receiver{Path: "/hooks", Debounce: 50 * time.Millisecond, Log: zap.NewNop()}
	rc.Set(map[string]Target{"main": {Key: key, Jobs: map[string][]string{"lead": {"core"}, "contact": {"core", "people"}}}},
		func(job string) error {
			mu.Lock()
			defer mu.Unlock()
			if job == "core" && busy > 0 {
				busy--
				return ErrBusy
			}
			started = append(started, job)
			done <- struct{}{}
			return nil
		})
	post := func(path, objectType string, sign bool) int {
		body := []byte(`{"subscription_id":"whsub_1","event":{"id":"ev_1","object_type":"` + objectType + `","action":"updated"}}`)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig, _ := Sign(key, ts, body)
		if !sign {
			sig = strings.Repeat("0", 64)
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderHash, sig)
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		return w.Code
	}
	if code := post("/hooks/main", "lead", false); code != http.StatusUnauthorized {
		t.Errorf("a forged delivery: %d, want 401", code)
	}
	if code := post("/hooks/other", "lead", true); code != http.StatusNotFound {
		t.Errorf("an unknown account: %d, want 404", code)
	}
	if code := post("/elsewhere/main", "lead", true); code != http.StatusNotFound {
		t.Errorf("another path: %d, want 404", code)
	}
	for range 3 {
		if code := post("/hooks/main", "lead", true); code != http.StatusOK {
			t.Fatalf("a delivery: %d", code)
		}
	}
	if code := post("/hooks/main", "contact", true); code != http.StatusOK {
		t.Fatalf("a delivery: %d", code)
	}
	for range 2 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the runs did not start")
		}
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(started, ",") != "people,core" && strings.Join(started, ",") != "core,people" {
		t.Errorf("started %v, want core once (after one busy try) and people once", started)
	}
	rc.Stop()
}
