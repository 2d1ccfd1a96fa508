package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// TestWatchSeesEachRunAsItGoes: Watch.Started's closeapi.Watch reaches
// the run's requests; Read sees each page;
// and Ended has a report's result as soon as it ends, while another
// report of the job still runs, once per run.
func TestWatchSeesEachRunAsItGoes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data": [{"id": "user_1"}, {"id": "user_2"}], "has_more": false, "total_results": 2}`)
	}))
	t.Cleanup(srv.Close)
	client, err := closeapi.New(closeapi.Config{BaseURL: srv.URL + "/api/v1", APIKey: "api_x", Account: "a"})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	ext := func(string) (ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			if req.Report.Name == "users" {
				return client.ListOffset(ctx, "/user/", nil, 100, func(p closeapi.Page) error {
					b := extract.Batch{Page: p.Number}
					for _, raw := range p.Data {
						b.Records = append(b.Records, schema.Record{Raw: raw})
					}
					return emit(b)
				})
			}
			if err := pages(3, 5, "2026-01-02T00:00:00Z")(ctx, req, emit); err != nil {
				return err
			}
			select { // leads end only once users' result is in
			case <-release:
				return nil
			case <-time.After(10 * time.Second):
				return fmt.Errorf("users' result never came while leads ran")
			}
		}, nil
	}
	var mu sync.Mutex
	var seen []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf(format, args...))
	}
	var ended []Result
	r := &Runner{Store: newMemStore(), Log: zap.NewNop(), Extract: ext, Watch: Watch{
		Started: func(job, report string) *closeapi.Watch {
			note("started %s/%s", job, report)
			return &closeapi.Watch{Page: func(path string, p closeapi.Page) { note("%s: page %s of %d", report, path, *p.TotalResults) }}
		},
		Read: func(_, report string, records, page int) { note("%s: read page %d, %d records", report, page, records) },
		Ended: func(res Result) {
			mu.Lock()
			ended = append(ended, res)
			mu.Unlock()
			if res.Report == "users" {
				close(release)
			}
		},
	}}
	job := Job{Name: "j", Account: "a", Params: map[string]string{"organization_id": "orga_1"}, Concurrency: 2,
		Reports: []ReportRun{{Report: report("leads"), Mode: schema.Upsert}, {Report: report("users"), Mode: schema.Upsert}}}
	results := r.RunJob(context.Background(), job, runlog.Manual)
	for _, res := range results {
		if res.Status != runlog.Success {
			t.Fatalf("%s: %s %v", res.Report, res.Status, res.Err)
		}
	}
	if len(ended) != 2 || ended[0].Report != "users" || ended[1].Report != "leads" || ended[0].ID != results[1].ID || ended[1].ID != results[0].ID {
		t.Fatalf("Ended saw %+v; RunJob returned %+v", ended, results)
	}
	want := []string{"started j/leads", "leads: read page 1, 5 records", "leads: read page 2, 5 records", "leads: read page 3, 5 records",
		"started j/users", "users: page /user/ of 2", "users: read page 1, 2 records"}
	// The two runs interleave: compare each report's own events in order.
	for _, rep := range []string{"leads", "users"} {
		if got, w := of(seen, rep), of(want, rep); !slices.Equal(got, w) {
			t.Errorf("%s: the watch saw %q, want %q", rep, got, w)
		}
	}
}

// of is the events of events that name report.
func of(events []string, report string) []string {
	var out []string
	for _, e := range events {
		if e == "started j/"+report || len(e) > len(report) && e[:len(report)+1] == report+":" {
			out = append(out, e)
		}
	}
	return out
}
