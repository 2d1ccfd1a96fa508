package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/internal/parquettest"
	"github.com/closesync/closesync/pkg/load"
)

// publishConfig adds publish.parquet (./lake, beside the config) to the
// harness's config, partitioning the tables above partitionAbove rows, and
// returns the directory.
func (h *harness) publishConfig(partitionAbove int) string {
	h.t.Helper()
	cfg := mustRead(h.t, h.config) + fmt.Sprintf("publish:\n  parquet: ./lake\n  partition_above: %d\n", partitionAbove)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(h.dir, "lake")
}

// published is what a database holds that a publish must write: the rows of
// every table of the data schema and of every view closesync made there.
func (h *harness) published() map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	h.reading(func(db *sql.DB) {
		var qs []string
		for _, row := range h.queryOn(db, `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'close'
			UNION ALL SELECT view_name FROM sync.views WHERE schema_name = 'close' ORDER BY 1`) {
			qs = append(qs, row[0].(string))
		}
		for _, name := range qs {
			var n int64
			if err := db.QueryRow(`SELECT count(*) FROM close.` + name).Scan(&n); err != nil {
				h.t.Fatalf("count close.%s: %v", name, err)
			}
			out[name] = n
		}
	})
	return out
}

// checkPublished reads dir with parquet-go, the manifest's files and every
// link's, and checks both against want (the database's rows): every file
// whole, every table there with all its rows, whatever instant a publish
// was stopped at.
func checkPublished(t *testing.T, dir string, want map[string]int64) load.Manifest {
	t.Helper()
	m, err := load.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, tb := range m.Tables {
		var paths []string
		for _, f := range tb.Files {
			if !strings.HasPrefix(f, tb.Version+"/") {
				t.Errorf("%s: file %s is not in its version %s", tb.Name, f, tb.Version)
			}
			paths = append(paths, filepath.Join(dir, f))
		}
		files, err := parquettest.Read(paths)
		if err != nil {
			t.Fatalf("%s: the manifest's files: %v", tb.Name, err)
		}
		var n int64
		var cols []string
		for _, c := range tb.Columns {
			cols = append(cols, c.Name)
		}
		for _, f := range files {
			n += f.NumRows
			if !slices.Equal(f.Columns, cols) {
				t.Errorf("%s: %s has columns %v, the manifest %v", tb.Name, f.Path, f.Columns, cols)
			}
		}
		if n != tb.Rows {
			t.Errorf("%s: the manifest says %d rows, its files hold %d", tb.Name, tb.Rows, n)
		}
		got[tb.Name] = n
		// The link: whichever version it names, it is whole.
		var linked []string
		err = filepath.WalkDir(filepath.Join(dir, tb.Path)+"/", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				linked = append(linked, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		lf, err := parquettest.Read(linked)
		if err != nil {
			t.Fatalf("%s: the files of its link: %v", tb.Name, err)
		}
		var ln int64
		for _, f := range lf {
			ln += f.NumRows
		}
		if ln != want[tb.Name] {
			t.Errorf("%s: its link holds %d rows, the database %d", tb.Name, ln, want[tb.Name])
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d rows published, the database has %d", name, got[name], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("published %d tables and views, the database has %d", len(got), len(want))
	}
	return m
}

// TestPublishParquet syncs the fake with publish.parquet configured and
// reads every published file back with parquet-go: every table and view
// of the data schema with the database's rows, the leads' ids, creation
// times and _raw JSON equal to the database's, the big tables partitioned
// by month and readable by DuckDB as a hive-partitioned tree. A change in
// Close is in the next publish, which leaves no old version behind.
func TestPublishParquet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 97, Scale: 40}, coreReports...)
	h.keepReadsOpen()
	dir := h.publishConfig(20)
	if code, out, errOut := h.run("validate", "--config", h.config); code != 0 ||
		!strings.Contains(out, "publish: every table and view of schema close is written as Parquet into "+dir+
			" after every run that succeeds, partitioned by month above 20 rows (publish.parquet)") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	h.sync()
	want := h.published()
	m := checkPublished(t, dir, want)
	byName := map[string]load.PublishedTable{}
	for _, tb := range m.Tables {
		byName[tb.Name] = tb
	}
	for name, kind := range map[string]string{"leads": "table", "leads_contacts": "view", "leads_custom": "view", "pipeline_daily": "view", "users": "table"} {
		if byName[name].Kind != kind {
			t.Errorf("%s: published as %q, want a %s", name, byName[name].Kind, kind)
		}
	}
	for _, name := range []string{"leads", "activities", "leads_contacts"} {
		if tb := byName[name]; !slices.Equal(tb.PartitionedBy, []string{"date_created_month"}) || len(tb.Files) < 2 {
			t.Errorf("%s (%d rows) is not partitioned by month: %v", name, tb.Rows, tb.Files)
		}
	}
	if tb := byName["users"]; len(tb.PartitionedBy) != 0 || len(tb.Files) != 1 {
		t.Errorf("users is partitioned: %v", tb.Files)
	}

	// The leads' values, read by parquet-go, are the database's.
	type lead struct {
		created int64
		raw     string
	}
	inDB := map[string]lead{}
	for _, row := range h.query(`SELECT id, epoch_us(date_created), _raw::VARCHAR FROM close.leads`) {
		inDB[row[0].(string)] = lead{row[1].(int64), row[2].(string)}
	}
	leads := byName["leads"]
	var paths []string
	for _, f := range leads.Files {
		paths = append(paths, filepath.Join(dir, f))
	}
	files, err := parquettest.Read(paths, "id", "date_created", "_raw")
	if err != nil {
		t.Fatal(err)
	}
	inFiles := map[string]lead{}
	for _, f := range files {
		for _, row := range f.Rows {
			inFiles[row["id"].String()] = lead{row["date_created"].Int64(), string(row["_raw"].ByteArray())}
		}
	}
	if len(inFiles) != len(inDB) || len(inDB) != h.fake.Count("lead") {
		t.Errorf("%d leads in the files, %d in the database, %d in the fake", len(inFiles), len(inDB), h.fake.Count("lead"))
	}
	for id, l := range inDB {
		if f := inFiles[id]; f.created != l.created || !jsonEqual(t, f.raw, l.raw) {
			t.Errorf("lead %s: published date_created %d and _raw %.80s, the database %d and %.80s", id, f.created, f.raw, l.created, l.raw)
		}
	}
	// DuckDB reads the tree through the links, with the partition column.
	reader, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var n, wrongMonth int64
	if err := reader.QueryRow(fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE date_created_month <> strftime(date_created AT TIME ZONE 'UTC', '%%Y-%%m'))
		FROM read_parquet('%s/leads/**/*.parquet', hive_partitioning = true)`, dir)).Scan(&n, &wrongMonth); err != nil {
		t.Fatal(err)
	}
	if n != want["leads"] || wrongMonth != 0 {
		t.Errorf("DuckDB reads %d leads from the tree (%d in the wrong month), want %d", n, wrongMonth, want["leads"])
	}
	if got := h.query(`SELECT status, report, count(*) FROM sync.runs WHERE trigger = 'publish' GROUP BY ALL`); len(got) != 1 ||
		got[0][0] != "success" || got[0][1] != "database" || got[0][2] != int64(1) {
		t.Errorf("publish runs: %v", got)
	}

	// A change in Close is in the next publish; only its version remains.
	id := h.fake.IDs("lead")[0]
	if err := h.fake.Update("lead", id, map[string]any{"name": "Published again"}); err != nil {
		t.Fatal(err)
	}
	h.sync("--report", "leads")
	m2 := checkPublished(t, dir, h.published())
	if m2.RunID <= m.RunID || m2.DataRunID <= m.RunID {
		t.Errorf("second publish: run %d (data run %d), the first %d", m2.RunID, m2.DataRunID, m.RunID)
	}
	n = 0
	if err := reader.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s/leads/**/*.parquet') WHERE id = '%s' AND name = 'Published again'`, dir, id)).Scan(&n); err != nil || n != 1 {
		t.Errorf("the changed lead in the second publish: %d rows, %v", n, err)
	}
	for _, tb := range m2.Tables {
		if versions, err := os.ReadDir(filepath.Join(dir, ".closesync", tb.Name)); err != nil || len(versions) != 1 {
			t.Errorf("%s: %d versions after the second publish (%v)", tb.Name, len(versions), err)
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// TestPublishFailureLosesNothing: a file where a new table's directory
// goes fails the publish after a sync, which still succeeds with every row
// loaded; the failure is logged with the path and recorded as a failed run,
// and the previous publish stays whole. closesync publish then fails the
// same way, and publishes once the file is gone.
func TestPublishFailureLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 99, Scale: 20}, "leads", "users")
	dir := h.publishConfig(1000)
	h.sync()
	before := checkPublished(t, dir, h.published())
	manifest := mustRead(t, filepath.Join(dir, load.ManifestName))

	cfg := strings.Replace(mustRead(t, h.config), "reports: [leads, users]", "reports: [leads, users, tasks]", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	inTheWay := filepath.Join(dir, "tasks")
	if err := os.WriteFile(inTheWay, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != 0 || !strings.Contains(errOut, "parquet not published") || !strings.Contains(errOut, inTheWay+" is in the way") {
		t.Fatalf("sync with a file in the way: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := h.live("tasks"); got != int64(h.fake.Count("task")) || got == 0 {
		t.Errorf("%d tasks loaded, the fake has %d", got, h.fake.Count("task"))
	}
	if got := mustRead(t, filepath.Join(dir, load.ManifestName)); got != manifest {
		t.Error("a failed publish changed the manifest")
	}
	want := h.published()
	for name := range want {
		if strings.HasPrefix(name, "tasks") { // tasks and its history, tasks_versions
			delete(want, name)
		}
	}
	checkPublished(t, dir, want) // the first publish, whole
	if b, err := os.ReadFile(inTheWay); err != nil || string(b) != "mine" {
		t.Errorf("the file in the way is now %q (%v)", b, err)
	}
	if got := h.query(`SELECT status, error FROM sync.runs WHERE trigger = 'publish' ORDER BY run_id`); len(got) != 2 || got[0][0] != "success" ||
		got[1][0] != "failed" || !strings.Contains(got[1][1].(string), inTheWay+" is in the way") {
		t.Errorf("publish runs: %v", got)
	}

	code, _, errOut = h.run("publish", "--config", h.config)
	if code != exitFailed || !strings.Contains(errOut, inTheWay+" is in the way") {
		t.Errorf("closesync publish with a file in the way: exit %d, %s", code, errOut)
	}
	if err := os.Remove(inTheWay); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = h.run("publish", "--config", h.config)
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("publish  %s: %d tables, ", dir, len(h.published()))) {
		t.Fatalf("closesync publish: exit %d\n%s\n%s", code, out, errOut)
	}
	if m := checkPublished(t, dir, h.published()); m.RunID <= before.RunID {
		t.Errorf("closesync publish wrote run %d, the first publish was %d", m.RunID, before.RunID)
	}

	// Without publish.parquet there is nothing to publish to.
	plain := strings.Replace(mustRead(t, h.config), "publish:\n  parquet: ./lake\n", "publish:\n", 1)
	if err := os.WriteFile(h.config, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := h.run("publish", "--config", h.config); code != exitUsage || !strings.Contains(errOut, "set publish.parquet") {
		t.Errorf("closesync publish without publish.parquet: exit %d, %s", code, errOut)
	}
}

// TestKillNineDuringPublish kills `closesync publish` with SIGKILL at
// seeded random instants, and as soon as its last link is swapped: after
// every kill the
// manifest's files and every table's link hold the database's rows (the
// previous version or the new one, never a part), and the next publish
// removes what the kills left.
func TestKillNineDuringPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	t.Parallel()
	const trials = 4
	h := newHarness(t, closefake.Options{Seed: 101, Scale: 40}, coreReports...)
	dir := h.publishConfig(20)
	h.sync()
	want := h.published()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// publish runs closesync publish and kills it after kill (never, if
	// negative), or, with atSwap, as soon as the last table's link moves:
	// between the swaps and the manifest's rename.
	m := checkPublished(t, dir, want)
	last := filepath.Join(dir, m.Tables[len(m.Tables)-1].Path)
	publish := func(kill time.Duration, atSwap bool) (took time.Duration, killed bool) {
		before, _ := os.Readlink(last)
		cmd := exec.Command(exe, "publish", "--config", h.config)
		cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1", "GORACE=atexit_sleep_ms=0")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var deadline <-chan time.Time
		if kill >= 0 {
			deadline = time.After(kill)
		}
		poll := time.NewTicker(200 * time.Microsecond)
		defer poll.Stop()
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("closesync publish: %v", err)
				}
				return time.Since(start), false
			case <-poll.C:
				if now, _ := os.Readlink(last); !atSwap || now == before {
					continue
				}
			case <-deadline:
			}
			_ = cmd.Process.Kill()
			<-done
			return 0, true
		}
	}
	// A publish left to finish measures this machine's, so that the kills
	// fall inside it however fast or loaded the machine is.
	took, _ := publish(-1, false)
	rng := rand.New(rand.NewPCG(101, 101))
	killed, swapped := 0, 0
	for trial := range trials {
		delay, atSwap := time.Duration(rng.Int64N(int64(took))), trial%2 == 1
		if atSwap {
			delay = -1
		}
		if _, k := publish(delay, atSwap); k {
			killed++
		}
		m = checkPublished(t, dir, want)
		if t.Failed() {
			t.Fatalf("trial %d: the published directory is not whole", trial)
		}
		// Killed between the swaps and the manifest: links on the new
		// version, the manifest on the old one, both whole.
		if target, _ := os.Readlink(last); !strings.HasSuffix(target, fmt.Sprintf("/run-%d", m.RunID)) {
			swapped++
		}
	}
	if killed < trials/2 {
		t.Fatalf("only %d of %d publishes were killed (one takes %s)", killed, trials, took)
	}
	publish(-1, false)
	m = checkPublished(t, dir, want)
	var left []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != ".closesync" && e.Name() != ".closesync.lock" {
			left = append(left, e.Name())
		}
	}
	for _, tb := range m.Tables {
		if versions, err := os.ReadDir(filepath.Join(dir, ".closesync", tb.Name)); err != nil || len(versions) != 1 {
			left = append(left, fmt.Sprintf("%s: %d versions", tb.Name, len(versions)))
		}
	}
	if len(left) > 0 {
		t.Errorf("left behind after a finished publish: %v", left)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'publish' AND status = 'running'`); n != 0 {
		t.Errorf("%d publish runs left running", n)
	}
	t.Logf("a publish took %s; %d of %d killed, %d with links newer than the manifest", took, killed, trials, swapped)
}
