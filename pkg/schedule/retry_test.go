package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// ensureFails is a memStore whose tables cannot be set up (a table made
// for another mode).
type ensureFails struct{ *memStore }

func (ensureFails) EnsureTable(context.Context, schema.Table, schema.WriteMode, string) error {
	return errors.New("table close.users was created for mode append (no primary key) and cannot take mode upsert")
}

// TestJobRetryOnlyRetriesWhatARetryCanFix: with retry attempts 2, a
// report failing with an error a retry can fix runs 3 times; one that
// Close refused for good (key, plan, permission, bad request) or that its
// configuration breaks runs once.
func TestJobRetryOnlyRetriesWhatARetryCanFix(t *testing.T) {
	api := func(status int, msg string) error {
		return fmt.Errorf("GET /user/: %w", &closeapi.APIError{Account: "a", Method: "GET", Path: "/user/", Status: status, Message: msg})
	}
	tests := []struct {
		name      string
		err       error // what the extraction returns
		noAccount bool  // the account cannot be resolved
		noTable   bool  // the table cannot be set up
		wantTries int
	}{
		{name: "401 key rejected", err: api(401, "Unauthorized"), wantTries: 1},
		{name: "402 plan limit", err: api(402, "Payment required"), wantTries: 1},
		{name: "403 forbidden", err: api(403, "Forbidden"), wantTries: 1},
		{name: "404 not found", err: api(404, "Not found"), wantTries: 1},
		{name: "400 bad request", err: api(400, "_order_by: invalid field"), wantTries: 1},
		{name: "config: no account", noAccount: true, wantTries: 1},
		{name: "config: table for another mode", noTable: true, wantTries: 1},
		{name: "400 max_skip", err: &closeapi.MaxSkipError{Skip: 300000, Max: 250000, Err: &closeapi.APIError{Status: 400,
			Message: "The skip you set is larger than the maximum skip for this resource (max_skip = 250000)."}}, wantTries: 3},
		{name: "429 rate limited", err: api(429, "slow down"), wantTries: 3},
		{name: "503 unavailable", err: api(503, "Service Unavailable"), wantTries: 3},
		{name: "connection refused", err: fmt.Errorf("GET /user/: dial tcp 127.0.0.1:1: %w", syscall.ECONNREFUSED), wantTries: 3},
		{name: "database error", err: errors.New("commit: IO Error"), wantTries: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pool := NewPool(func(ctx context.Context) (Store, func() error, error) {
					if tt.noTable {
						return ensureFails{newMemStore()}, func() error { return nil }, nil
					}
					return newMemStore(), func() error { return nil }, nil
				}, zap.NewNop())
				var tries atomic.Int32
				pool.OnResult = func(r pipeline.Result) {
					tries.Add(1)
					if r.Status != runlog.Failed {
						t.Errorf("run %+v did not fail", r)
					}
				}
				extractFn := func(string) (pipeline.ExtractFunc, error) {
					if tt.noAccount {
						return nil, errors.New(`no account named "a"`)
					}
					return func(context.Context, extract.Request, func(extract.Batch) error) error { return tt.err }, nil
				}
				job := ScheduledJob{Job: pipeline.Job{Name: "j", Account: "a", Reports: []pipeline.ReportRun{{Report: report("users"), Mode: schema.Upsert}}},
					Retry: Retry{Attempts: 2, Delay: time.Millisecond}}
				if err := pool.RunNow(job, extractFn, runlog.Schedule); err != nil {
					t.Fatal(err)
				}
				waitIdle(t, pool, "j")
				if int(tries.Load()) != tt.wantTries {
					t.Errorf("tried %d times, want %d", tries.Load(), tt.wantTries)
				}
			})
		})
	}
}
