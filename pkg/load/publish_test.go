package load_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/parquettest"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

// publishFixture is a closed database with 300 contacts (and their child
// view contacts_emails), a table of 400 events with a date_created over 14
// months, one of them without, and a view of the events recorded as made
// by closesync.
func publishFixture(t *testing.T) string {
	t.Helper()
	path := syncedContacts(t, 300, load.Counters{})
	execSQL(t, path, `CREATE TABLE close.events AS SELECT 'e' || i AS id,
		CASE WHEN i > 0 THEN TIMESTAMPTZ '2025-01-01 00:00:00+00' + INTERVAL (i) DAY END AS date_created,
		json_object('i', i) AS _raw FROM range(400) t(i)`,
		`CREATE VIEW close.events_view AS SELECT id, date_created FROM close.events`,
		`INSERT INTO sync.views VALUES ('close', 'events_view', 'test', 'SELECT ...', now())`)
	return path
}

func execSQL(t *testing.T, path string, qs ...string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// publishOnce opens the database with two threads and the default
// memory_limit, publishes it into dir and closes it; the publish's one
// thread and its larger memory_limit are set back after it.
func publishOnce(t *testing.T, path string, o load.ParquetOptions) (load.PublishResult, error) {
	t.Helper()
	s, err := load.Open(context.Background(), load.Options{Path: path, Migrations: closesync.SQL, Engine: load.Engine{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	const settings = "SELECT current_setting('threads'), current_setting('memory_limit')"
	before := dump(t, s, settings)
	if want := []string{"2|61.0 MiB"}; !slices.Equal(before, want) {
		t.Fatalf("settings before the publish %q, want %q", before, want)
	}
	r, err := s.PublishParquet(context.Background(), o)
	if after := dump(t, s, settings); !slices.Equal(after, before) {
		t.Errorf("threads and memory_limit %q after a publish, %q before", after, before)
	}
	return r, err
}

// linkedRows reads the Parquet files of dir/name, through its link, with
// parquet-go, and returns their rows and the version the link names.
func linkedRows(t *testing.T, dir, name string) (int, string) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(filepath.Join(dir, target), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquettest.Read(files)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range got {
		n += int(f.NumRows)
	}
	return n, target
}

// entries lists the paths under dir, relative to it, links not followed.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestPublishParquetSwapsEachTableWhole publishes a database twice: every
// table and view is there with its rows, the big one partitioned by month;
// until the swap (BeforeSwap) a reader of the links and the manifest sees
// the first version whole while the second is already written beside it;
// after the swaps and until the new manifest (BeforeManifest), the links
// give the second and the old manifest's files are all still there; after
// it, only the second remains.
func TestPublishParquetSwapsEachTableWhole(t *testing.T) {
	path := publishFixture(t)
	dir := filepath.Join(t.TempDir(), "lake")
	o := load.ParquetOptions{Dir: dir, PartitionAbove: 100, Views: true, Generator: "test"}
	first, err := publishOnce(t, path, o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := load.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]load.PublishedTable{}
	for _, tb := range m.Tables {
		names = append(names, tb.Name)
		byName[tb.Name] = tb
	}
	if want := []string{"contacts", "contacts_emails", "events", "events_view"}; !slices.Equal(names, want) {
		t.Fatalf("published %v, want %v", names, want)
	}
	if m.RunID != first.Manifest.RunID || m.FormatVersion != load.ManifestVersion || m.DataRunID == 0 || m.DataRunID >= m.RunID {
		t.Errorf("manifest run_id %d, data_run_id %d, format %d", m.RunID, m.DataRunID, m.FormatVersion)
	}
	for name, want := range map[string]struct {
		rows        int
		kind        string
		partitioned bool
	}{"contacts": {300, "table", false}, "contacts_emails": {600, "view", false}, "events": {400, "table", true}, "events_view": {400, "view", true}} {
		tb := byName[name]
		if n, _ := linkedRows(t, dir, name); n != want.rows || tb.Rows != int64(want.rows) || tb.Kind != want.kind {
			t.Errorf("%s: %d rows through its link, %d in the manifest, kind %s; want %d, %s", name, n, tb.Rows, tb.Kind, want.rows, want.kind)
		}
		if got := len(tb.PartitionedBy) > 0; got != want.partitioned {
			t.Errorf("%s: partitioned %v, want %v (files %v)", name, got, want.partitioned, tb.Files)
		}
	}
	// events: 14 months and the NULL partition, as Hive names it; its view
	// the same, rewritten from its first file.
	if v := byName["events_view"]; len(v.Files) != 15 {
		t.Errorf("events_view files: %v", v.Files)
	}
	ev := byName["events"]
	if len(ev.Files) != 15 || !strings.Contains(strings.Join(ev.Files, " "), "date_created_month=__HIVE_DEFAULT_PARTITION__/") ||
		!strings.Contains(ev.Files[0], "/date_created_month=2025-01/events-") {
		t.Errorf("events files: %v", ev.Files)
	}
	types := map[string]string{}
	for _, c := range ev.Columns {
		types[c.Name] = c.Type + " " + c.Parquet
	}
	if types["date_created"] != "TIMESTAMP WITH TIME ZONE INT64/TIMESTAMP_MICROS" || types["_raw"] != "JSON BYTE_ARRAY/JSON" {
		t.Errorf("events columns: %v", types)
	}

	// The database changes; the next publish writes the new version beside
	// the old one, which readers see whole until the swap.
	execSQL(t, path, `INSERT INTO close.events SELECT 'n' || i, TIMESTAMPTZ '2026-06-01 00:00:00+00', '{}' FROM range(50) t(i)`)
	swapped := false
	o.BeforeSwap = func() {
		swapped = true
		for name, rows := range map[string]int{"contacts": 300, "events": 400} {
			n, target := linkedRows(t, dir, name)
			if n != rows || target != byName[name].Version {
				t.Errorf("before the swap %s links to %s with %d rows; want the first version, %s, whole (%d)", name, target, n, byName[name].Version, rows)
			}
		}
		if now, err := load.ReadManifest(dir); err != nil || now.RunID != m.RunID {
			t.Errorf("before the swap the manifest is run %d (%v), want the first publish's %d", now.RunID, err, m.RunID)
		}
		if _, err := os.Stat(filepath.Join(dir, ".closesync", "events", fmt.Sprintf("run-%d", m.RunID+1))); err != nil {
			t.Errorf("the new version is not written before the swap: %v", err)
		}
	}
	// Between the swaps and the manifest the links are on the new version
	// and every file the old manifest names is still there, whole.
	manifested := false
	o.BeforeManifest = func() {
		manifested = true
		if n, target := linkedRows(t, dir, "events"); n != 450 || target == byName["events"].Version {
			t.Errorf("before the manifest events links to %s with %d rows, want the second version (450)", target, n)
		}
		for _, tb := range m.Tables {
			var paths []string
			for _, f := range tb.Files {
				paths = append(paths, filepath.Join(dir, f))
			}
			files, err := parquettest.Read(paths)
			var n int64
			for _, f := range files {
				n += f.NumRows
			}
			if err != nil || n != tb.Rows {
				t.Errorf("before the manifest, the first manifest's %s: %d rows of %d (%v)", tb.Name, n, tb.Rows, err)
			}
		}
	}
	second, err := publishOnce(t, path, o)
	if err != nil {
		t.Fatal(err)
	}
	if !swapped || !manifested {
		t.Fatal("BeforeSwap or BeforeManifest was not called")
	}
	if n, target := linkedRows(t, dir, "events"); n != 450 || target != ".closesync/events/run-"+fmt.Sprint(second.Manifest.RunID) {
		t.Errorf("after the swap events links to %s with %d rows, want 450", target, n)
	}
	var want []string
	for _, tb := range second.Manifest.Tables {
		want = append(want, tb.Name, ".closesync/"+tb.Name, tb.Version)
		for _, f := range tb.Files {
			for p := f; p != tb.Version; p = filepath.ToSlash(filepath.Dir(p)) {
				want = append(want, p)
			}
		}
	}
	want = append(want, ".closesync", ".closesync.lock", load.ManifestName)
	slices.Sort(want)
	want = slices.Compact(want)
	if got := entries(t, dir); !slices.Equal(got, want) {
		t.Errorf("after the second publish the directory holds\n%v\nwant only the new version:\n%v", got, want)
	}
}

// TestPublishParquetCleansUpAndRefuses: a publish removes what a killed one
// left (and nothing it did not make), drops the tables the database no
// longer has, and refuses, changing nothing, when a file is in the way; its
// run is recorded failed with the path.
func TestPublishParquetCleansUpAndRefuses(t *testing.T) {
	path := publishFixture(t)
	dir := filepath.Join(t.TempDir(), "lake")
	o := load.ParquetOptions{Dir: dir, PartitionAbove: 100, Views: true}
	if _, err := publishOnce(t, path, o); err != nil {
		t.Fatal(err)
	}
	// What a publish killed at various instants leaves, and a file of the
	// user's.
	for _, p := range []string{".closesync/events/run-999/date_created_month=2025-01/events-999-0.parquet",
		".closesync/events/run-998.parquet", "._manifest.json.tmp-123", ".closesync/gone/run-5/gone-5.parquet", "notes.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(".closesync/events/run-999", filepath.Join(dir, ".events.link-999")); err != nil {
		t.Fatal(err)
	}
	execSQL(t, path, "DROP VIEW close.events_view", "DROP TABLE close.events")
	o.Views = false
	r, err := publishOnce(t, path, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".closesync", ".closesync.lock", ".closesync/contacts", ".closesync/contacts/" + filepath.Base(r.Manifest.Tables[0].Version),
		r.Manifest.Tables[0].Files[0], load.ManifestName, "contacts", "notes.txt"}
	slices.Sort(want)
	if got := entries(t, dir); len(r.Manifest.Tables) != 1 || !slices.Equal(got, want) {
		t.Errorf("after a publish of contacts only the directory holds\n%v\nwant\n%v", got, want)
	}

	// A file where a new table's link goes: nothing changes.
	execSQL(t, path, "CREATE TABLE close.tasks AS SELECT 't1' AS id")
	if err := os.WriteFile(filepath.Join(dir, "tasks"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := entries(t, dir)
	manifest, _ := os.ReadFile(filepath.Join(dir, load.ManifestName))
	_, err = publishOnce(t, path, o)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "tasks")+" is in the way") {
		t.Fatalf("publish with a file in the way: %v", err)
	}
	if got := entries(t, dir); !slices.Equal(got, before) {
		t.Errorf("a refused publish changed the directory:\n%v\nwas\n%v", got, before)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, load.ManifestName)); string(now) != string(manifest) {
		t.Error("a refused publish changed the manifest")
	}
	if n, _ := linkedRows(t, dir, "contacts"); n != 300 {
		t.Errorf("after a refused publish contacts has %d rows, want 300", n)
	}
	s := open(t, path)
	defer s.Close()
	run := mustRuns(t, s)[0]
	if run.Trigger != runlog.Publish || run.Report != load.PublishReport || run.Status != runlog.Failed || !strings.Contains(run.Error, "is in the way") {
		t.Errorf("the refused publish's run: %+v", run)
	}
	if got := dump(t, s, "SELECT count(*) FROM close.contacts"); !slices.Equal(got, []string{"300"}) {
		t.Errorf("contacts after a refused publish: %v", got)
	}
}

// TestPublishParquetLocksItsDirectory: two processes never publish into one
// directory at once.
func TestPublishParquetLocksItsDirectory(t *testing.T) {
	path := publishFixture(t)
	dir := filepath.Join(t.TempDir(), "lake")
	o := load.ParquetOptions{Dir: dir, PartitionAbove: 100}
	o.BeforeSwap = func() {
		other := filepath.Join(t.TempDir(), "other.duckdb")
		execSQL(t, other, "CREATE SCHEMA close", "CREATE TABLE close.x AS SELECT 1 AS id")
		_, err := publishOnce(t, other, load.ParquetOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "another process is publishing into "+dir) {
			t.Errorf("a second publish into the directory: %v", err)
		}
	}
	if _, err := publishOnce(t, path, o); err != nil {
		t.Fatal(err)
	}
}
