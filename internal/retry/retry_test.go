package retry

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    string
		limit time.Duration
		want  time.Duration
		ok    bool
	}{
		{"empty", "", time.Minute, 0, false},
		{"blank", "  ", time.Minute, 0, false},
		{"seconds", "7", time.Minute, 7 * time.Second, true},
		{"zero, spaced", " 0 ", time.Minute, 0, true},
		{"fractional", "1.5", time.Minute, 1500 * time.Millisecond, true},
		{"quoted", `"2"`, time.Minute, 2 * time.Second, true},
		{"capped", "3600", time.Minute, time.Minute, true},
		{"past any duration", "99999999999999999999", time.Minute, 0, false},
		{"negative", "-1", time.Minute, 0, false},
		{"NaN", "NaN", time.Minute, 0, false},
		{"date", now.Add(30 * time.Second).Format(http.TimeFormat), time.Minute, 30 * time.Second, true},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), time.Minute, 0, true},
		{"date past the cap", now.Add(time.Hour).Format(http.TimeFormat), time.Minute, time.Minute, true},
		{"garbage", "soon", time.Minute, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now, tt.limit)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		f    float64
		want time.Duration
	}{
		{0, 0},
		{-3, 0},
		{math.NaN(), 0},
		{0.870663, 870663 * time.Microsecond},
		{14.510896, 14510896 * time.Microsecond},
		{86400, 24 * time.Hour},
		{1e30, 24 * time.Hour},
		{math.Inf(1), 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := Seconds(tt.f, 24*time.Hour); got != tt.want {
			t.Errorf("Seconds(%v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestBackoffCeiling(t *testing.T) {
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{"first", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 1, 100 * time.Millisecond},
		{"doubles", Backoff{Base: 100 * time.Millisecond, Max: time.Second}, 3, 400 * time.Millisecond},
		{"capped", Backoff{Base: 100 * time.Millisecond, Max: 300 * time.Millisecond}, 3, 300 * time.Millisecond},
		{"huge attempt", Backoff{Base: 500 * time.Millisecond, Max: 30 * time.Second}, 200, 30 * time.Second},
		{"no overflow near the top", Backoff{Base: math.MaxInt64/2 + 1, Max: math.MaxInt64}, 5, math.MaxInt64},
		{"base above max", Backoff{Base: time.Hour, Max: time.Minute}, 1, time.Minute},
		{"no base", Backoff{Max: time.Minute}, 1, time.Minute},
		{"attempt zero", Backoff{Base: time.Second, Max: time.Minute}, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Ceiling(tt.attempt); got != tt.want {
				t.Errorf("Ceiling(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestBackoffJitter(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Minute}
	tests := []struct {
		name string
		rnd  func(int64) int64
		full bool
		want time.Duration
	}{
		{"full, lowest", lowest, true, 0},
		{"full, highest", highest, true, 400 * time.Millisecond},
		{"equal, lowest", lowest, false, 200 * time.Millisecond},
		{"equal, highest", highest, false, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := b
			b.Rand = tt.rnd
			got := b.Equal(3)
			if tt.full {
				got = b.Full(3)
			}
			if got != tt.want {
				t.Errorf("wait = %v, want %v", got, tt.want)
			}
		})
	}
	// The default source stays within the bounds.
	for attempt := 1; attempt < 40; attempt++ {
		c := b.Ceiling(attempt)
		if d := b.Full(attempt); d < 0 || d > c {
			t.Fatalf("Full(%d) = %v, want in [0, %v]", attempt, d, c)
		}
		if d := b.Equal(attempt); d < c/2 || d > c {
			t.Fatalf("Equal(%d) = %v, want in [%v, %v]", attempt, d, c/2, c)
		}
	}
	if d := (Backoff{}).Full(1); d != 0 {
		t.Errorf("zero backoff waits %v", d)
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), 5*time.Second); err != nil {
			t.Fatalf("Sleep: %v", err)
		}
		if el := time.Since(start); el != 5*time.Second {
			t.Errorf("slept %v, want 5s", el)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Sleep(ctx, time.Hour) }()
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Sleep = %v, want context.Canceled", err)
		}
		if el := time.Since(start); el != 6*time.Second {
			t.Errorf("cancelled sleep ended after %v in all, want 6s", el)
		}

		if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(done ctx, 0) = %v, want context.Canceled", err)
		}
		if err := Sleep(context.Background(), -time.Second); err != nil {
			t.Errorf("Sleep(-1s) = %v, want nil", err)
		}
		var c Clock = RealClock{}
		at := c.Now()
		if err := c.Sleep(context.Background(), time.Minute); err != nil || c.Now().Sub(at) != time.Minute {
			t.Errorf("RealClock.Sleep: %v after %v", err, c.Now().Sub(at))
		}
	})
}
