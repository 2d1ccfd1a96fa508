package main

import (
	"io"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/load"
)

// TestBarLineSaysWhatTheRunDoes: a running report's line gives records,
// rate and pages, a total and ETA once Close counted the listing, and
// what it waits for while it waits; the lock line names the holder.
func TestBarLineSaysWhatTheRunDoes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	total := func(n int64) *int64 { return &n }
	for _, tt := range []struct {
		name string
		do   func(l *runLine, w *closeapi.Watch)
		at   time.Duration // after the start
		want string
	}{
		{"nothing read yet", func(*runLine, *closeapi.Watch) {}, time.Second, "0 records · 0/s · 0 pages"},
		{"no count", func(l *runLine, _ *closeapi.Watch) { l.read(100, 1); l.read(100, 2) }, 2 * time.Second,
			"200 records · 100/s · 2 pages"},
		{"a count: total and ETA", func(l *runLine, w *closeapi.Watch) {
			w.Page("/lead/", closeapi.Page{TotalResults: total(3000)})
			l.read(1000, 1)
		}, 4 * time.Second, "1,000/3,000 records · 250/s · 1 page · ETA 8.0s"},
		{"a restarted listing's count is not added", func(l *runLine, w *closeapi.Watch) {
			w.Page("/lead/", closeapi.Page{TotalResults: total(3000)})
			l.read(1000, 1)
			w.Page("/lead/", closeapi.Page{TotalResults: total(2000)})
		}, 4 * time.Second, "1,000/3,000 records · 250/s · 1 page · ETA 8.0s"},
		{"more read than counted", func(l *runLine, w *closeapi.Watch) {
			w.Page("/opportunity/", closeapi.Page{TotalResults: total(10)})
			l.read(12, 1)
		}, time.Second, "12/12 records · 12/s · 1 page"},
		{"rate limit", func(l *runLine, w *closeapi.Watch) { w.RateLimited("GET lead", 3*time.Second) }, 0,
			"0 records · 0/s · 0 pages · waiting 3.0s (rate limit)"},
		{"a short wait is not shown", func(l *runLine, w *closeapi.Watch) { w.RateLimited("GET lead", 50*time.Millisecond) }, 0,
			"0 records · 0/s · 0 pages"},
		{"rate limit over", func(l *runLine, w *closeapi.Watch) { w.RateLimited("GET lead", 3*time.Second) }, 4 * time.Second,
			"0 records · 0/s · 0 pages"},
		{"retry after a 503", func(l *runLine, w *closeapi.Watch) { w.Retrying(1, 2*time.Second, 503) }, time.Second,
			"0 records · 0/s · 0 pages · retry 2 in 1.0s after 503"},
		{"retry sent", func(l *runLine, w *closeapi.Watch) { w.Retrying(2, time.Second, 0) }, 2 * time.Second,
			"0 records · 0/s · 0 pages · retry 3"},
		{"retry through", func(l *runLine, w *closeapi.Watch) { w.Retrying(2, time.Second, 0); l.read(5, 1) }, 2 * time.Second,
			"5 records · 3/s · 1 page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			p := mpb.New(mpb.WithOutput(io.Discard))
			defer p.Shutdown()
			l := &runLine{bar: p.AddBar(0), now: func() time.Time { return now }, start: t0, totals: map[string]int64{}}
			tt.do(l, &closeapi.Watch{RateLimited: l.rateLimited, Retrying: l.retrying, Page: l.page})
			now = t0.Add(tt.at)
			if got := l.text(); got != tt.want {
				t.Errorf("line %q, want %q", got, tt.want)
			}
		})
	}
	now := t0
	l := &lockLine{now: func() time.Time { return now }}
	l.set(load.LockWait{Holder: "PID 4242", Attempt: 3, Wait: 400 * time.Millisecond, Waited: 700 * time.Millisecond, Timeout: 2 * time.Minute})
	now = now.Add(300 * time.Millisecond)
	if got, want := l.text(), "waiting for the file lock held by PID 4242: 1.0s of lock_timeout 2m00s (attempt 3)"; got != want {
		t.Errorf("lock line %q, want %q", got, want)
	}
}
