package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/internal/daemon"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// paceReports are the reports of the rate-limited first sync: the spine
// of an organisation (TestEveryReportEqualsTruth's first group).
var paceReports = []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
	"activities", "activities_call", "activities_custom_activity", "custom_activity_types", "custom_objects",
	"custom_object_types", "custom_fields", "event_log"}

// groupCounter counts the requests the fake answered per endpoint group
// (method and first path segment, as the fake limits them), and its 429s.
type groupCounter struct {
	next http.Handler
	mu   sync.Mutex
	ok   map[string]int
	n429 int
	all  int
	// busy is the time spent serving requests, summed; last is when the
	// busiest group's last answer went.
	busy time.Duration
	last map[string]time.Time
	// trace is every answer, in the order they went.
	trace []answer
}

// answer is one request the fake answered.
type answer struct {
	group, query string
	start, end   time.Time
	status       int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (c *groupCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	c.next.ServeHTTP(sw, r)
	end := time.Now()
	p := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1"), "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trace = append(c.trace, answer{group: r.Method + " " + p, query: r.URL.RawQuery, start: start, end: end, status: sw.status})
	c.all++
	c.busy += end.Sub(start)
	c.last[r.Method+" "+p] = end
	if sw.status == http.StatusTooManyRequests {
		c.n429++
		return
	}
	c.ok[r.Method+" "+p]++
}

// lastAnswer is the group that answered last, and when.
func (c *groupCounter) lastAnswer() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var g string
	var at time.Time
	for k, t := range c.last {
		if t.After(at) {
			g, at = k, t
		}
	}
	return g, at
}

// writeTrace writes every answer to path as tab-separated lines: group,
// when the request came and when it was answered (seconds since t0),
// status and query.
func (c *groupCounter) writeTrace(path string, t0 time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sb strings.Builder
	for _, a := range c.trace {
		fmt.Fprintf(&sb, "%s\t%.3f\t%.3f\t%d\t%s\n", a.group, a.start.Sub(t0).Seconds(), a.end.Sub(t0).Seconds(), a.status, a.query)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

// groups lists the endpoint groups by requests answered, most first.
func (c *groupCounter) groups() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := slices.Collect(maps.Keys(c.ok))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(c.ok[b]-c.ok[a], strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, g := range names {
		parts[i] = fmt.Sprintf("%s %d", g, c.ok[g])
	}
	return strings.Join(parts, ", ")
}

// busiest is the endpoint group with most requests answered, and their count.
func (c *groupCounter) busiest() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var g string
	n := 0
	for k, v := range c.ok {
		if v > n {
			g, n = k, v
		}
	}
	return g, n
}

// paceStore is how a config of paceReports with database path opens it
// (daemon.StoreOptions: its default memory_limit follows the reports).
func paceStore(path string) load.Options {
	var refs []config.ReportRef
	for _, name := range paceReports {
		refs = append(refs, config.ReportRef{Name: name})
	}
	return daemon.StoreOptions(&config.Config{Database: path, Jobs: []config.Job{{Reports: refs}}})
}

// BenchmarkRateLimitedSync measures a full first sync of paceReports
// from the fake limited to rps requests a second per endpoint group (its
// token bucket), as wall ÷ the theoretical minimum: the busiest group's
// requests ÷ rps. It reports that ratio (wall/min) and the share of
// requests answered 429 (%429), with no latency and with 300 ms a
// request, at max_concurrency 1, 4 and 8 (the default): as many reports
// at once and requests in flight, and half as many windows of a long walk,
// as the config key sets. The reports keep their history as by default.
// With CLOSESYNC_PACE_TRACE=path it writes every request the fake answered
// to path (groupCounter.writeTrace), to see where a run loses time.
//
//	go test -run '^$' -bench RateLimitedSync -benchtime 1x ./cmd/closesync/
func BenchmarkRateLimitedSync(b *testing.B) {
	const scale, rps = 1000, 5
	for _, latency := range []time.Duration{0, 300 * time.Millisecond} {
		for _, reports := range []int{1, 4, closeapi.DefaultMaxConcurrency} {
			b.Run(fmt.Sprintf("latency=%s/max_concurrency=%d", latency, reports), func(b *testing.B) {
				for range b.N {
					fake := closefake.New(closefake.Options{Seed: 1, Scale: scale, RateLimit: rps, Latency: latency})
					counter := &groupCounter{next: fake, ok: map[string]int{}, last: map[string]time.Time{}}
					srv := httptest.NewServer(counter)
					client, err := closeapi.New(closeapi.Config{Account: "bench", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey,
						MaxConcurrency: reports})
					if err != nil {
						b.Fatal(err)
					}
					ctx := context.Background()
					st, err := load.Open(ctx, paceStore(filepath.Join(b.TempDir(), "bench.duckdb")))
					if err != nil {
						b.Fatal(err)
					}
					job := pipeline.Job{Name: "bench", Account: "bench", Params: map[string]string{"organization_id": fake.OrganizationID()},
						StartDate: time.Now().AddDate(-3, 0, 0), Concurrency: reports}
					for _, name := range paceReports {
						rep, _ := extract.Lookup(name)
						mode, err := schema.ParseWriteMode(rep.DefaultMode.String())
						if err != nil {
							b.Fatal(err)
						}
						job.Reports = append(job.Reports, pipeline.ReportRun{Report: rep, Mode: mode, History: rep.History && mode == schema.Upsert})
					}
					r := &pipeline.Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (pipeline.ExtractFunc, error) {
						return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
							return extract.Extract(ctx, client, req, emit)
						}, nil
					}}
					start := time.Now()
					for _, res := range r.RunJob(ctx, job, runlog.Manual) {
						if res.Err != nil {
							b.Fatalf("%s: %v", res.Report, res.Err)
						}
					}
					wall := time.Since(start)
					st.Close()
					srv.Close()
					group, n := counter.busiest()
					minimum := time.Duration(float64(n) / rps * float64(time.Second))
					ratio := wall.Seconds() / minimum.Seconds()
					share := 100 * float64(counter.n429) / float64(counter.all)
					b.ReportMetric(ratio, "wall/min")
					b.ReportMetric(share, "%429")
					b.Logf("%s: %d requests (%d answered 429, %.2f%%); busiest group %s: %d, minimum %.1fs; wall %.1fs: %.2f× the minimum",
						b.Name(), counter.all, counter.n429, share, group, n, minimum.Seconds(), wall.Seconds(), ratio)
					b.Logf("requests by group: %s", counter.groups())
					if path := os.Getenv("CLOSESYNC_PACE_TRACE"); path != "" {
						if err := counter.writeTrace(path, start); err != nil {
							b.Fatal(err)
						}
					}
					lastGroup, last := counter.lastAnswer()
					b.Logf("requests in flight at the fake: %.2f on average; the busiest group's last answer at %.1fs, the last of all (%s) at %.1fs",
						counter.busy.Seconds()/wall.Seconds(), counter.last[group].Sub(start).Seconds(), lastGroup, last.Sub(start).Seconds())
				}
			})
		}
	}
}
