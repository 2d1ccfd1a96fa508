package pipeline

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnreachableAPIFailsTheAccountsOtherReportsAtOnce: against a closed
// port the first report spends its retries (8 attempts), and every other
// report of the account fails at once with the same cause, each with a
// run row that says why; a new Runner (the next run) tries again.
func TestUnreachableAPIFailsTheAccountsOtherReportsAtOnce(t *testing.T) {
	addr := closedPort(t)
	c, err := closeapi.New(closeapi.Config{Account: "a", BaseURL: "http://" + addr + "/api/v1", APIKey: "api_test_key_123",
		BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			return extract.Extract(ctx, c, req, emit)
		}, nil
	}
	names := []string{"leads", "users", "lead_statuses", "opportunity_statuses", "custom_fields"} // leads starts first
	job := Job{Name: "j", Account: "a", Params: map[string]string{}}
	for _, n := range names {
		job.Reports = append(job.Reports, ReportRun{Report: report(n), Mode: schema.Upsert})
	}
	for run := 1; run <= 2; run++ {
		st := newMemStore()
		r := &Runner{Store: st, Log: zap.NewNop(), Extract: ext}
		res := r.RunJob(context.Background(), job, runlog.Manual)
		if len(res) != len(names) {
			t.Fatalf("%d results", len(res))
		}
		if res[0].Requests != closeapi.DefaultMaxAttempts || !closeapi.Unreachable(res[0].Err) {
			t.Errorf("run %d: first report: %d requests, err %v; want %d attempts, unreachable", run, res[0].Requests, res[0].Err,
				closeapi.DefaultMaxAttempts)
		}
		for _, rs := range res[1:] {
			var skip *SkippedError
			msg := st.errs[rs.ID]
			if rs.Status != runlog.Failed || rs.Requests != 0 || !errors.As(rs.Err, &skip) || rs.ID == 0 ||
				!strings.HasPrefix(msg, "skipped: the Close API of account a was unreachable in report leads: ") ||
				!strings.Contains(msg, "connection refused") {
				t.Errorf("run %d: %s: status %s, %d requests, err %v, run row %q", run, rs.Report, rs.Status, rs.Requests, rs.Err, msg)
			}
			if !Temporary(rs.Err) {
				t.Errorf("%s: an unreachable API is worth a job-level retry", rs.Report)
			}
		}
	}
}
