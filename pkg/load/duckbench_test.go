package load_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
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

// BenchmarkLoadVsDuckDB puts closesync's load path for leads beside DuckDB's
// own pipelines on the same records, in the same process and run (issue 11,
// goal 2):
//
//	go test -run '^$' -bench LoadVsDuckDB -benchtime 1x -count 2 ./pkg/load/
//
// An untimed sync against the fake records its HTTP responses and writes
// every record handed to Apply to an NDJSON file, once per lead count and
// process (every -count replays the same records); the fake is then
// dropped, so its heap costs the timed runs no GC. Each round (b.N rounds,
// the stages' order rotating from round to round) then times, in CPU seconds of the process (getrusage: DuckDB's
// threads count) beside wall seconds, each into a fresh file and each
// including its final CHECKPOINT:
//
//   - closesync: the leads report end to end, its pages replayed on
//     loopback (HTTP, decoding, staging, typing, upsert, commits; its four
//     child tables are views over leads' _raw, so nothing more is written);
//   - (a) read_json_objects over the NDJSON into leads (no key): the typed
//     columns, custom and _raw;
//   - (b) (a) plus the four leads_* child tables by unnest;
//   - (c) (b) into the primary-keyed tables by INSERT ... ON CONFLICT.
//
// The pipelines' SQL comes from pkg/load's own generators
// (load.PipelineSQL), and the first round checks that (a) and (c) hold the
// same rows as closesync: (c)'s child tables, materialised by DuckDB, row
// for row those of closesync's child views. closesync keeps the leads'
// history, as by default. -args -loadbench.threads=N adds a stage to each
// round: closesync with DuckDB's threads set to N (a lever);
// -loadbench.nohistory one without the history. Metrics are leads per second and per CPU-second,
// and closesync's throughput over (a)'s and (c)'s.
func BenchmarkLoadVsDuckDB(b *testing.B) {
	for _, n := range []int{5000, 20000} {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) { benchLoadVsDuckDB(b, n) })
	}
}

// Stage names. A round runs them in this order rotated by roundsRun, the
// rounds run so far in the process (-count runs the benchmark again).
var (
	duckStages = []string{"closesync", "a", "b", "c"}
	roundsRun  int
)

// recording is what the untimed sync against the fake left: its pages,
// served by srv, and the records it handed to Apply, in ndjson.
type recording struct {
	srv    *httptest.Server
	client *closeapi.Client
	ndjson string
	org    string
}

// recordings holds one recording per lead count for the whole process, so
// -count rounds replay the same records; TestMain removes them.
var recordings = struct {
	sync.Mutex
	dir string
	byN map[int]*recording
}{byN: map[int]*recording{}}

func TestMain(m *testing.M) {
	code := m.Run()
	recordings.Lock()
	for _, r := range recordings.byN {
		r.srv.Close()
	}
	if recordings.dir != "" {
		_ = os.RemoveAll(recordings.dir)
	}
	recordings.Unlock()
	os.Exit(code)
}

// record runs the untimed sync of n leads against the fake once per
// process, then drops the fake.
func record(ctx context.Context, b *testing.B, rep *extract.Report, n int) *recording {
	b.Helper()
	recordings.Lock()
	defer recordings.Unlock()
	if r := recordings.byN[n]; r != nil {
		return r
	}
	if recordings.dir == "" {
		dir, err := os.MkdirTemp("", "loadbench")
		if err != nil {
			b.Fatal(err)
		}
		recordings.dir = dir
	}
	rec := replay.New(closefake.New(closefake.Options{Seed: 1, Scale: n}))
	r := &recording{srv: httptest.NewServer(rec), ndjson: filepath.Join(recordings.dir, fmt.Sprintf("leads-%d.ndjson", n))}
	client, err := closeapi.New(closeapi.Config{Account: "bench", BaseURL: r.srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey, MaxConcurrency: 4})
	if err != nil {
		b.Fatal(err)
	}
	r.client = client
	f, err := os.Create(r.ndjson)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	st := openBench(b, filepath.Join(b.TempDir(), "record.duckdb"))
	dump := &dumpStore{Store: st, w: w}
	syncLeads(ctx, b, dump, client, rep, n, false)
	if err := st.Query(ctx, func(rows *sql.Rows) error { rows.Next(); return rows.Scan(&r.org) },
		"SELECT any_value(organization_id) FROM close.leads"); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(st.Close(), dump.err, w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
	rec.Drop()
	recordings.byN[n] = r
	return r
}

func benchLoadVsDuckDB(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	rep, _ := extract.Lookup("leads")
	r := record(ctx, b, rep, n)
	client, ndjson, org := r.client, r.ndjson, r.org

	syncStage := func(name string, threads int, history bool) func(dir string) string {
		return func(dir string) string {
			path := filepath.Join(dir, "closesync.duckdb")
			if name != "closesync" {
				path = filepath.Join(dir, name+".duckdb")
			}
			st := openBench(b, path)
			if threads > 0 {
				if err := st.ExecBench(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
					b.Fatal(err)
				}
			}
			measure(b, name, func() { syncLeads(ctx, b, st, client, rep, n, history) })
			measure(b, name+ckpt, func() { closeBench(b, st) })
			return path
		}
	}
	stages := duckStages
	// closesync as by default: the leads keep their history.
	runs := map[string]func(dir string) string{"closesync": syncStage("closesync", 0, rep.History)}
	var levers []string
	if *duckThreads > 0 {
		lever := fmt.Sprintf("threads=%d", *duckThreads)
		levers = append(levers, lever)
		runs[lever] = syncStage(lever, *duckThreads, rep.History)
	}
	if *duckNoHistory {
		levers = append(levers, "no-history")
		runs["no-history"] = syncStage("no-history", 0, false)
	}
	if len(levers) > 0 {
		stages = slices.Insert(slices.Clone(duckStages), 1, levers...) // right after closesync
	}
	for i, p := range []load.Pipeline{load.ParentOnly, load.WithChildren, load.Upsert} {
		name := duckStages[i+1]
		runs[name] = func(dir string) string {
			path := filepath.Join(dir, name+".duckdb")
			st := openBench(b, path)
			stmts := load.PipelineSQL(p, "close", rep.Table, ndjson, org)
			measure(b, name, func() {
				for _, q := range stmts {
					if err := st.ExecBench(ctx, q); err != nil {
						b.Fatalf("pipeline (%s): %v\n%s", name, err, q)
					}
				}
			})
			measure(b, name+ckpt, func() { closeBench(b, st) })
			return path
		}
	}

	totals = map[string]*usage{}
	var parity string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		files := map[string]string{}
		roundsRun++
		for k := range stages {
			name := stages[(roundsRun+k)%len(stages)]
			files[name] = runs[name](dir)
		}
		if i == 0 {
			parity = checkParity(ctx, b, dir, rep.Table, files, levers)
		}
		for _, name := range stages {
			_ = os.Remove(files[name])
		}
	}
	b.StopTimer()

	leads := float64(n * b.N)
	var lines []string
	for _, name := range stages {
		u, k := totals[name], totals[name+ckpt]
		u.wall += k.wall
		u.cpu += k.cpu
		b.ReportMetric(leads/u.wall.Seconds(), name+"-leads/s")
		b.ReportMetric(leads/u.cpu.Seconds(), name+"-leads/cpu-s")
		lines = append(lines, fmt.Sprintf("%-9s %6.0f leads/s %6.0f leads/cpu-s  (wall %6.2fs, cpu %6.2fs, %.2f cores; of which checkpoint %.2fs, %.2f cpu-s)",
			name, leads/u.wall.Seconds(), leads/u.cpu.Seconds(), u.wall.Seconds(), u.cpu.Seconds(), u.cpu.Seconds()/u.wall.Seconds(),
			k.wall.Seconds(), k.cpu.Seconds()))
	}
	cs := totals["closesync"]
	for _, name := range []string{"a", "c"} {
		u := totals[name]
		wall, cpu := u.wall.Seconds()/cs.wall.Seconds(), u.cpu.Seconds()/cs.cpu.Seconds()
		b.ReportMetric(wall, "closesync/"+name+"-wall")
		b.ReportMetric(cpu, "closesync/"+name+"-cpu")
		lines = append(lines, fmt.Sprintf("closesync / (%s): %.2f wall, %.2f cpu", name, wall, cpu))
	}
	for _, lever := range levers {
		u := totals[lever]
		wall, cpu := cs.wall.Seconds()/u.wall.Seconds(), cs.cpu.Seconds()/u.cpu.Seconds()
		b.ReportMetric(wall, lever+"/closesync-wall")
		b.ReportMetric(cpu, lever+"/closesync-cpu")
		lines = append(lines, fmt.Sprintf("closesync with %s / closesync: %.2f wall, %.2f cpu", lever, wall, cpu))
	}
	b.Logf("%d leads, %d round(s), same records (%s):\n%s\n%s",
		n, b.N, humanBytes(ndjson), strings.Join(lines, "\n"), parity)
}

// duckThreads, when set, adds a stage to every round: closesync's sync with
// DuckDB's threads set to it (a lever; the other stages keep DuckDB's
// default, one thread per core).
// duckNoHistory adds a stage: closesync without the leads' history (a
// lever: what keeping the versions costs).
var duckNoHistory = flag.Bool("loadbench.nohistory", false, "BenchmarkLoadVsDuckDB: also time closesync with history off")

var duckThreads = flag.Int("loadbench.threads", 0, "BenchmarkLoadVsDuckDB: also time closesync with DuckDB threads set to this (0: no such stage)")

// benchMemory is DuckDB's memory_limit for every stage, closesync's and
// DuckDB's own alike, so they compare on the same footing. It is higher
// than load.DefaultEngine's: at that bound DuckDB's own pipeline (a) runs
// out of memory typing 5,000 leads in one statement.
var benchMemory = flag.String("loadbench.memory_limit", "8GB", "BenchmarkLoadVsDuckDB: DuckDB memory_limit of every stage")

// benchThreads is DuckDB's threads for every stage: two, one per core of
// the machine README's figures come from, so DuckDB's own pipelines run in
// parallel as they would by themselves (load.DefaultEngine's one would
// slow them more than closesync). -loadbench.threads=1 times closesync at
// its default beside them.
const benchThreads = 2

// ckpt suffixes the stage name of a stage's final checkpoint.
const ckpt = "/checkpoint"

// closeBench closes st: its final CHECKPOINT.
func closeBench(b *testing.B, st *load.Store) {
	b.Helper()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
}

// usage is wall and CPU time (user+system of the whole process).
type usage struct{ wall, cpu time.Duration }

// totals sums each stage's usage over the rounds of one sub-benchmark.
var totals map[string]*usage

// measure runs fn and adds its wall and process CPU time to totals[name].
// A GC first leaves no garbage of the stage before to this one.
func measure(b *testing.B, name string, fn func()) {
	b.Helper()
	runtime.GC()
	c0, t0 := cpuTime(b), time.Now()
	fn()
	wall, cpu := time.Since(t0), cpuTime(b)-c0
	u := totals[name]
	if u == nil {
		u = &usage{}
		totals[name] = u
	}
	u.wall += wall
	u.cpu += cpu
}

func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func openBench(b *testing.B, path string) *load.Store {
	b.Helper()
	st, err := load.Open(context.Background(), load.Options{Path: path, Migrations: closesync.SQL, Engine: load.Engine{MemoryLimit: *benchMemory, Threads: benchThreads}})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// syncLeads runs the leads report once into st, as closesync sync does,
// keeping the leads' versions when history is set.
func syncLeads(ctx context.Context, b *testing.B, st pipeline.Store, client *closeapi.Client, rep *extract.Report, n int, history bool) {
	b.Helper()
	r := &pipeline.Runner{Store: st, Log: zap.NewNop(), Extract: func(string) (pipeline.ExtractFunc, error) {
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			return extract.Extract(ctx, client, req, emit)
		}, nil
	}}
	res := r.RunReport(ctx, pipeline.Job{Name: "bench", Account: "bench"}, pipeline.ReportRun{Report: rep, Mode: schema.Upsert, History: history}, runlog.Manual)
	// A keyset restart re-reads the leads of its boundary date_created, so
	// rows written may exceed n.
	if res.Err != nil || res.RowsUpserted < int64(n) {
		b.Fatalf("rows %d, err %v", res.RowsUpserted, res.Err)
	}
}

// dumpStore writes every record handed to Apply to w, one line each.
type dumpStore struct {
	*load.Store
	w   *bufio.Writer
	err error
}

func (d *dumpStore) Apply(ctx context.Context, run load.Run, t schema.Table, mode schema.WriteMode, bt load.Batch, c load.Counters) (int64, error) {
	for _, r := range bt.Records {
		raw := []byte(r.Raw)
		if bytes.ContainsAny(raw, "\r\n") {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				d.err = err
			}
			raw = buf.Bytes()
		}
		d.w.Write(raw)
		d.w.WriteByte('\n')
	}
	return d.Store.Apply(ctx, run, t, mode, bt, c)
}

// checkParity fails the benchmark when pipeline (a)'s leads or pipeline
// (c)'s five tables (and the levers', if any) differ from closesync's
// leads and child views (beyond _synced_at and _run_id).
func checkParity(ctx context.Context, b *testing.B, dir string, t schema.Table, files map[string]string, levers []string) string {
	b.Helper()
	st := openBench(b, filepath.Join(dir, "parity.duckdb"))
	defer st.Close()
	for name, file := range files {
		if err := st.ExecBench(ctx, fmt.Sprintf("ATTACH '%s' AS %s (READ_ONLY)", file, load.QuoteIdent("db_"+name))); err != nil {
			b.Fatal(err)
		}
	}
	var counts []string
	tables := []schema.Table{t}
	for _, ch := range t.Children {
		tables = append(tables, ch.Table)
	}
	for i, tt := range tables {
		var cols []string
		for _, c := range load.StoredColumns(tt) {
			if c != schema.ColSyncedAt && c != schema.ColRunID {
				cols = append(cols, load.QuoteIdent(c))
			}
		}
		sel := "SELECT " + strings.Join(cols, ", ") + " FROM "
		against := []string{"c"}
		if i == 0 {
			against = []string{"a", "c"}
		}
		against = append(against, levers...)
		for _, p := range against {
			for _, pair := range [][2]string{{"closesync", p}, {p, "closesync"}} {
				q := fmt.Sprintf("SELECT count(*) FROM (%s %s.close.%s EXCEPT %s %s.close.%s)",
					sel, load.QuoteIdent("db_"+pair[0]), tt.Name, sel, load.QuoteIdent("db_"+pair[1]), tt.Name)
				var diff int64
				if err := st.Query(ctx, func(rows *sql.Rows) error { rows.Next(); return rows.Scan(&diff) }, q); err != nil {
					b.Fatal(err)
				}
				if diff != 0 {
					b.Errorf("%s: %d rows of %s are not in %s's", tt.Name, diff, pair[0], pair[1])
				}
			}
			var cs, other int64
			for db, out := range map[string]*int64{"closesync": &cs, p: &other} {
				q := fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s %s.close.%s)", strings.TrimPrefix(sel, "SELECT "), load.QuoteIdent("db_"+db), tt.Name)
				if err := st.Query(ctx, func(rows *sql.Rows) error { rows.Next(); return rows.Scan(out) }, q); err != nil {
					b.Fatal(err)
				}
			}
			if cs == 0 || cs != other {
				b.Errorf("%s: closesync holds %d distinct rows, (%s) %d", tt.Name, cs, p, other)
			}
			if p == "c" {
				counts = append(counts, fmt.Sprintf("%s %d", tt.Name, cs))
			}
		}
	}
	also := ""
	for _, lever := range levers {
		also += " = " + lever + "'s"
	}
	return "parity: (a) = closesync's leads, (c) = closesync's tables" + also + " (" + strings.Join(counts, ", ") + " rows)"
}

func humanBytes(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB of NDJSON", float64(fi.Size())/1e6)
}
