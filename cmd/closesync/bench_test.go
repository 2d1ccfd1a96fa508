package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schedule"
)

// BenchmarkSyncLeads measures the whole path for leads: HTTP pages from the
// fake on loopback (no rate limit), decoding, staging, typing, dedupe and
// upsert of leads and their four child tables into a DuckDB file.
//
//	go test -run '^$' -bench SyncLeads -benchtime 1x ./cmd/closesync/
//
// It reports leads/s and the peak Go heap during the sync.
func BenchmarkSyncLeads(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) {
			fake := closefake.New(closefake.Options{Seed: 1, Scale: n})
			srv := httptest.NewServer(fake)
			defer srv.Close()
			client, err := closeapi.New(closeapi.Config{Account: "bench", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey, MaxConcurrency: 4})
			if err != nil {
				b.Fatal(err)
			}
			rep, _ := extract.Lookup("leads")
			ctx := context.Background()
			var total time.Duration
			var peak uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, err := load.Open(ctx, load.Options{Path: filepath.Join(b.TempDir(), "bench.duckdb"), Migrations: closesync.SQL})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				stop := samplePeakHeap(&peak)
				b.StartTimer()
				start := time.Now()
				r := &schedule.Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (schedule.ExtractFunc, error) {
					return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
						return extract.Extract(ctx, client, req, emit)
					}, nil
				}}
				res := r.RunReport(ctx, schedule.Job{Name: "bench", Account: "bench"}, schedule.ReportRun{Report: rep, Mode: load.Upsert}, "manual")
				total += time.Since(start)
				b.StopTimer()
				stop()
				if res.Err != nil || res.Rows != int64(n) {
					b.Fatalf("rows %d, err %v", res.Rows, res.Err)
				}
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "leads/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// samplePeakHeap records the largest live Go heap seen until stop is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
