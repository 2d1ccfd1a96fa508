package main

import (
	"context"
	"database/sql"
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
	"github.com/closesync/closesync/internal/replay"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// BenchmarkSyncLeads measures closesync's whole path for leads: HTTP pages on
// loopback (no rate limit), decoding, staging with the appender, typing,
// dedupe and upsert of leads and their four child tables into a DuckDB file.
//
//	go test -run '^$' -bench SyncLeads -benchtime 1x ./cmd/closesync/
//
// An untimed first sync records the fake's responses; the timed sync gets
// them replayed byte for byte, so the figure is closesync's cost, not the
// fake's JSON encoding (which would otherwise share the two cores). It
// reports leads/s and the live Go heap (as of each GC) closesync added at
// its peak (the fake's
// data is excluded by measuring from the heap after a GC before the sync);
// DuckDB's own memory is C memory, bounded by its memory_limit setting.
func BenchmarkSyncLeads(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) {
			srv := httptest.NewServer(replay.New(closefake.New(closefake.Options{Seed: 1, Scale: n})))
			defer srv.Close()
			client, err := closeapi.New(closeapi.Config{Account: "bench", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey, MaxConcurrency: 4})
			if err != nil {
				b.Fatal(err)
			}
			rep, _ := extract.Lookup("leads")
			ctx := context.Background()
			syncOnce := func(dir string) (pipeline.Result, time.Duration, uint64) {
				st, err := load.Open(ctx, load.Options{Path: filepath.Join(dir, "bench.duckdb"), Migrations: closesync.SQL})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				runtime.GC()
				base := heapBytes()
				var peak uint64
				stop := samplePeakHeap(&peak)
				start := time.Now()
				r := &pipeline.Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (pipeline.ExtractFunc, error) {
					return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
						return extract.Extract(ctx, client, req, emit)
					}, nil
				}}
				res := r.RunReport(ctx, pipeline.Job{Name: "bench", Account: "bench"}, pipeline.ReportRun{Report: rep, Mode: schema.Upsert}, runlog.Manual)
				d := time.Since(start)
				stop()
				// A keyset restart re-reads the leads that share its
				// boundary date_created, so rows written may exceed n;
				// the table must still hold each lead exactly once.
				if res.Err != nil || res.RowsUpserted < int64(n) {
					b.Fatalf("rows %d, err %v", res.RowsUpserted, res.Err)
				}
				var got int64
				if err := st.Query(ctx, func(rows *sql.Rows) error {
					rows.Next()
					return rows.Scan(&got)
				}, "SELECT count(*) FROM close.leads"); err != nil || got != int64(n) {
					b.Fatalf("close.leads holds %d leads, want %d (err %v)", got, n, err)
				}
				return res, d, peak - min(peak, base)
			}
			syncOnce(b.TempDir()) // records the pages
			var total time.Duration
			var added uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, d, a := syncOnce(b.TempDir())
				total += d
				added = max(added, a)
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "leads/s")
			b.ReportMetric(float64(added)/(1<<20), "live-heap-added-MiB")
		})
	}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeakHeap records the largest live Go heap seen until stop is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v := heapBytes(); v > *peak {
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
